"""Use cases: API keys for the HTTP API. A key is shown once, when created; the store keeps only its
SHA-256 (and a short prefix to recognise it), so a copy of the database gives no working key.

Scopes: ``report`` may post games and register players; ``admin`` may do that and correct the record
(void, grant, revoke, backfill)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from osmo.application.ports import ApiKeyRow
from osmo.application.service_roles import reading, writing
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.errors import InvalidInput
from osmo.domain.games import format_instant

SCOPES = ("report", "admin")
KEY_PREFIX = "osmo_"
SHOWN_PREFIX = 12  # characters of a key kept to recognise it in listings
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_KEY_LENGTH = 200


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> str:
    return format_instant(datetime.now(UTC))


def create_key(uow: UnitOfWork, name: str, scope: str) -> tuple[ApiKeyRow, str]:
    """A new key named ``name``: its stored row, and the key itself (shown once, never stored)."""
    if not NAME.fullmatch(name):
        raise InvalidInput(f"key name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-' "
                           "(starting with a letter or digit)")
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKeyRow(name, key[:SHOWN_PREFIX], digest(key), scope, _now())
    with writing(uow) as tx:
        existing = tx.keys.key_by_name(name)
        if existing is not None and existing.revoked_at is None:
            raise InvalidInput(f"a key named {name!r} exists: revoke it first, or choose another name")
        tx.keys.add_key(row)
    return row, key


def list_keys(uow: UnitOfWork) -> list[ApiKeyRow]:
    with reading(uow) as tx:
        return tx.keys.api_keys()


def revoke_key(uow: UnitOfWork, name: str) -> ApiKeyRow:
    with writing(uow) as tx:
        existing = tx.keys.key_by_name(name)
        if existing is None or existing.revoked_at is not None:
            raise InvalidInput(f"no active key is named {name!r} (see 'osmo keys list')")
        tx.keys.revoke_key(name, _now())
        revoked = tx.keys.key_by_name(name)
    assert revoked is not None
    return revoked


def authenticate(uow: UnitOfWork, key: str) -> ApiKeyRow | None:
    """The active key ``key`` is, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
        return None
    with reading(uow) as tx:
        row = tx.keys.key_by_digest(digest(key))
    return row if row is not None and row.revoked_at is None else None


def allows(row: ApiKeyRow, scope: str) -> bool:
    """Whether a key of ``row``'s scope may act in ``scope`` (admin may do everything)."""
    return row.scope == scope or row.scope == "admin"
