"""Recorded history in bulk: every game line with its career snapshot, as numpy arrays.

Backfill and explain evaluate award rules over millions of lines at once. Rules compile from the same
checked tree as live evaluation, with the same semantics: integer stats, real division, and a zero
divisor anywhere makes the whole rule false. (Values stay far below 2**53, where int64 and float64
arithmetic agree exactly with Python's.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from osmo.application.ports import StoredGame, Transaction
from osmo.domain import rules
from osmo.domain.catalog import CAREER_BASE, Catalog, CompiledAward
from osmo.domain.packing import width

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
SCAN_GAMES = 20_000


@dataclass(frozen=True)
class LineBlock:
    """Consecutive game lines in recorded order, in the current catalog's layout."""

    keys: Ints  # player key of each line
    teams: Ints  # team of each line
    positions: Ints  # position of the game of each line
    game: Ints  # lines x game_names
    career: Ints  # lines x career_names
    games: dict[int, tuple[str, str]]  # position -> (game_id, finished_at)

    def __len__(self) -> int:
        return len(self.keys)


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


def _block(rows: Sequence[StoredGame], catalog: Catalog) -> LineBlock:
    parts = []
    for stat_ids in dict.fromkeys(r.stat_ids for r in rows):
        group = [r for r in rows if r.stat_ids == stat_ids]
        size = width(len(stat_ids))
        matrix = np.frombuffer(b"".join(r.lines for r in group), dtype=np.int64).reshape(-1, size)
        padded = np.concatenate([matrix, np.zeros((len(matrix), 1), dtype=np.int64)], axis=1)
        game_cols, career_cols = _columns(stat_ids, catalog)
        counts = [len(r.lines) // (8 * size) for r in group]
        positions = np.repeat(np.array([r.position for r in group], dtype=np.int64), counts)
        parts.append((positions, padded[:, 0], padded[:, 1], padded[:, game_cols], padded[:, career_cols]))
    positions = np.concatenate([p[0] for p in parts])
    order = np.argsort(positions, kind="stable")
    return LineBlock(
        np.concatenate([p[1] for p in parts])[order], np.concatenate([p[2] for p in parts])[order],
        positions[order], np.concatenate([p[3] for p in parts])[order],
        np.concatenate([p[4] for p in parts])[order], {r.position: (r.game_id, r.finished_at) for r in rows},
    )


def blocks(tx: Transaction, catalog: Catalog, after: int = 0, games: int = SCAN_GAMES) -> Iterator[LineBlock]:
    """Every recorded (not voided) game line after ``after``, in recorded order, a block at a time."""
    while True:
        rows = tx.views.stored_games(after, games)
        if not rows:
            return
        yield _block(rows, catalog)
        after = rows[-1].position


def evaluate(node: rules.Node, block: LineBlock, catalog: Catalog) -> Bools:
    """The rule on every line of the block (a boolean array)."""
    game_index = {name: i for i, name in enumerate(catalog.game_names)}
    career_index = {name: i for i, name in enumerate(catalog.career_names)}
    size = len(block)

    def mask(result: Any) -> Bools:
        return np.broadcast_to(np.asarray(result, dtype=np.bool_), (size,))

    def value(n: rules.Node) -> Any:
        match n:
            case rules.Num(v):
                return v
            case rules.Ref("game", name):
                return block.game[:, game_index[name]]
            case rules.Ref(_, name):
                return block.career[:, career_index[name]]
            case rules.Neg(operand):
                return -value(operand)
            case rules.Arith("/", left, right):
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.true_divide(np.asarray(value(left), dtype=np.float64), value(right))
            case rules.Arith("+", left, right):
                return value(left) + value(right)
            case rules.Arith("-", left, right):
                return value(left) - value(right)
            case rules.Arith("*", left, right):
                return value(left) * value(right)
            case rules.Compare(op, left, right):
                a, b = value(left), value(right)
                return {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
                        "==": np.equal, "!=": np.not_equal}[op](a, b)
            case rules.BoolOp("and", operands):
                return np.logical_and.reduce([mask(value(o)) for o in operands])
            case rules.BoolOp(_, operands):
                return np.logical_or.reduce([mask(value(o)) for o in operands])
            case rules.Not(operand):
                return np.logical_not(value(operand))
        raise AssertionError(n)

    result = mask(value(node))
    for divisor in rules.denominators(node):
        result = np.logical_and(result, np.not_equal(value(divisor), 0))
    return mask(result)


@dataclass(frozen=True, slots=True)
class Earned:
    """Where a player first met a rule."""

    key: int
    position: int
    game_id: str
    finished_at: str


def first_earned(tx: Transaction, catalog: Catalog, awards: Sequence[CompiledAward],
                 exclude: dict[str, set[int]], only: set[int] | None = None,
                 progress: Callable[[int], None] | None = None) -> dict[str, list[Earned]]:
    """For each award, every player (not in ``exclude[award]``, and in ``only`` when given) with the
    first game line, in recorded order, where the award's rule holds."""
    found: dict[str, list[Earned]] = {a.id: [] for a in awards}
    done = {a.id: set(exclude.get(a.id, set())) for a in awards}
    only_keys = np.array(sorted(only), dtype=np.int64) if only is not None else None
    for block in blocks(tx, catalog):
        restrict = np.isin(block.keys, only_keys) if only_keys is not None else None
        for award in awards:
            mask = evaluate(award.node, block, catalog)
            if restrict is not None:
                mask = mask & restrict
            for key, index in first_lines(mask, block, done[award.id]).items():
                position = int(block.positions[index])
                game_id, finished_at = block.games[position]
                found[award.id].append(Earned(key, position, game_id, finished_at))
                done[award.id].add(key)
        if progress:
            progress(len(block.games))
    return found


def first_lines(mask: Bools, block: LineBlock, exclude: set[int]) -> dict[int, int]:
    """For each player key with a true line (and not in ``exclude``), the index of its first such line."""
    found: dict[int, int] = {}
    hits = np.flatnonzero(mask)
    if hits.size == 0:
        return found
    keys, first = np.unique(block.keys[hits], return_index=True)
    for key, index in zip(keys.tolist(), hits[first].tolist(), strict=True):
        if key not in exclude:
            found[key] = index
    return found
