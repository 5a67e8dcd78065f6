"""Subscribers follow the event log in global order, each with a checkpoint stored with its effects.

Projectors write read models; the award policy decides (it returns new events to append). In the
embedded mode they run inline, in the transaction of the append (``dispatch``, called by the unit of
work's ``Writer``), so a crash never leaves a game without its careers or its awards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from osmo.application.batch_fold import run_of_events
from osmo.application.ports import GameRun, Transaction
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent


class Subscriber(Protocol):
    """Handles events in global order; returns any new events it decided to append.

    >>> class Counter:
    ...     name = "counter"
    ...     def handle(self, tx, event, catalog):
    ...         return []
    """

    name: str

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]: ...


class GameRunSubscriber(Subscriber, Protocol):
    """A subscriber that also handles a run of consecutive GameRecorded events at once, in columns, with
    the same effects and decisions (in the same order) as handling them one by one."""

    def handle_games(self, tx: Transaction, run: GameRun, catalog: Catalog) -> list[NewEvent]: ...

    def read_ahead(self, tx: Transaction, player_ids: Sequence[str]) -> None:
        """Read what ``handle_games`` will read of the store for a run by these players (into the store's
        caches), before the run is appended. Optional: a subscriber without it reads when it handles the run."""
        ...


def handle_runs(subscribers: Sequence[Subscriber]) -> bool:
    """Whether every subscriber handles runs of games (``GameRunSubscriber``)."""
    return all(hasattr(s, "handle_games") for s in subscribers)


MIN_RUN = 16
"""Shorter runs of games go one by one: a batch's fixed cost (numpy) does not pay for a few games."""


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
        for events, games in _runs(batch, subscribers):
            run = run_of_events(events, catalog.stat_ids) if games else None
            if run is not None:
                for subscriber in subscribers:
                    new.extend(subscriber.handle_games(tx, run, catalog))  # type: ignore[attr-defined]
                continue
            for event in events:
                for subscriber in subscribers:
                    new.extend(subscriber.handle(tx, event, catalog))
        for subscriber in subscribers:
            tx.checkpoints.set_checkpoint(subscriber.name, batch[-1].position)
        batch = tx.events.append(new) if new else []
        decided.extend(batch)
    return decided


def read_ahead(tx: Transaction, player_ids: Sequence[str], subscribers: Sequence[Subscriber]) -> None:
    """What ``dispatch_games`` will read of the store for a run by these players, read before the run is
    appended: a store that writes the run in the background (PostgreSQL) then writes it while the subscribers
    fold and evaluate it from their caches, instead of after."""
    for subscriber in subscribers:
        tx.checkpoints.checkpoint(subscriber.name)
        if (read := getattr(subscriber, "read_ahead", None)) is not None:
            read(tx, player_ids)


def dispatch_games(tx: Transaction, run: GameRun, catalog: Catalog,
                   subscribers: Sequence[Subscriber]) -> list[RecordedEvent]:
    """``dispatch`` for a run of freshly appended GameRecorded events in columns (every subscriber handles
    runs of games): the same effects and decisions. Returns every event appended on the way."""
    new: list[NewEvent] = []
    for subscriber in subscribers:
        new.extend(_catch_up(tx, subscriber, run.positions[0], catalog))
    for subscriber in subscribers:
        new.extend(subscriber.handle_games(tx, run, catalog))  # type: ignore[attr-defined]
    for subscriber in subscribers:
        tx.checkpoints.set_checkpoint(subscriber.name, run.positions[-1])
    if not new:
        return []
    decided = tx.events.append(new)
    return decided + dispatch(tx, decided, catalog, subscribers) if decided else []


def _runs(batch: Sequence[RecordedEvent], subscribers: Sequence[Subscriber]
          ) -> list[tuple[Sequence[RecordedEvent], bool]]:
    """The batch cut into runs: ``(events, True)`` for at least MIN_RUN consecutive GameRecorded events
    when every subscriber handles runs of games (then subscriber after subscriber over the run is the same
    as event after event: within such a run no subscriber reads what another writes, except the careers
    the policy reads, written first), else ``(events, False)``, handled event after event."""
    if len(batch) < MIN_RUN or not handle_runs(subscribers):
        return [(batch, False)]
    runs: list[tuple[Sequence[RecordedEvent], bool]] = []
    start = 0
    while start < len(batch):
        games = batch[start].type == ev.GAME_RECORDED
        end = start + 1
        while end < len(batch) and (batch[end].type == ev.GAME_RECORDED) == games:
            end += 1
        run = batch[start:end]
        if games and len(run) < MIN_RUN:
            games = False
        if runs and not games and not runs[-1][1]:
            runs[-1] = ([*runs[-1][0], *run], False)
        else:
            runs.append((run, games))
        start = end
    return runs


def _catch_up(tx: Transaction, subscriber: Subscriber, before: int, catalog: Catalog) -> list[NewEvent]:
    """Handle the events a lagging subscriber has not seen before position ``before``. (Projectors catch
    up this way; the award policy never lags, since it runs in the transaction of every game it judges:
    it reads the game's lines as the careers projector buffered them in that transaction.)"""
    checkpoint = tx.checkpoints.checkpoint(subscriber.name)
    new: list[NewEvent] = []
    if checkpoint >= before - 1:
        return new
    for event in tx.events.read_all(after=checkpoint):
        if event.position >= before:
            break
        new.extend(subscriber.handle(tx, event, catalog))
    return new
