"""Projectors and the award policy: subscribers that follow the event log, each with a checkpoint.

In the embedded mode they run inline, in the same transaction as the append (``dispatch``); a
service worker runs the same subscribers from a subscription. Projectors only write read models, so
``rebuild`` can replay them from position 0; the award policy decides (it appends AwardUnlocked) and
is never replayed: its decisions are already events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from osmo.application.ports import GameLineRow, Transaction, UnlockRow
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent
from osmo.domain.games import line_values


class Subscriber(Protocol):
    """Handles events in global order; returns any new events it decided to append."""

    name: str

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]: ...


class PlayersProjection:
    name = "players"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type == ev.PLAYER_REGISTERED:
            tx.views.add_player(event.data["player_id"], event.data["name"], event.position, event.recorded_at)
        elif event.type == ev.PLAYER_RENAMED:
            tx.views.rename_player(event.data["player_id"], event.data["name"])
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
            from osmo.application.corrections import remove_game

            remove_game(tx, catalog, event.data["game_position"])
        return []

    def _record(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> None:
        data = event.data
        lines = line_values(data, catalog.stat_ids)
        views = tx.views
        careers = views.careers([p for p, _, _ in lines])
        winner = data["winner"]
        game_id, finished_at, position = data["game_id"], data["finished_at"], event.position
        fold = catalog.fold
        rows = []
        for player_id, team, values in lines:
            won = team == winner
            career = fold(careers[player_id], values, won)
            views.put_career(player_id, career, position)
            rows.append(GameLineRow(position, player_id, game_id, team, finished_at, (*values, int(won)), career))
        views.add_game_lines(rows)


class UnlocksProjection:
    """Who holds what: unlocks (live, backfilled, moved), operator grants, and revocations."""

    name = "unlocks"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        d = event.data
        if event.type == ev.AWARD_UNLOCKED:
            tx.views.add_unlock(UnlockRow(
                d["player_id"], d["award_id"], d["game_id"], d["game_position"], d["unlocked_at"],
                event.recorded_at, d["catalog_version"], d.get("source", "live"), event.version, True, d.get("reason"),
            ))
        elif event.type == ev.AWARD_GRANTED:
            tx.views.add_unlock(UnlockRow(
                d["player_id"], d["award_id"], None, None, d["unlocked_at"], event.recorded_at, None, "operator",
                event.version, True, d["reason"],
            ))
        elif event.type == ev.AWARD_REVOKED:
            tx.views.revoke_unlock(d["player_id"], d["award_id"], event.version, d["reason"],
                                   d.get("source", "operator"))
        return []


class AwardPolicy:
    """After each game, evaluates every active award its players do not hold yet, against the game's
    line and the career including it (as the careers projection just wrote them), and unlocks the
    ones that hold: at most once per player. After a void, re-checks the awards it touched."""

    name = "awards"

    def __init__(self) -> None:
        self._pending: dict[str, set[str]] = {}
        self._tx: Transaction | None = None

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if tx is not self._tx:
            self._tx, self._pending = tx, {}
        if event.type == ev.GAME_VOIDED:
            from osmo.application.corrections import recheck_after_void

            return recheck_after_void(tx, catalog, event)
        if event.type != ev.GAME_RECORDED:
            return []
        rows = tx.views.game_lines(event.position)
        held = tx.views.held([r.player_id for r in rows])
        evaluate = catalog.evaluate
        unlocked: list[NewEvent] = []
        for row in rows:
            owned = held.get(row.player_id, set())
            pending = self._pending.get(row.player_id)
            if pending:
                owned = owned | pending
            for award_id in evaluate(row.game, row.career, owned):
                self._pending.setdefault(row.player_id, set()).add(award_id)
                previous = tx.views.unlock(row.player_id, award_id)
                unlocked.append(ev.award_unlocked(
                    row.player_id, award_id, row.game_id, event.position, row.finished_at, catalog.version,
                    stream_version=previous.version if previous else ev.NO_STREAM,
                ))
        return unlocked


def projections() -> list[Subscriber]:
    """The subscribers that only write read models: what ``rebuild`` replays."""
    return [PlayersProjection(), CareersProjection(), UnlocksProjection()]


def live_subscribers() -> list[Subscriber]:
    """The subscribers run inline on every append, in order: careers before the policy reads them."""
    return [PlayersProjection(), CareersProjection(), AwardPolicy(), UnlocksProjection()]


def dispatch(tx: Transaction, recorded: Sequence[RecordedEvent], catalog: Catalog,
             subscribers: Sequence[Subscriber]) -> list[RecordedEvent]:
    """Feed freshly appended events to the subscribers in the same transaction, append what they
    decide, and feed that too. Returns every event appended on the way (the decisions)."""
    decided: list[RecordedEvent] = []
    batch = list(recorded)
    while batch:
        new: list[NewEvent] = []
        for subscriber in subscribers:
            new.extend(_catch_up(tx, subscriber, batch[0].position, catalog))
        for event in batch:
            for subscriber in subscribers:
                new.extend(subscriber.handle(tx, event, catalog))
        for subscriber in subscribers:
            tx.views.set_checkpoint(subscriber.name, batch[-1].position)
        batch = tx.events.append(new) if new else []
        decided.extend(batch)
    return decided


def _catch_up(tx: Transaction, subscriber: Subscriber, before: int, catalog: Catalog) -> list[NewEvent]:
    """Handle the events a lagging subscriber has not seen before position ``before``."""
    checkpoint = tx.views.checkpoint(subscriber.name)
    new: list[NewEvent] = []
    if checkpoint >= before - 1:
        return new
    for event in tx.events.read_all(after=checkpoint):
        if event.position >= before:
            break
        new.extend(subscriber.handle(tx, event, catalog))
    return new
