"""The award policy: the subscriber that decides. After each game it evaluates every active award the
game's players do not hold yet, against the game's line and the career including it (as the careers
projector just wrote them), and appends AwardUnlocked for the ones that hold: at most once per player
(the event id derives from the award stream, so a second grant is a no-op at the store). After a void
it checks again the awards the voided game touched. It is never replayed: its decisions are events."""

from __future__ import annotations

from collections.abc import Sequence

from osmo.application import voiding
from osmo.application.batch_awards import first_unlocks
from osmo.application.ports import GameLineRow, GameRun, Transaction
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent


class AwardPolicy:
    name = "awards"

    def __init__(self) -> None:
        self._pending: dict[str, set[str]] = {}  # unlocked in this transaction, not yet projected
        self._tx: Transaction | None = None

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if tx is not self._tx:
            self._tx, self._pending = tx, {}
        if event.type == ev.GAME_VOIDED:
            return voiding.recheck_after_void(tx, catalog, event)
        if event.type != ev.GAME_RECORDED:
            return []
        rows = tx.lines.game_lines(event.position)
        held = tx.unlocks.held([r.player_id for r in rows])
        evaluate = catalog.evaluate
        decided: list[tuple[GameLineRow, str]] = []
        for row in rows:
            owned = held.get(row.player_id, set())
            pending = self._pending.get(row.player_id)
            if pending:
                owned = owned | pending
            for award_id in evaluate(row.game, row.career, owned):
                self._pending.setdefault(row.player_id, set()).add(award_id)
                decided.append((row, award_id))
        versions = _versions(tx, [(row.player_id, award_id) for row, award_id in decided])
        return [ev.award_unlocked(row.player_id, award_id, row.game_id, event.position, row.finished_at,
                                  catalog.version, stream_version=versions.get((row.player_id, award_id), ev.NO_STREAM))
                for row, award_id in decided]

    def handle_games(self, tx: Transaction, run: GameRun, catalog: Catalog) -> list[NewEvent]:
        """A run of GameRecorded events the careers projection folded at once: the same decisions as
        ``handle`` game by game (``batch_awards``)."""
        if tx is not self._tx:
            self._tx, self._pending = tx, {}
        block = tx.lines.game_block(run.positions[0])
        if block is None or block.positions[0] != run.positions[0] or len(block.positions) != len(run):
            return [new for event in run.events() for new in self.handle(tx, event, catalog)]
        players = list(dict.fromkeys(block.player_ids))
        held = tx.unlocks.held(players)
        owned = {p: held.get(p, set()) | self._pending.get(p, set()) for p in players}
        line_game = (block.starts[1:] - 1).tolist()
        decided: list[tuple[str, str, int]] = []  # (player, award, game in the block)
        game = 0
        for line, award_id in first_unlocks(block, catalog, owned):
            while line_game[game] < line:
                game += 1
            player_id = block.player_ids[line]
            self._pending.setdefault(player_id, set()).add(award_id)
            decided.append((player_id, award_id, game))
        versions = _versions(tx, [(player_id, award_id) for player_id, award_id, _ in decided])
        return [ev.award_unlocked(player_id, award_id, block.game_ids[game], block.positions[game],
                                  block.finished_at[game], catalog.version,
                                  stream_version=versions.get((player_id, award_id), ev.NO_STREAM))
                for player_id, award_id, game in decided]

    def read_ahead(self, tx: Transaction, player_ids: Sequence[str]) -> None:
        """What ``handle_games`` reads of a run by these players: the awards they hold."""
        tx.unlocks.held(player_ids)


def _versions(tx: Transaction, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The stream version of each (player, award) unlocked before (and revoked since), in one read."""
    return tx.unlocks.unlock_versions(pairs) if pairs else {}
