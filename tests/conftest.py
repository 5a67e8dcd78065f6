from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from osmo.application.players import register_seed_players
from osmo.bootstrap import App, bootstrap


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """A fresh embedded osmo with the ten seed players registered."""
    application = bootstrap(str(tmp_path / "osmo.db"))
    register_seed_players(application.database, application.catalog)
    yield application
    application.close()
