"""The play worker simulates and checks exactly as the parent would: the same seed, the same games, all of them
finished by the moment the caller gives (``osmo play`` gives now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from osmo.adapters import play_worker
from osmo.adapters.catalog_files import load_catalog
from osmo.application.recording import Checked
from tests.builders import SEED_IDS


def test_simulated_batches_repeat_with_the_same_seed() -> None:
    catalog = load_catalog()
    end = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [list(play_worker.simulated_batches(catalog, 7, SEED_IDS, 25, end, batch=10)) for _ in range(2)]
    assert [len(b) for b in runs[0]] == [10, 10, 5]
    games = [[o.game for b in run for o in b if isinstance(o, Checked)] for run in runs]
    assert len(games[0]) == 25
    strip = [[(g.winner, g.lines, g.started_at) for g in run] for run in games]
    assert strip[0] == strip[1]
    assert {g.game_id for g in games[0]}.isdisjoint({g.game_id for g in games[1]})


def test_simulated_games_end_at_the_given_moment_going_back_in_time() -> None:
    catalog = load_catalog()
    now = datetime(2026, 11, 30, 9, 15, 42, 250_000, tzinfo=UTC)

    batches = list(play_worker.simulated_batches(catalog, 42, SEED_IDS, 25, now, batch=10))

    games = [o.game for b in batches for o in b if isinstance(o, Checked)]
    assert len(games) == 25
    assert max(g.finished_at for g in games) == games[-1].finished_at == now.replace(microsecond=0)
    assert all(before.finished_at < after.started_at for before, after in pairwise(games))
    assert games[0].started_at <= now - timedelta(minutes=16 * 25)
