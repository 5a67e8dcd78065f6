"""Subscribers follow the event log in global order, each with a checkpoint stored with its effects.

Projectors write read models; the award policy decides (it returns new events to append). In the
embedded mode they run inline, in the transaction of the append (``dispatch``, called by the unit of
work's ``Writer``), so a crash never leaves a game without its careers or its awards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from osmo.application.ports import Transaction
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
            tx.checkpoints.set_checkpoint(subscriber.name, batch[-1].position)
        batch = tx.events.append(new) if new else []
        decided.extend(batch)
    return decided


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
