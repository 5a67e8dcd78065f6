"""Shared fixtures. The use-case tests run against both backends: ``app`` is parametrized over
``sqlite`` and ``postgres``.

PostgreSQL tests need ``OSMO_TEST_PG`` (a URL such as ``postgresql://postgres@127.0.0.1:5432/osmo_test``;
each test gets a fresh schema in that database, dropped afterwards). Without it they are skipped, unless
``OSMO_REQUIRE_PG=1`` (CI): then they fail, so a missing server never passes silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

from osmo.application.players import register_seed_players
from osmo.bootstrap import App, bootstrap

if TYPE_CHECKING:
    import psycopg

PG_ENV = "OSMO_TEST_PG"
REQUIRE_PG_ENV = "OSMO_REQUIRE_PG"


def pg_admin_url() -> str:
    """The test server URL, or skip (fail when PostgreSQL is required)."""
    url = os.environ.get(PG_ENV)
    if not url:
        message = f"{PG_ENV} is not set: PostgreSQL tests need a server URL"
        if os.environ.get(REQUIRE_PG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off"):
            pytest.fail(f"{message} ({REQUIRE_PG_ENV}=1 makes them mandatory)", pytrace=False)
        pytest.skip(message)
    return url


def with_params(url: str, **params: str) -> str:
    """``url`` with libpq parameters added to its query string (e.g. ``options``, ``application_name``)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def schema_url(url: str, schema: str, **params: str) -> str:
    """A URL whose connections use ``schema`` (through ``search_path``). Tests commit without waiting for
    the WAL flush (``synchronous_commit=off``): atomicity and visibility are unchanged, only durability
    across a server crash is given up, which no test needs, and every commit is milliseconds faster."""
    return with_params(url, options=f"-csearch_path={schema} -csynchronous_commit=off", **params)


class PgSchema:
    """A throwaway schema in the test database: ``url`` points into it."""

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.name = f"osmo_test_{uuid.uuid4().hex[:12]}"
        self.admin_url = admin_url
        self.url = schema_url(admin_url, self.name)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.name}"')

    def connect(self) -> psycopg.Connection[Any]:
        """An autocommit connection into the schema (close it)."""
        import psycopg

        return psycopg.connect(self.url, autocommit=True)

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    """A fresh, empty schema in the ``OSMO_TEST_PG`` database, dropped after the test."""
    schema = PgSchema(pg_admin_url())
    try:
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a fresh osmo store lives: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "osmo.db")
        return
    schema = PgSchema(pg_admin_url())
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def app(backend_url: str) -> Iterator[App]:
    """A fresh osmo (embedded SQLite, or PostgreSQL) with the ten seed players registered."""
    application = bootstrap(backend_url)
    register_seed_players(application.uow)
    yield application
    application.close()
