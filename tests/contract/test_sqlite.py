from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from osmo.adapters.sqlite import SqliteDatabase
from tests.contract.store_contract import EventStoreContract, ReadModelsContract


@pytest.fixture
def database(tmp_path: Path) -> Iterator[SqliteDatabase]:
    db = SqliteDatabase(str(tmp_path / "osmo.db"))
    yield db
    db.close()


class TestSqliteEventStore(EventStoreContract):
    pass


class TestSqliteReadModels(ReadModelsContract):
    pass
