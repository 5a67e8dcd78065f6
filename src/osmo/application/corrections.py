"""Use cases that correct the record: void a game, grant or revoke an award by hand.

All of them are events, so they show in ``explain`` and survive ``rebuild``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from osmo.application import history
from osmo.application.lookups import known_award, known_player
from osmo.application.ports import Database, GameLineRow, Transaction
from osmo.application.projections import dispatch, live_subscribers
from osmo.domain import events as ev
from osmo.domain import rules
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput
from osmo.domain.events import NewEvent, RecordedEvent
from osmo.domain.games import line_values


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a reason is required (--reason TEXT)")
    return reason


def void_game(database: Database, catalog: Catalog, game_id: str, reason: str) -> list[RecordedEvent]:
    """Remove a game from every career it touched and revoke, or move to the first game where they still
    hold, the awards that no longer hold. Returns the corrections decided (revocations and moves)."""
    reason = _reason(reason)
    with database.transaction() as tx:
        tx.views.use_catalog(catalog)
        stream = tx.events.read_stream(ev.game_stream(game_id))
        if not stream:
            raise InvalidInput(f"no game has the id {game_id!r}")
        if any(e.type == ev.GAME_VOIDED for e in stream):
            raise InvalidInput(f"game {game_id!r} is already voided")
        recorded = tx.events.append([ev.game_voided(game_id, stream[0].position, reason)])
        return dispatch(tx, recorded, catalog, live_subscribers())


def remove_game(tx: Transaction, catalog: Catalog, position: int) -> None:
    """Drop a game's lines and fold again, without it, the careers of its players (and their snapshots)."""
    stored = tx.views.stored_games(position - 1, 1)
    if not stored or stored[0].position != position:
        return
    names = tx.views.player_keys()
    block = history._block(stored, catalog)
    affected = {int(k) for k in block.keys}
    tx.views.remove_game(position)
    careers: dict[int, tuple[int, ...]] = {k: (0,) * len(catalog.career_names) for k in affected}
    fold = catalog.fold
    wanted = np.array(sorted(affected), dtype=np.int64)
    for chunk in history.blocks(tx, catalog):
        changed: dict[int, tuple[int, ...]] = {}
        games, stored_careers, chunk_keys = chunk.game, chunk.career, chunk.keys
        for index in np.flatnonzero(np.isin(chunk_keys, wanted)).tolist():
            key = int(chunk_keys[index])
            game = tuple(games[index].tolist())
            career = fold(careers[key], game[:-1], bool(game[-1]))
            careers[key] = career
            if career != tuple(stored_careers[index].tolist()):
                changed[index] = career
        for game_position in sorted({int(chunk.positions[i]) for i in changed}):
            game_id, finished_at = chunk.games[game_position]
            lo = int(np.searchsorted(chunk.positions, game_position, "left"))
            hi = int(np.searchsorted(chunk.positions, game_position, "right"))
            tx.views.replace_game_lines([
                GameLineRow(game_position, names[int(chunk_keys[i])], game_id, int(chunk.teams[i]), finished_at,
                            tuple(games[i].tolist()), changed.get(i) or tuple(stored_careers[i].tolist()))
                for i in range(lo, hi)
            ])
    for key, career in careers.items():
        tx.views.put_career(names[key], career, position)


def recheck_after_void(tx: Transaction, catalog: Catalog, event: RecordedEvent) -> list[NewEvent]:
    """The awards a voided game's players earned at or after it: kept, moved to the first remaining game
    where the rule holds, or revoked when it holds nowhere any more."""
    position, reason = event.data["game_position"], event.data["reason"]
    (recorded,) = tx.events.first_events([ev.game_stream(event.data["game_id"])]).values()
    players = [p for p, _, _ in line_values(recorded.data, catalog.stat_ids)]
    keys = {player_id: key for key, player_id in tx.views.player_keys().items()}
    why = f"game {event.data['game_id']!r} voided: {reason}"
    touched = {
        player_id: [u for u in tx.views.unlocks_of(player_id) if u.game_position is not None
                    and u.game_position >= position and catalog.award(u.award_id) is not None]
        for player_id in players
    }
    rule_of = _rules_by_version(tx, catalog)
    targets = {f"{u.award_id}@{u.catalog_version}": rule_of(u.award_id, u.catalog_version)
               for unlocks in touched.values() for u in unlocks}
    earned = history.first_earned(tx, catalog, targets, {}, only={keys[p] for p in touched if touched[p]})
    first = {(e.key, name): e for name, found in earned.items() for e in found}
    decided: list[NewEvent] = []
    for player_id, unlocks in touched.items():
        for unlock in unlocks:
            now = first.get((keys[player_id], f"{unlock.award_id}@{unlock.catalog_version}"))
            if now is not None and now.position == unlock.game_position:
                continue
            decided.append(ev.award_revoked(player_id, unlock.award_id, why, unlock.version, source="correction"))
            if now is not None:
                decided.append(ev.award_unlocked(
                    player_id, unlock.award_id, now.game_id, now.position, now.finished_at,
                    unlock.catalog_version if unlock.catalog_version is not None else catalog.version,
                    source="correction", reason=why, stream_version=unlock.version + 1))
    return decided


def _rules_by_version(tx: Transaction, catalog: Catalog) -> Callable[[str, int | None], rules.Node]:
    """The rule of an award as it was in a catalog version (the current one when unknown)."""
    stored = {e.data["version"]: e.data["catalog"] for e in tx.events.read_stream(ev.CATALOG_STREAM)}

    def rule_of(award_id: str, version: int | None) -> rules.Node:
        current = catalog.award(award_id)
        assert current is not None
        text = stored.get(version, {}).get("awards", {}).get(award_id, {}).get("rule")
        if text is None or text == current.definition.rule:
            return current.node
        try:
            return rules.parse(text, catalog.names())
        except rules.RuleSyntaxError:
            return current.node

    return rule_of


def _player_and_award(tx: Transaction, catalog: Catalog, award_id: str, player: str) -> str:
    known_award(catalog, award_id)
    return known_player(tx, player).player_id


def grant(database: Database, catalog: Catalog, award_id: str, player: str, reason: str) -> None:
    """An operator grants an award by hand."""
    reason = _reason(reason)
    with database.transaction() as tx:
        tx.views.use_catalog(catalog)
        player_id = _player_and_award(tx, catalog, award_id, player)
        unlock = tx.views.unlock(player_id, award_id)
        if unlock is not None and unlock.active:
            raise InvalidInput(f"{player_id} already holds {award_id}")
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        version = unlock.version if unlock else ev.NO_STREAM
        recorded = tx.events.append([ev.award_granted(player_id, award_id, reason, now, version)])
        dispatch(tx, recorded, catalog, live_subscribers())


def revoke(database: Database, catalog: Catalog, award_id: str, player: str, reason: str) -> None:
    """An operator revokes an award. The player can earn it again by playing (the rule still applies)."""
    reason = _reason(reason)
    with database.transaction() as tx:
        tx.views.use_catalog(catalog)
        player_id = _player_and_award(tx, catalog, award_id, player)
        unlock = tx.views.unlock(player_id, award_id)
        if unlock is None or not unlock.active:
            raise InvalidInput(f"{player_id} does not hold {award_id}")
        recorded = tx.events.append([ev.award_revoked(player_id, award_id, reason, unlock.version, source="operator")])
        dispatch(tx, recorded, catalog, live_subscribers())
