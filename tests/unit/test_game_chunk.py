"""GameChunk: checked games in columns. Slicing, picking and joining chunks give the same games as building
the chunk from those games alone, and each game reads back as it was checked."""

from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from osmo.adapters.catalog_files import load_catalog
from osmo.application.game_chunk import GameChunk
from osmo.domain.games import Game, check_report
from tests.builders import SEED_IDS, as_report, wire_report

CATALOG = load_catalog()
STATS = CATALOG.stat_ids


def games(count: int) -> list[tuple[int, int, Game]]:
    found = []
    for i in range(count):
        size = 3 + i % 3
        players = tuple(SEED_IDS[(i + k) % 10] for k in range(2 * size))
        report = wire_report(f"g{i}", winner=i % 2, players=players,
                             stats={players[0]: {"kills": i, "assists": 2 * i}}, metadata={"n": i} if i % 2 else None)
        found.append((100 + i, i, check_report(as_report(report), CATALOG)))
    return found


def same(chunk: GameChunk, expected: list[tuple[int, int, Game]]) -> None:
    reference = GameChunk.of_games(expected, STATS)
    assert len(chunk) == len(expected)
    for name in ("lines", "indexes", "game_ids", "finished_at", "winners", "payloads", "player_ids", "event_ids"):
        assert getattr(chunk, name) == getattr(reference, name), name
    for name in ("starts", "teams", "values"):
        assert np.array_equal(getattr(chunk, name), getattr(reference, name)), name
    assert [chunk.game(i) for i in range(len(chunk))] == [game for _, _, game in expected]


def test_a_game_reads_back_as_checked_and_its_payload_is_its_stored_form() -> None:
    checked = games(4)
    chunk = GameChunk.of_games(checked, STATS)
    for i, (_, _, game) in enumerate(checked):
        assert chunk.game(i) == game
        assert chunk.data(i) == orjson.loads(orjson.dumps(game.to_data(STATS)))
    assert chunk.starts.tolist() == [0, 6, 14, 24, 30]
    assert chunk.values.shape == (30, len(STATS))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12), st.data())
def test_slices_picks_and_joins_are_the_games_themselves(count: int, data: st.DataObject) -> None:
    checked = games(count)
    chunk = GameChunk.of_games(checked, STATS)
    begin = data.draw(st.integers(0, count))
    end = data.draw(st.integers(begin, count))
    same(chunk.slice(begin, end), checked[begin:end])
    picked = sorted(data.draw(st.sets(st.integers(0, max(count - 1, 0)), max_size=count)) if count else [])
    same(chunk.take(picked), [checked[i] for i in picked])
    cut = data.draw(st.integers(0, count))
    same(GameChunk.concat([chunk.slice(0, cut), chunk.slice(cut, count)]), checked)
    renumbered = chunk.numbered(7)
    assert renumbered.indexes == list(range(7, 7 + count))
