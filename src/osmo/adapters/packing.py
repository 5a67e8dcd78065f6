"""How the SQL backends store game lines: one row per game, its lines packed as fixed-width records.

Records are int32 when every value fits (nearly always: it halves what a scan of history reads), else
int64; the item size is stored beside the blob, and the stat layout (``layouts``) the record was
written with beside that, so a line reads the same after the catalog gains stats (they read as 0).

Record layout for a layout of n stats: ``player_key, team, game[n + 1], career[5 + 2n]`` where
``game`` is the game vector (stats, then won) and ``career`` the snapshot after the game.

Only the adapters know this format: the application sees decoded ``LineBlock`` arrays.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from osmo.application.ports import LineBlock
from osmo.domain.catalog import CAREER_BASE, Catalog

Record = tuple[int, int, tuple[int, ...], tuple[int, ...]]


def width(stat_count: int) -> int:
    return 2 + (stat_count + 1) + (len(CAREER_BASE) + 2 * stat_count)


def pack(records: Sequence[Record]) -> tuple[bytes, int]:
    """The records as bytes, and the item size used (4 when every value fits in int32, else 8)."""
    flat: list[int] = []
    for key, team, game, career in records:
        flat += (key, team, *game, *career)
    try:
        return array("i", flat).tobytes(), 4
    except OverflowError:
        return array("q", flat).tobytes(), 8


INT32 = (-(2**31), 2**31 - 1)


def pack_games(matrix: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]) -> list[tuple[bytes, int]]:
    """Records of consecutive games at once (rows ``starts[i]:starts[i + 1]`` of ``matrix`` are game ``i``,
    each row ``key, team, game..., career...``), each game packed exactly as ``pack`` packs it."""
    games = len(starts) - 1
    if games <= 0:
        return []
    fits_line = ((matrix >= INT32[0]) & (matrix <= INT32[1])).all(axis=1)
    fits = np.logical_and.reduceat(fits_line, starts[:-1]) if len(matrix) else np.ones(games, dtype=np.bool_)
    bounds = starts.tolist()
    row = matrix.shape[1]
    narrow = matrix.astype(np.int32).tobytes() if fits.all() else None
    wide = None if narrow is not None else matrix.tobytes()
    packed: list[tuple[bytes, int]] = []
    for g, fit in enumerate(fits.tolist()):
        a, b = bounds[g], bounds[g + 1]
        if narrow is not None:
            packed.append((narrow[a * row * 4:b * row * 4], 4))
        elif fit:
            packed.append((matrix[a:b].astype(np.int32).tobytes(), 4))
        else:
            assert wide is not None
            packed.append((wide[a * row * 8:b * row * 8], 8))
    return packed


def _columns(stored: Sequence[str], catalog: Catalog) -> tuple[list[int], list[int]]:
    """Source column of every current game and career name in a record of the stored layout (-1: absent)."""
    n = len(stored)
    at = {s: i for i, s in enumerate(stored)}
    game = [2 + at[s] if s in at else -1 for s in catalog.stat_ids] + [2 + n]
    career_start = 2 + n + 1
    base = len(CAREER_BASE)
    career = list(range(career_start, career_start + base))
    career += [career_start + base + at[s] if s in at else -1 for s in catalog.stat_ids]
    career += [career_start + base + n + at[s] if s in at else -1 for s in catalog.stat_ids]
    return game, career


def decode(rows: Sequence[tuple[Any, ...]], layouts: Mapping[int, tuple[str, ...]], catalog: Catalog) -> LineBlock:
    """``game_lines`` rows ``(position, game_id, finished_at, layout, lines, itemsize)`` as one block."""
    count = len(rows)
    if count:
        positions_t, game_ids, finished_at, layout_ids, blobs, itemsizes = zip(*rows, strict=True)
    else:
        positions_t, game_ids, finished_at, layout_ids, blobs, itemsizes = (), (), (), (), (), ()
    kinds = np.fromiter(layout_ids, dtype=np.int64, count=count) * 16 + np.fromiter(
        itemsizes, dtype=np.int64, count=count)
    positions = np.fromiter(positions_t, dtype=np.int64, count=count)
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=count)
    games = dict(zip(positions_t, zip(game_ids, finished_at, strict=True), strict=True))
    parts: list[LineBlock] = []
    for kind in np.unique(kinds).tolist():
        layout, itemsize = divmod(kind, 16)
        stat_ids = layouts[layout]
        size = width(len(stat_ids))
        selected = kinds == kind
        if selected.all():
            blob = b"".join(blobs)
        else:
            blob = b"".join(blobs[i] for i in np.flatnonzero(selected).tolist())
        records: npt.NDArray[np.integer[Any]] = (
            np.frombuffer(blob, dtype=np.int32) if itemsize == 4 else np.frombuffer(blob, dtype=np.int64)
        ).reshape(-1, size)
        game_cols, career_cols = _columns(stat_ids, catalog)
        line_positions = np.repeat(positions[selected], sizes[selected] // (itemsize * size))
        parts.append(LineBlock(records, line_positions, game_cols, career_cols, games))
    game_count = len(catalog.game_names)
    career_count = len(catalog.career_names)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return LineBlock(np.zeros((0, 2 + game_count + career_count), dtype=np.int64), positions,
                         list(range(2, 2 + game_count)),
                         list(range(2 + game_count, 2 + game_count + career_count)), games)
    every = np.concatenate([p.positions for p in parts])
    order = np.argsort(every, kind="stable")
    matrix = np.concatenate(
        [np.column_stack([p.keys, p.teams, p.game, p.career]) for p in parts])[order]
    return LineBlock(matrix, every[order], list(range(2, 2 + game_count)),
                     list(range(2 + game_count, 2 + game_count + career_count)), games)


def keys_of(blob: bytes, itemsize: int, stat_count: int) -> list[int]:
    """The player keys of a packed game (the first value of each record)."""
    return array("i" if itemsize == 4 else "q", blob)[::width(stat_count)].tolist()


# -- each player's games: runs of positions -----------------------------------------------------------
# The ``player_runs`` table indexes each player's games (for voids and player histories) as runs: one row per
# player and write, ``(player_key, first_position, last_position, positions)`` with the positions as
# little-endian int64, increasing. A player's runs never overlap: each write appends positions beyond every
# stored one, and a void removes a position from the run holding it.

RUN_LIMIT = 1000
"""The most positions one run holds."""


def position_runs(keys: npt.NDArray[np.int64], positions: npt.NDArray[np.int64]
                  ) -> list[tuple[int, int, int, bytes]]:
    """``(player_key, first_position, last_position, positions)`` rows of ``(key, position)`` pairs: one run per
    player (split every RUN_LIMIT positions), in key order."""
    if not len(keys):
        return []
    order = np.lexsort((positions, keys))
    k, p = keys[order], positions[order].astype("<i8")
    cut = np.flatnonzero(k[1:] != k[:-1]) + 1
    bounds = [0, *cut.tolist(), len(k)]
    blob = p.tobytes()
    k_list, p_list = k.tolist(), p.tolist()
    runs = []
    for a, end in pairwise(bounds):
        for b in range(a, end, RUN_LIMIT):
            c = min(end, b + RUN_LIMIT)
            runs.append((k_list[b], p_list[b], p_list[c - 1], blob[8 * b:8 * c]))
    return runs


def runs_of_pairs(fetch: Callable[[tuple[int, int]], Sequence[tuple[int, int]]]
                  ) -> Iterator[list[tuple[int, int, int, bytes]]]:
    """The ``player_runs`` rows of ``(player_key, position)`` pairs read a page at a time (for the migration from
    one row per game line): ``fetch(after)`` gives the next pairs after ``after``, in that order."""
    after = (-1, -1)
    while rows := fetch(after):
        keys, positions = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
        yield position_runs(keys, positions)
        after = (int(rows[-1][0]), int(rows[-1][1]))


def run_positions(blob: bytes) -> npt.NDArray[np.int64]:
    """The positions of a run."""
    return np.frombuffer(blob, dtype="<i8").astype(np.int64)
