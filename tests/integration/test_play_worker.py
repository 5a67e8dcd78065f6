"""The play worker simulates and checks exactly as the parent would: the same seed, the same games."""

from __future__ import annotations

from datetime import UTC, datetime

from osmo.adapters import play_worker
from osmo.adapters.catalog_files import load_catalog
from osmo.application.recording import Checked
from tests.builders import SEED_IDS


def test_simulated_batches_repeat_with_the_same_seed() -> None:
    catalog = load_catalog()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [list(play_worker.simulated_batches(catalog, 7, SEED_IDS, 25, start, batch=10)) for _ in range(2)]
    assert [len(b) for b in runs[0]] == [10, 10, 5]
    games = [[o.game for b in run for o in b if isinstance(o, Checked)] for run in runs]
    assert len(games[0]) == 25
    strip = [[(g.winner, g.lines, g.started_at) for g in run] for run in games]
    assert strip[0] == strip[1]
    assert {g.game_id for g in games[0]}.isdisjoint({g.game_id for g in games[1]})
