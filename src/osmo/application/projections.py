"""Projectors: subscribers that only write read models (players, careers and game lines, unlocks), so
``rebuild`` can replay them from position 0. The composition root gives them to the unit of work."""

from __future__ import annotations

from collections.abc import Sequence

from osmo.application import voiding
from osmo.application.batch_fold import fold_block
from osmo.application.ports import GameLineRow, GameRun, Transaction, UnlockRow
from osmo.application.subscribers import Subscriber
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent
from osmo.domain.games import line_values


class PlayersProjection:
    name = "players"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type in (ev.PLAYER_REGISTERED, ev.PLAYER_RENAMED):
            match event.payload:
                case ev.PlayerRegistered(player_id, name):
                    tx.players.add_player(player_id, name, event.position, event.recorded_at)
                case ev.PlayerRenamed(player_id, name):
                    tx.players.rename_player(player_id, name)
        return []

    def handle_games(self, tx: Transaction, run: GameRun, catalog: Catalog) -> list[NewEvent]:
        return []


class CareersProjection:
    """Folds every game into the careers of its players and keeps the game's lines, each with the
    career snapshot after that game (which makes backfill a scan, not a replay). A voided game is
    dropped and the careers it touched are folded again without it."""

    name = "careers"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type == ev.GAME_RECORDED:
            self._record(tx, event.payload, event.position, catalog)  # type: ignore[arg-type]
        elif event.type == ev.GAME_VOIDED:
            voided: ev.GameVoided = event.payload  # type: ignore[assignment]
            voiding.remove_game(tx, catalog, voided.game_position)
        return []

    def handle_games(self, tx: Transaction, run: GameRun, catalog: Catalog) -> list[NewEvent]:
        """A run of GameRecorded events folded at once (``batch_fold``): the same careers and game lines."""
        careers = tx.careers.careers(dict.fromkeys(run.player_ids))
        folded = fold_block(run, catalog, careers)
        if folded is None:
            for event in run.events():
                self.handle(tx, event, catalog)
            return []
        block, after = folded
        put_career = tx.careers.put_career
        for player_id, (career, position) in after.items():
            put_career(player_id, career, position)
        tx.lines.add_game_block(block)
        return []

    def read_ahead(self, tx: Transaction, player_ids: Sequence[str]) -> None:
        """What ``handle_games`` reads of a run by these players: their careers."""
        tx.careers.careers(player_ids)

    def _record(self, tx: Transaction, game: ev.GameRecorded, position: int, catalog: Catalog) -> None:
        lines = line_values(game.to_data(), catalog.stat_ids)
        careers = tx.careers.careers([p for p, _, _ in lines])
        winner, game_id, finished_at = game.winner, game.game_id, game.finished_at
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
    TYPES = frozenset({ev.AWARD_UNLOCKED, ev.AWARD_GRANTED, ev.AWARD_REVOKED})

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type not in self.TYPES:
            return []
        match event.payload:
            case ev.AwardUnlocked() as e:
                tx.unlocks.add_unlock(UnlockRow(
                    e.player_id, e.award_id, e.game_id, e.game_position, e.unlocked_at, event.recorded_at,
                    e.catalog_version, e.source, event.version, True, e.reason))
            case ev.AwardGranted() as e:
                tx.unlocks.add_unlock(UnlockRow(
                    e.player_id, e.award_id, None, None, e.unlocked_at, event.recorded_at, None, "operator",
                    event.version, True, e.reason))
            case ev.AwardRevoked() as e:
                tx.unlocks.revoke_unlock(e.player_id, e.award_id, event.version, e.reason, e.source)
        return []

    def handle_games(self, tx: Transaction, run: GameRun, catalog: Catalog) -> list[NewEvent]:
        return []


def projectors() -> list[Subscriber]:
    """The subscribers that only write read models: what ``rebuild`` replays."""
    return [PlayersProjection(), CareersProjection(), UnlocksProjection()]
