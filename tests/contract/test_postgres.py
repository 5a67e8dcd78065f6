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
