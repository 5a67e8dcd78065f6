"""Worker processes check a large input exactly as the parent would, in input order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from osmo.adapters import report_workers
from osmo.adapters.catalog_files import load_catalog
from osmo.application.recording import Checked, Rejection
from tests.builders import SEED_IDS, wire_report


def test_workers_give_the_same_outcomes_in_the_same_order() -> None:
    catalog = load_catalog()
    reports = [wire_report(f"g{i}") for i in range(30)]
    reports[7]["teams"][0][0]["stats"] = {"hits": 5, "attempted_attacks": 2}
    reports[19]["winner"] = 2
    content = b"".join(json.dumps(r).encode() + b"\n" for r in reports) + b"\nnot json\n"
    serial = list(report_workers.checked_outcomes(content, catalog, workers=1))
    parallel = list(report_workers.checked_outcomes(content, catalog, workers=2, parallel_from=1))
    assert parallel == serial
    assert [type(o) for o in parallel].count(Rejection) == 3
    assert [o.line for o in parallel if isinstance(o, Rejection)] == [8, 20, 32]
    assert isinstance(parallel[0], Checked) and parallel[0].game.game_id == "g0"


def test_simulated_batches_repeat_with_the_same_seed() -> None:
    catalog = load_catalog()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    runs = [list(report_workers.simulated_batches(catalog, 7, SEED_IDS, 25, start, batch=10)) for _ in range(2)]
    assert [len(b) for b in runs[0]] == [10, 10, 5]
    games = [[o.game for b in run for o in b if isinstance(o, Checked)] for run in runs]
    assert len(games[0]) == 25
    strip = [[(g.winner, g.lines, g.started_at) for g in run] for run in games]
    assert strip[0] == strip[1]
    assert {g.game_id for g in games[0]}.isdisjoint({g.game_id for g in games[1]})
