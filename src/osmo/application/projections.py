"""Projectors: subscribers that only write read models (players, careers and game lines, unlocks), so
``rebuild`` can replay them from position 0. The composition root gives them to the unit of work."""

from __future__ import annotations

from osmo.application import voiding
from osmo.application.ports import GameLineRow, Transaction, UnlockRow
from osmo.application.subscribers import Subscriber
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent
from osmo.domain.games import line_values


class PlayersProjection:
    name = "players"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type == ev.PLAYER_REGISTERED:
            tx.players.add_player(event.data["player_id"], event.data["name"], event.position, event.recorded_at)
        elif event.type == ev.PLAYER_RENAMED:
            tx.players.rename_player(event.data["player_id"], event.data["name"])
        return []


class CareersProjection:
    """Folds every game into the careers of its players and keeps the game's lines, each with the
    career snapshot after that game (which makes backfill a scan, not a replay). A voided game is
    dropped and the careers it touched are folded again without it."""

    name = "careers"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type == ev.GAME_RECORDED:
            self._record(tx, event, catalog)
        elif event.type == ev.GAME_VOIDED:
            voiding.remove_game(tx, catalog, event.data["game_position"])
        return []

    def _record(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> None:
        data = event.data
        lines = line_values(data, catalog.stat_ids)
        careers = tx.careers.careers([p for p, _, _ in lines])
        winner = data["winner"]
        game_id, finished_at, position = data["game_id"], data["finished_at"], event.position
        fold = catalog.fold
        put_career = tx.careers.put_career
        rows = []
        for player_id, team, values in lines:
            won = team == winner
            career = fold(careers[player_id], values, won)
            put_career(player_id, career, position)
            rows.append(GameLineRow(position, player_id, game_id, team, finished_at, (*values, int(won)), career))
        tx.lines.add_game_lines(rows)


class UnlocksProjection:
    """Who holds what: unlocks (live, backfilled, moved), operator grants, and revocations."""

    name = "unlocks"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        d = event.data
        if event.type == ev.AWARD_UNLOCKED:
            tx.unlocks.add_unlock(UnlockRow(
                d["player_id"], d["award_id"], d["game_id"], d["game_position"], d["unlocked_at"],
                event.recorded_at, d["catalog_version"], d.get("source", "live"), event.version, True, d.get("reason"),
            ))
        elif event.type == ev.AWARD_GRANTED:
            tx.unlocks.add_unlock(UnlockRow(
                d["player_id"], d["award_id"], None, None, d["unlocked_at"], event.recorded_at, None, "operator",
                event.version, True, d["reason"],
            ))
        elif event.type == ev.AWARD_REVOKED:
            tx.unlocks.revoke_unlock(d["player_id"], d["award_id"], event.version, d["reason"],
                                     d.get("source", "operator"))
        return []


def projectors() -> list[Subscriber]:
    """The subscribers that only write read models: what ``rebuild`` replays."""
    return [PlayersProjection(), CareersProjection(), UnlocksProjection()]
