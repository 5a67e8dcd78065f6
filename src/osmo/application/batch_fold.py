"""The careers fold for a run of recorded games at once, with numpy: exactly ``Catalog.fold`` applied line by
line in recorded order, as grouped cumulative operations per player.

Lines are grouped by player (a stable sort keeps each player's games in recorded order); within a group,
``games_played``, ``wins``, ``losses`` and ``total_<stat>`` are the career before the run plus cumulative
sums, ``best_<stat>`` a cumulative maximum, ``current_win_streak`` counts the wins since the player's last
loss (continuing the streak the run started with) and ``best_win_streak`` is its cumulative maximum. Values
are int64: ``fold_block`` returns None (the caller folds game by game with Python ints) when a career is too
large for the sums to be exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from osmo.application.ports import GameBlock, GameRun
from osmo.domain.career import Career
from osmo.domain.catalog import CAREER_BASE, Catalog
from osmo.domain.events import RecordedEvent

Ints = npt.NDArray[np.int64]
SAFE = 2**52  # careers and stats below this keep every sum and offset of a run exact in int64


def run_of_events(events: Sequence[RecordedEvent], stat_ids: Sequence[str]) -> GameRun | None:
    """A run of GameRecorded events in columns, or None when a game was recorded with other stats than
    ``stat_ids`` (the caller then goes game by game)."""
    player_ids: list[str] = []
    teams: list[int] = []
    flat: list[int] = []
    sizes: list[int] = []
    wanted = tuple(stat_ids)
    same: object = None
    for event in events:
        data = event.data
        stats = data["stats"]
        if stats is not same:
            if tuple(stats) != wanted:
                return None
            same = stats
        size = 0
        for team, members in enumerate(data["teams"]):
            for entry in members:
                player_ids.append(entry["player_id"])
                teams.append(team)
                flat.extend(entry["values"])
            size += len(members)
        sizes.append(size)
    n = len(player_ids)
    starts = np.zeros(len(events) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    return GameRun([e.position for e in events], [e.data["game_id"] for e in events],
                   [e.data["finished_at"] for e in events], [e.data["winner"] for e in events], starts, player_ids,
                   np.fromiter(teams, dtype=np.int64, count=n),
                   np.fromiter(flat, dtype=np.int64, count=n * len(wanted)).reshape(n, len(wanted)), lambda: events)


def _grouped_cummax(values: Ints, group: Ints) -> Ints:
    """Cumulative maximum within each group of consecutive rows (values >= 0, groups numbered in order)."""
    span = int(values.max(initial=0)) + 1
    offset = group * span
    return np.maximum.accumulate(values + offset) - offset


def fold_block(run: GameRun, catalog: Catalog, careers: Mapping[str, Career]
               ) -> tuple[GameBlock, dict[str, tuple[Career, int]]] | None:
    """The run's lines with the career after each game, and every player's career after the run with the
    position of their last game in it; None when this run must be folded game by game."""
    stat_ids = catalog.stat_ids
    player_ids = run.player_ids
    n, s = len(player_ids), len(stat_ids)
    base = len(CAREER_BASE)
    names = list(dict.fromkeys(player_ids))
    index = {p: i for i, p in enumerate(names)}
    prior_rows = [careers[p] for p in names]
    if any(max(row, default=0) >= SAFE for row in prior_rows):
        return None
    prior = np.array(prior_rows, dtype=np.int64).reshape(len(names), base + 2 * s)
    values = run.values
    if n and int(values.max()) >= SAFE:
        return None
    sizes = np.diff(run.starts)
    line_game = np.repeat(np.arange(len(run), dtype=np.int64), sizes)
    won = (run.teams == np.asarray(run.winners, dtype=np.int64)[line_game]).astype(np.int64)
    player = np.fromiter(map(index.__getitem__, player_ids), dtype=np.int64, count=n)
    order = np.argsort(player, kind="stable")
    p_sorted = player[order]
    v_sorted = values[order]
    w_sorted = won[order]
    k = np.arange(n, dtype=np.int64)
    first = np.ones(n, dtype=np.bool_)
    first[1:] = p_sorted[1:] != p_sorted[:-1]
    group = np.cumsum(first) - 1
    group_start = np.flatnonzero(first)[group]
    start_prior = prior[p_sorted]

    def grouped_cumsum(x: Ints) -> Ints:
        total = np.cumsum(x, axis=0)
        before = total[group_start] - x[group_start]
        return total - before  # type: ignore[no-any-return]

    career = np.empty((n, base + 2 * s), dtype=np.int64)
    career[:, 0] = start_prior[:, 0] + (k - group_start) + 1
    career[:, 1] = start_prior[:, 1] + grouped_cumsum(w_sorted)
    career[:, 2] = start_prior[:, 2] + grouped_cumsum(1 - w_sorted)
    last_loss = np.maximum.accumulate(np.where(w_sorted == 1, -1, k))
    streak = np.where(w_sorted == 1,
                      np.where(last_loss >= group_start, k - last_loss, start_prior[:, 3] + (k - group_start) + 1), 0)
    career[:, 3] = streak
    career[:, 4] = np.maximum(start_prior[:, 4], _grouped_cummax(streak, group))
    career[:, base:base + s] = start_prior[:, base:base + s] + grouped_cumsum(v_sorted)
    for j in range(s):
        best = _grouped_cummax(v_sorted[:, j], group)
        career[:, base + s + j] = np.maximum(start_prior[:, base + s + j], best)

    line_career = np.empty_like(career)
    line_career[order] = career
    game = np.empty((n, s + 1), dtype=np.int64)
    game[:, :s] = values
    game[:, s] = won
    positions = run.positions
    block = GameBlock(positions, run.game_ids, run.finished_at, run.starts, player_ids, run.teams, game, line_career)
    last = np.flatnonzero(np.append(first[1:], True))  # the last line of each group, in sorted order
    after: dict[str, tuple[Career, int]] = {}
    for row, line in zip(career[last].tolist(), order[last].tolist(), strict=True):
        after[player_ids[line]] = (tuple(row), positions[int(line_game[line])])
    return block, after
