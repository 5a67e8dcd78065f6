"""Two game servers record different games of the same players at the same time (two processes, each
through ``record_games``): careers are the sum of both, folded in position order, and no award is
granted twice."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest

from osmo.application.players import register_seed_players
from osmo.bootstrap import bootstrap
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from tests.builders import SEED_IDS
from tests.conftest import PgSchema
from tests.postgres.workers import collect, record, reports

pytestmark = pytest.mark.postgres

GAMES = 300
CHUNK = 10


def game_vector(report: dict[str, Any], player_id: str, catalog: Catalog) -> tuple[tuple[int, ...], bool]:
    for team, members in enumerate(report["teams"]):
        for line in members:
            if line["player_id"] == player_id:
                values = tuple(line["stats"].get(s, 0) for s in catalog.stat_ids)
                return values, team == report["winner"]
    raise KeyError(player_id)


def test_two_processes_recording_the_same_players(pg_schema: PgSchema) -> None:
    app = bootstrap(pg_schema.url)
    register_seed_players(app.uow)
    catalog = app.uow.catalog()
    batches = {"a": reports("a", GAMES, seed=1), "b": reports("b", GAMES, seed=2)}
    by_id = {r["game_id"]: r for games in batches.values() for r in games}

    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    readies = {name: context.Event() for name in batches}
    processes = [context.Process(target=record, args=(pg_schema.url, games, CHUNK, readies[name], go, results))
                 for name, games in batches.items()]
    for process in processes:
        process.start()
    try:
        for ready in readies.values():
            assert ready.wait(30), "a recording process did not start"
        go.set()
        counts = collect(results, processes, len(processes))
    finally:
        for process in processes:
            process.join(30)
    assert [p.exitcode for p in processes] == [0, 0]
    assert sum(c[0] for c in counts) == 2 * GAMES and all(c[1:3] == (0, 0) for c in counts)

    with app.database.reader() as tx:
        tx.careers.use_catalog(catalog)
        events = list(tx.events.read_all())
        careers = tx.careers.careers(SEED_IDS)
        unlock_rows = {p: tx.unlocks.unlocks_of(p) for p in SEED_IDS}
        keys = {p.player_id: i for i, p in enumerate(tx.players.players())}
    games = [e for e in events if e.type == ev.GAME_RECORDED]
    order = [e.data["game_id"] for e in games]
    assert sorted(order) == sorted(by_id), "every game recorded exactly once"
    switches = sum(1 for x, y in pairwise(order) if x[0] != y[0])
    assert switches >= 2, "the two writers did not interleave: no concurrency was exercised"

    # Replay the reports in position order: careers, snapshots and awards must match what was stored.
    expected = {p: (0,) * len(catalog.career_names) for p in SEED_IDS}
    snapshots: dict[str, dict[str, tuple[int, ...]]] = {}
    unlocks: dict[tuple[str, str], str] = {}
    for game_id in order:
        report = by_id[game_id]
        snapshots[game_id] = {}
        for members in report["teams"]:
            for line in members:
                player = line["player_id"]
                values, won = game_vector(report, player, catalog)
                expected[player] = catalog.fold(expected[player], values, won)
                snapshots[game_id][player] = expected[player]
                owned = {a for (p, a) in unlocks if p == player}
                for award in catalog.evaluate((*values, int(won)), expected[player], owned):
                    unlocks[(player, award)] = game_id
    assert careers == expected
    games_played = catalog.career_names.index("games_played")
    assert sum(c[games_played] for c in careers.values()) == sum(
        len(m) for r in by_id.values() for m in r["teams"])

    with app.uow.read() as reader:
        key_to_player = reader.tx.players.player_keys()
        blocks = list(reader.tx.lines.line_blocks())
    assert len(keys) == len(SEED_IDS)
    stored_games: dict[str, dict[str, tuple[int, ...]]] = {}
    for block in blocks:
        careers_of_lines = block.career.tolist()
        for key, position, career in zip(block.keys.tolist(), block.positions.tolist(), careers_of_lines, strict=True):
            stored_games.setdefault(block.games[position][0], {})[key_to_player[key]] = tuple(career)
    assert list(stored_games) == order
    for game_id, stored in stored_games.items():
        assert stored == snapshots[game_id], f"career snapshots of {game_id} not folded in position order"

    rows = {(u.player_id, u.award_id): u.game_id for rs in unlock_rows.values() for u in rs}
    assert rows == unlocks and sum(map(len, unlock_rows.values())) == len(unlocks)
    unlocked = [e for e in events if e.type == ev.AWARD_UNLOCKED]
    per_stream = Counter(e.stream for e in unlocked)
    assert per_stream and max(per_stream.values()) == 1, "an award was granted twice"
    assert len(unlocked) == len(unlocks)
    assert sum(c[3] for c in counts) == len(unlocks)
    app.close()
