"""Every error answer is JSON: ``{"error": message, "field": name or null}`` (and more for rejected games).
osmo's errors map to statuses through ``osmo.entrypoints.errors.outcome`` (one table for every entrypoint);
a bug is a 500 with no detail; bad input is never a 500."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from osmo.domain.errors import OsmoError, StoreUnavailable
from osmo.entrypoints.errors import outcome

log = logging.getLogger("osmo.http")


class Json(Response):
    """A JSON answer serialised with orjson (the CLI's ``--json`` serialiser)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)

RETRY_AFTER_S = "5"

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "list_type": "must be a list",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "string_too_short": "is too short",
    "string_too_long": "is too long",
    "too_long": "has too many items",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
    "json_invalid": "is not valid JSON",
}


def problem(status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Json:
    return Json({"error": message, "field": field, **extra}, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if parts and parts[0] in ("body", "query", "path", "header") and len(parts) > 1
                    else parts)


async def _validation(request: Request, error: Exception) -> Json:
    assert isinstance(error, RequestValidationError)
    errors = error.errors()
    first = errors[0] if errors else {"loc": ("body",), "type": "invalid", "msg": "invalid request"}
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        return problem(400, "the body is not valid JSON", "body")
    field = _field(tuple(first.get("loc", ())))
    message = f"{field} {_MESSAGES.get(kind, str(first.get('msg', 'is invalid')).lower())}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return problem(422, message, field)


async def _http(request: Request, error: Exception) -> Json:
    assert isinstance(error, HTTPException)
    detail = error.detail if isinstance(error.detail, str) else "invalid request"
    field = getattr(error, "field", None)
    if error.status_code == 400 and detail == "There was an error parsing the body":
        detail, field = "the body is not valid JSON (or nested too deep)", "body"
    headers = dict(error.headers) if error.headers else None
    return problem(error.status_code, detail, field, headers=headers)


async def _osmo(request: Request, error: Exception) -> Json:
    status = outcome(error).http_status
    if status == 500:
        return await _bug(request, error)
    headers = {"Retry-After": RETRY_AFTER_S} if status == 503 or isinstance(error, StoreUnavailable) else None
    return problem(status, str(error), getattr(error, "field", None), headers=headers)


async def _bug(request: Request, error: Exception) -> Json:
    log.error("unexpected error answering %s %s", request.method, request.url.path, exc_info=error)
    return problem(500, "internal error (a bug: please report it)")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(OsmoError, _osmo)
    app.add_exception_handler(Exception, _bug)


class FieldError(HTTPException):
    """An HTTP error naming the field at fault."""

    def __init__(self, status_code: int, detail: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail, headers)
        self.field = field
