"""Award evaluation for a run of games folded at once (a ``GameBlock``): every active award's rule over the
block's lines with ``rule_arrays.evaluate`` (exactly the live result on every line), and for each player
who does not own the award, the first line where it holds. The result is what evaluating game by game,
line by line, award by award in catalog order gives."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from osmo.application import rule_arrays
from osmo.application.ports import GameBlock
from osmo.domain import rules
from osmo.domain.catalog import Catalog


def first_unlocks(block: GameBlock, catalog: Catalog, owned: Mapping[str, set[str]]) -> list[tuple[int, str]]:
    """``(line, award_id)`` of every unlock the block earns, in the order live evaluation decides them
    (by line, then by award in catalog order). ``owned``: the awards each player holds before the block."""
    names = list(dict.fromkeys(block.player_ids))
    index = {p: i for i, p in enumerate(names)}
    player = np.fromiter(map(index.__getitem__, block.player_ids), dtype=np.int64, count=len(block))
    game_index = {name: i for i, name in enumerate(catalog.game_names)}
    career_index = {name: i for i, name in enumerate(catalog.career_names)}
    found: list[tuple[int, int, str]] = []
    for order, award in enumerate(catalog.active()):
        award_id = award.id
        lacking = np.fromiter((award_id not in owned.get(p, ()) for p in names), dtype=np.bool_, count=len(names))
        if not lacking.any():
            continue
        lines = np.flatnonzero(lacking[player])
        game = block.game[lines]
        career = block.career[lines]

        def column(ref: rules.Ref, game: npt.NDArray[np.int64] = game,
                   career: npt.NDArray[np.int64] = career) -> npt.NDArray[np.int64]:
            if ref.scope == "game":
                return np.ascontiguousarray(game[:, game_index[ref.name]])
            return np.ascontiguousarray(career[:, career_index[ref.name]])

        holds = rule_arrays.evaluate(award.node, column, len(lines))
        hits = lines[holds]
        if not len(hits):
            continue
        _, first = np.unique(player[hits], return_index=True)
        found.extend((line, order, award_id) for line in hits[first].tolist())
    found.sort()
    return [(line, award_id) for line, _, award_id in found]
