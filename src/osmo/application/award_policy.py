"""The award policy: the subscriber that decides. After each game it evaluates every active award the
game's players do not hold yet, against the game's line and the career including it (as the careers
projector just wrote them), and appends AwardUnlocked for the ones that hold: at most once per player
(the event id derives from the award stream, so a second grant is a no-op at the store). After a void
it checks again the awards the voided game touched. It is never replayed: its decisions are events."""

from __future__ import annotations

from osmo.application import voiding
from osmo.application.batch_awards import first_unlocks
from osmo.application.ports import GameRun, Transaction
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
        unlocked: list[NewEvent] = []
        for row in rows:
            owned = held.get(row.player_id, set())
            pending = self._pending.get(row.player_id)
            if pending:
                owned = owned | pending
            for award_id in evaluate(row.game, row.career, owned):
                self._pending.setdefault(row.player_id, set()).add(award_id)
                previous = tx.unlocks.unlock(row.player_id, award_id)
                unlocked.append(ev.award_unlocked(
                    row.player_id, award_id, row.game_id, event.position, row.finished_at, catalog.version,
                    stream_version=previous.version if previous else ev.NO_STREAM,
                ))
        return unlocked

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
        unlocked: list[NewEvent] = []
        game = 0
        for line, award_id in first_unlocks(block, catalog, owned):
            while line_game[game] < line:
                game += 1
            player_id = block.player_ids[line]
            self._pending.setdefault(player_id, set()).add(award_id)
            previous = tx.unlocks.unlock(player_id, award_id)
            unlocked.append(ev.award_unlocked(
                player_id, award_id, block.game_ids[game], block.positions[game], block.finished_at[game],
                catalog.version, stream_version=previous.version if previous else ev.NO_STREAM))
        return unlocked
