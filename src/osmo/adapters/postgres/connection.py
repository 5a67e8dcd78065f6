"""Connections to the server: the answer timeout, the session settings, advisory lock keys, and how URLs
and failures are described in messages (never with the password)."""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from osmo.adapters.buffered_views import quote
from osmo.domain.errors import InvalidInput, StoreUnavailable

CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT_MS = 10_000
ANSWER_TIMEOUT_S = 60.0


class Connection(psycopg.Connection[tuple[Any, ...]]):
    """A connection that gives up on a server that stops answering: every wait for the server (a
    statement, a COPY, a commit) ends after ``answer_timeout`` seconds with an OperationalError (so
    StoreUnavailable), and the connection is dropped (the next transaction reconnects). The server
    side has the same bound as ``statement_timeout`` and ``idle_in_transaction_session_timeout``."""

    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None:  # the caller's own bound (e.g. waiting for notifications): its expiry is normal
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except pg_errors._WaitTimeout:
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from the server within {self.answer_timeout:g} s (OSMO_PG_TIMEOUT)") from None


def connect(url: str, *, schema: str | None, lock_timeout_ms: int, timeout_s: float) -> Connection:
    """An autocommit session on ``schema`` (created if missing; else the URL's ``search_path``), with
    osmo's timeouts. Raises ``psycopg.Error``."""
    params = conninfo_to_dict(url)
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    if "application_name" not in params:
        extra["application_name"] = "osmo"
    conn = Connection.connect(url, autocommit=True, **extra)
    conn.answer_timeout = timeout_s
    try:
        if schema is not None:
            name = quote(schema)
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}; SET search_path TO {name}")
        # psycopg prepares statements run often; a generic plan made while a table was small (a seq
        # scan for ``event_id = ANY(...)``) would be kept as the table grows: plan for the arguments.
        timeout_ms = int(timeout_s * 1000)
        conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}; SET plan_cache_mode = force_custom_plan; "
                     f"SET statement_timeout = {timeout_ms}; "
                     f"SET idle_in_transaction_session_timeout = {timeout_ms}")
    except psycopg.Error:
        conn.close()
        raise
    return conn


def lock_key(schema: str, purpose: str = "append") -> int:
    """The advisory lock key (a signed int64) of ``purpose`` in ``schema``: one lock per osmo store, so
    two stores in two schemas of one database do not serialise each other."""
    digest = hashlib.blake2b(f"osmo:{purpose}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def unavailable(server: str, url: str, error: BaseException) -> StoreUnavailable:
    """``error`` as StoreUnavailable, naming the ``server`` (and never the URL's password)."""
    reason = " ".join(str(error).split()) or type(error).__name__
    password = conninfo_password(url)
    if password:
        reason = reason.replace(password, "***")
    return StoreUnavailable(f"PostgreSQL server {server} is unavailable: {reason}")


def conninfo_password(url: str) -> str | None:
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = _url_password(url)
    return str(password) if password else None


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password if "://" in url else None
    except ValueError:
        return None


def describe(url: str) -> str:
    """``host:port/dbname`` of a URL, for messages (never the password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as error:
        _bad_url(url, error)
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or params.get("user") or ""
    return f"{host}:{port}/{dbname}"


def _bad_url(url: str, error: psycopg.Error) -> NoReturn:
    reason = " ".join(str(error).split())
    password = _url_password(url)
    if password:
        reason = reason.replace(password, "***")
    raise InvalidInput(f"invalid PostgreSQL URL: {reason}") from None
