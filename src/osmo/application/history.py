"""Recorded history in bulk: every game line with its career snapshot, as numpy arrays.

Backfill and explain evaluate award rules over millions of lines at once. Rules compile from the same
checked tree as live evaluation, with the same semantics: integer stats, real division, and a zero
divisor anywhere makes the whole rule false. (Values stay far below 2**53, where int64 and float64
arithmetic agree exactly with Python's.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from osmo.application.ports import GameLineColumns, StoredGame, Transaction
from osmo.domain import rules
from osmo.domain.catalog import CAREER_BASE, Catalog
from osmo.domain.packing import width

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
SCAN_GAMES = 20_000


@dataclass(frozen=True)
class LineBlock:
    """Consecutive game lines in recorded order. ``matrix`` holds the packed records (int32 or int64);
    ``game_cols`` / ``career_cols`` map the current catalog's names to its columns (-1: not stored, 0)."""

    matrix: npt.NDArray[np.integer[Any]]
    positions: Ints  # position of the game of each line
    game_cols: list[int]
    career_cols: list[int]
    games: dict[int, tuple[str, str]]  # position -> (game_id, finished_at)

    def __len__(self) -> int:
        return len(self.positions)

    def _column(self, column: int) -> Ints:
        if column < 0:
            return np.zeros(len(self.positions), dtype=np.int64)
        return self.matrix[:, column].astype(np.int64)

    @property
    def keys(self) -> Ints:
        return self._column(0)

    @property
    def teams(self) -> Ints:
        return self._column(1)

    @property
    def game(self) -> Ints:
        return np.stack([self._column(c) for c in self.game_cols], axis=1)

    @property
    def career(self) -> Ints:
        return np.stack([self._column(c) for c in self.career_cols], axis=1)

    def game_column(self, index: int) -> Ints:
        return self._column(self.game_cols[index])

    def career_column(self, index: int) -> Ints:
        return self._column(self.career_cols[index])


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
    layouts = dict(enumerate(dict.fromkeys(r.stat_ids for r in rows)))
    ids = {stat_ids: i for i, stat_ids in layouts.items()}
    return _columns_block(GameLineColumns(
        [r.position for r in rows], [r.game_id for r in rows], [r.finished_at for r in rows],
        [ids[r.stat_ids] for r in rows], [r.lines for r in rows], [r.itemsize for r in rows], layouts), catalog)


def _columns_block(columns: GameLineColumns, catalog: Catalog) -> LineBlock:
    count = len(columns)
    kinds = np.fromiter(columns.layout_ids, dtype=np.int64, count=count) * 16 + np.fromiter(
        columns.itemsizes, dtype=np.int64, count=count)
    positions = np.fromiter(columns.positions, dtype=np.int64, count=count)
    sizes = np.fromiter(map(len, columns.lines), dtype=np.int64, count=count)
    games = dict(zip(columns.positions, zip(columns.game_ids, columns.finished_at, strict=True), strict=True))
    parts: list[LineBlock] = []
    for kind in np.unique(kinds).tolist():
        layout, itemsize = divmod(kind, 16)
        stat_ids = columns.layouts[layout]
        size = width(len(stat_ids))
        selected = kinds == kind
        if selected.all():
            blob = b"".join(columns.lines)
        else:
            blob = b"".join(columns.lines[i] for i in np.flatnonzero(selected).tolist())
        records: npt.NDArray[np.integer[Any]] = (
            np.frombuffer(blob, dtype=np.int32) if itemsize == 4 else np.frombuffer(blob, dtype=np.int64)
        ).reshape(-1, size)
        game_cols, career_cols = _columns(stat_ids, catalog)
        line_positions = np.repeat(positions[selected], sizes[selected] // (itemsize * size))
        parts.append(LineBlock(records, line_positions, game_cols, career_cols, games))
    if len(parts) == 1:
        return parts[0]
    game_count = len(catalog.game_names)
    every = np.concatenate([p.positions for p in parts])
    order = np.argsort(every, kind="stable")
    matrix = np.concatenate(
        [np.column_stack([p.keys, p.teams, p.game, p.career]) for p in parts])[order]
    return LineBlock(matrix, every[order], list(range(2, 2 + game_count)),
                     list(range(2 + game_count, 2 + game_count + len(catalog.career_names))), games)


def blocks(tx: Transaction, catalog: Catalog, after: int = 0, games: int = SCAN_GAMES) -> Iterator[LineBlock]:
    """Every recorded (not voided) game line after ``after``, in recorded order, a block at a time."""
    while True:
        columns = tx.views.game_line_columns(after, games)
        if not len(columns):
            return
        yield _columns_block(columns, catalog)
        after = columns.positions[-1]


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
                return block.game_column(game_index[name])
            case rules.Ref(_, name):
                return block.career_column(career_index[name])
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


def first_earned(tx: Transaction, catalog: Catalog, targets: Mapping[str, rules.Node],
                 exclude: Mapping[str, set[int]], only: set[int] | None = None,
                 progress: Callable[[int], None] | None = None) -> dict[str, list[Earned]]:
    """For each rule (by name), every player (not in ``exclude[name]``, and in ``only`` when given)
    with the first game line, in recorded order, where the rule holds."""
    found: dict[str, list[Earned]] = {name: [] for name in targets}
    done = {name: set(exclude.get(name, set())) for name in targets}
    only_keys = np.array(sorted(only), dtype=np.int64) if only is not None else None
    for block in blocks(tx, catalog):
        restrict = np.isin(block.keys, only_keys) if only_keys is not None else None
        for name, node in targets.items():
            mask = evaluate(node, block, catalog)
            if restrict is not None:
                mask = mask & restrict
            for key, index in first_lines(mask, block, done[name]).items():
                position = int(block.positions[index])
                game_id, finished_at = block.games[position]
                found[name].append(Earned(key, position, game_id, finished_at))
                done[name].add(key)
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
