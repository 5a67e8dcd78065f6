"""Recorded history in bulk: award rules over every game line with its career snapshot, as arrays.

Backfill, explain and voids evaluate award rules over many lines at once, from ``LineBlock`` arrays the
read models decode. Rules compile from the same checked tree as live evaluation, with the same
semantics: integer stats, real division, and a zero divisor anywhere makes the whole rule false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from osmo.application import rule_arrays
from osmo.application.ports import LineBlock, Transaction
from osmo.domain import rules
from osmo.domain.catalog import Catalog

Bools = npt.NDArray[np.bool_]


def evaluate(node: rules.Node, block: LineBlock, catalog: Catalog) -> Bools:
    """The rule on every line of the block (a boolean array), exactly as live evaluation decides it
    (see ``rule_arrays``: int64/float64 where that is exact for these values, exact arithmetic elsewhere)."""
    game_index = {name: i for i, name in enumerate(catalog.game_names)}
    career_index = {name: i for i, name in enumerate(catalog.career_names)}

    def column(ref: rules.Ref) -> npt.NDArray[np.int64]:
        if ref.scope == "game":
            return block.game_column(game_index[ref.name])
        return block.career_column(career_index[ref.name])

    return rule_arrays.evaluate(node, column, len(block))


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
