"""The service's roles of a transaction (API keys, webhooks, leaderboards), and the transactions that touch
only them: keys and webhooks are configuration, not events, so they skip the unit of work's catalog
resolution and subscribers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from osmo.application.ports import ServiceTransaction, Transaction
from osmo.application.unit_of_work import UnitOfWork


def roles(tx: Transaction) -> ServiceTransaction:
    """``tx`` with its service roles (every backend's transactions have them)."""
    if not all(hasattr(tx, role) for role in ("keys", "webhooks", "boards")):
        raise TypeError(f"{type(tx).__name__} lacks the service roles (keys, webhooks, boards)")
    return cast(ServiceTransaction, tx)


@contextmanager
def writing(uow: UnitOfWork) -> Iterator[ServiceTransaction]:
    """A write transaction for keys and webhooks (no event is appended)."""
    with uow.database.transaction() as tx:
        yield roles(tx)


@contextmanager
def reading(uow: UnitOfWork) -> Iterator[ServiceTransaction]:
    with uow.database.reader() as tx:
        yield roles(tx)
