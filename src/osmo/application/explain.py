"""Use case: explain an award for a player: why it is held, or how close the player has come."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from osmo.application import history
from osmo.application.catalogs import rule_as_of
from osmo.application.lookups import known_award, known_player
from osmo.application.ports import LineBlock
from osmo.application.queries import Progress, progress_of
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain import rules
from osmo.domain.catalog import Catalog

SCAN_GAMES = 5_000


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event of the award's story for this player: unlocked, granted, revoked."""

    type: str
    at: str
    game_id: str | None
    source: str | None
    reason: str | None
    catalog_version: int | None


@dataclass
class Explanation:
    award_id: str
    player_id: str
    held: bool
    rule: str
    catalog_version: int | None = None
    game_id: str | None = None
    unlocked_at: str | None = None
    source: str | None = None
    values: dict[str, int | float] = field(default_factory=dict)
    closest_game_id: str | None = None
    closest_met: str | None = None
    progress: Progress | None = None
    history: list[HistoryEntry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "award": self.award_id, "player_id": self.player_id, "held": self.held, "rule": self.rule,
            "catalog_version": self.catalog_version, "game_id": self.game_id, "unlocked_at": self.unlocked_at,
            "source": self.source, "values": self.values,
            "closest": {"game_id": self.closest_game_id, "conditions_met": self.closest_met}
            if self.closest_game_id else None,
            "progress": {"current": self.progress.current, "target": self.progress.target,
                         "ratio": self.progress.ratio} if self.progress else None,
            "history": [vars_of(h) for h in self.history],
        }


def vars_of(entry: HistoryEntry) -> dict[str, Any]:
    return {"type": entry.type, "at": entry.at, "game_id": entry.game_id, "source": entry.source,
            "reason": entry.reason, "catalog_version": entry.catalog_version}


def _values(node: rules.Node, block: LineBlock, index: int, catalog: Catalog) -> dict[str, int | float]:
    game_index = {n: i for i, n in enumerate(catalog.game_names)}
    career_index = {n: i for i, n in enumerate(catalog.career_names)}
    values: dict[str, int | float] = {}
    for scope, name in sorted(rules.references(node)):
        if scope == "game" and name in game_index:
            values[f"{scope}.{name}"] = int(block.game_column(game_index[name])[index])
        elif scope == "career" and name in career_index:
            values[f"{scope}.{name}"] = int(block.career_column(career_index[name])[index])
    return values


def _clauses(node: rules.Node) -> tuple[rules.Node, ...]:
    return node.operands if isinstance(node, rules.BoolOp) and node.op == "and" else (node,)


def explain(uow: UnitOfWork, award_id: str, player: str) -> Explanation:
    """For a held award: the game that earned it, the rule as it was in the catalog version that granted
    it, and the values that satisfied it. For a locked one: the game where the player met the most of
    the rule's conditions, and the current progress. Grants, revocations and moves are listed too."""
    with uow.read() as reader:
        tx, catalog = reader.tx, reader.catalog
        award = known_award(catalog, award_id)
        player_id = known_player(tx, player).player_id
        unlock = tx.unlocks.unlock(player_id, award_id)
        story = [
            HistoryEntry(e.type, e.data.get("unlocked_at", e.recorded_at), e.data.get("game_id"),
                         e.data.get("source", "operator" if e.type == ev.AWARD_GRANTED else None),
                         e.data.get("reason"), e.data.get("catalog_version"))
            for e in tx.events.read_stream(ev.award_stream(award_id, player_id))
        ]
        key = {p: k for k, p in tx.players.player_keys().items()}[player_id]
        result = Explanation(award_id, player_id, bool(unlock and unlock.active), award.definition.rule, history=story)
        if unlock is not None and unlock.active:
            result.catalog_version = unlock.catalog_version
            result.rule = rule_as_of(tx, award_id, unlock.catalog_version) or award.definition.rule
            result.game_id, result.unlocked_at, result.source = unlock.game_id, unlock.unlocked_at, unlock.source
            if unlock.game_position is not None:
                rule_node = _parse_rule(result.rule, catalog, award.node)
                block = tx.lines.lines_at([unlock.game_position])
                if len(block):
                    matches = np.flatnonzero(block.keys == key).tolist()
                    if matches:
                        result.values = _values(rule_node, block, matches[0], catalog)
            return result
        clauses = _clauses(award.node)
        best: tuple[int, int] | None = None
        positions = tx.lines.games_of([player_id])[player_id]
        for start in range(0, len(positions), SCAN_GAMES):
            block = tx.lines.lines_at(positions[start:start + SCAN_GAMES])
            mine = block.keys == key
            if not mine.any():
                continue
            score = sum(history.evaluate(c, block, catalog).astype(np.int64) for c in clauses)
            score = np.where(mine, score, -1)
            index = int(len(score) - 1 - np.argmax(score[::-1]))
            if best is None or int(score[index]) >= best[0]:
                best = (int(score[index]), index)
                result.closest_game_id = block.games[int(block.positions[index])][0]
                result.closest_met = f"{best[0]} of {len(clauses)}"
                result.values = _values(award.node, block, index, catalog)
        career = tx.careers.careers([player_id])[player_id]
        result.progress = progress_of(award, career)
        return result


def _parse_rule(text: str, catalog: Catalog, fallback: rules.Node) -> rules.Node:
    try:
        return rules.parse(text, catalog.names())
    except rules.RuleSyntaxError:
        return fallback

