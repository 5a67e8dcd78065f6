"""The store contract against PostgreSQL: each test gets a fresh schema in the ``OSMO_TEST_PG`` database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from osmo.adapters.postgres import PostgresDatabase
from tests.conftest import PgSchema
from tests.contract.store_contract import EventStoreContract, ReadModelsContract


@pytest.fixture
def database(pg_schema: PgSchema) -> Iterator[PostgresDatabase]:
    db = PostgresDatabase(pg_schema.url)
    yield db
    db.close()


@pytest.mark.postgres
class TestPostgresEventStore(EventStoreContract):
    pass


@pytest.mark.postgres
class TestPostgresReadModels(ReadModelsContract):
    pass


def _members(port: type) -> set[str]:
    return {name for name in vars(port) if not name.startswith("_")}


@pytest.mark.parametrize(("port", "adapter"), [
    pytest.param("EventStore", "PostgresEventStore", id="events"),
    pytest.param("ReadModels", "PostgresReadModels", id="views"),
    pytest.param("Database", "PostgresDatabase", id="database"),
])
def test_every_port_member_is_implemented(port: str, adapter: str) -> None:
    """A cheap guard (no server needed) against ports growing while this adapter does not."""
    from osmo.adapters import postgres
    from osmo.application import ports

    assert sorted(_members(getattr(ports, port)) - set(dir(getattr(postgres, adapter)))) == []
