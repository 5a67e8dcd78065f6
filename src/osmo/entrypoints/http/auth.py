"""Bearer API keys: writes need one of the right scope; reads are public. The key is hashed and looked up;
it is never logged nor echoed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from osmo.application import api_keys
from osmo.application.ports import ApiKeyRow
from osmo.entrypoints.http.context import service
from osmo.entrypoints.http.problems import FieldError

bearer = HTTPBearer(auto_error=False, description="An API key from 'osmo keys create NAME --scope report|admin'")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def scope(wanted: str) -> Callable[..., Awaitable[ApiKeyRow]]:
    """A dependency: the caller's key, which must allow ``wanted`` (401 without a valid key, 403 otherwise)."""

    async def check(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiKeyRow:
        if credentials is None:
            raise FieldError(401, "an API key is required: Authorization: Bearer <key>", "authorization", CHALLENGE)
        store = service(request).store
        key = await store.read(api_keys.authenticate, store.reader.uow, credentials.credentials)
        if key is None:
            raise FieldError(401, "the API key is unknown or revoked", "authorization", CHALLENGE)
        if not api_keys.allows(key, wanted):
            raise FieldError(403, f"this action needs a key of the {wanted!r} scope (the key "
                                  f"{key.name!r} has {key.scope!r})", "authorization")
        return key

    return check


Reporter = Annotated[ApiKeyRow, Depends(scope("report"))]
Admin = Annotated[ApiKeyRow, Depends(scope("admin"))]
