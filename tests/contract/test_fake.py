from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.store_contract import EventStoreContract, ReadModelsContract
from tests.fakes import FakeDatabase


@pytest.fixture
def database() -> Iterator[FakeDatabase]:
    db = FakeDatabase()
    yield db
    db.close()


class TestFakeEventStore(EventStoreContract):
    pass


class TestFakeReadModels(ReadModelsContract):
    pass
