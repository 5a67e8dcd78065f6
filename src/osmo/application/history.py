"""Recorded history in bulk: award rules over every game line with its career snapshot, as arrays.

Backfill, explain and voids evaluate award rules over many lines at once, from ``LineBlock`` arrays the
read models decode. Rules compile from the same checked tree as live evaluation, with the same
semantics: integer stats, real division, and a zero divisor anywhere makes the whole rule false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from osmo.application.ports import LineBlock, Transaction
from osmo.domain import rules
from osmo.domain.catalog import Catalog

Bools = npt.NDArray[np.bool_]


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
                 exclude: Mapping[str, set[int]],
                 progress: Callable[[int], None] | None = None) -> dict[str, list[Earned]]:
    """For each rule (by name), every player (not in ``exclude[name]``) with the first game line, in
    recorded order, where the rule holds."""
    found: dict[str, list[Earned]] = {name: [] for name in targets}
    done = {name: set(exclude.get(name, set())) for name in targets}
    for block in tx.lines.line_blocks():
        for name, node in targets.items():
            mask = evaluate(node, block, catalog)
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
