"""The unit of work: every write goes through one, every read through its reader.

``write()`` opens a write transaction, resolves the catalog in effect *inside* it (a newer version
stored by another process is picked up; the store's first write stores the built-in catalog), applies
the catalog the composition root proposes (``--catalog FILE`` on a write command) as a new version when
it differs, and hands out a ``Writer``. ``Writer.append`` appends events and runs the subscribers the
composition root gave (projectors and the award policy) inline, in the same transaction, appending what
they decide::

    with uow.write() as writer:
        writer.append([player_registered("thrall", "Thrall")])

``read()`` opens a read-only snapshot with the catalog in effect, or the proposed one as a preview:
reads never store anything.

Tests inject faults or fakes by passing other subscribers or another Database, not by patching.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from osmo.application.ports import Database, Transaction
from osmo.application.subscribers import Subscriber, dispatch
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog, catalog_from_data
from osmo.domain.errors import InvalidCatalog
from osmo.domain.events import NewEvent, RecordedEvent


@dataclass
class Writer:
    """One write transaction with the catalog in effect. ``append`` runs the subscribers inline."""

    tx: Transaction
    catalog: Catalog
    subscribers: Sequence[Subscriber]
    appended: list[RecordedEvent] = field(default_factory=list)

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        """Append ``events`` (those already stored are skipped), feed them to the subscribers and
        append what they decide. Returns every event appended, in order: these, then the decisions."""
        recorded = self.tx.events.append(events)
        appended = recorded + dispatch(self.tx, recorded, self.catalog, self.subscribers) if recorded else []
        self.appended.extend(appended)
        return appended


@dataclass
class Reader:
    """One read-only snapshot with the catalog to read it with (in effect, or previewed)."""

    tx: Transaction
    catalog: Catalog
    stored: Catalog | None  # the catalog in effect in the store (None before the first write)


class UnitOfWork:
    """Opens every transaction of the use cases (see the module docstring)."""

    def __init__(self, database: Database, *, builtin: Callable[[], Catalog],
                 subscribers: Callable[[], list[Subscriber]], projectors: Callable[[], list[Subscriber]],
                 proposed: Catalog | None = None) -> None:
        self.database = database
        self._builtin = builtin
        self._subscribers = subscribers
        self.projectors = projectors
        self.proposed = proposed
        self._catalogs: dict[int, Catalog] = {}

    def subscriber_names(self) -> list[str]:
        """The checkpoint names of the live subscribers."""
        return [s.name for s in self._subscribers()]

    # -- the catalog in effect ---------------------------------------------------------------------
    def stored_catalog(self, tx: Transaction) -> Catalog | None:
        """The latest CatalogChanged of the store (cached by version), or None before the first one."""
        version = tx.events.stream_version(ev.CATALOG_STREAM) + 1
        if version == 0:
            return None
        catalog = self._catalogs.get(version)
        if catalog is None:
            changed = tx.events.read_stream(ev.CATALOG_STREAM)[-1].payload
            assert isinstance(changed, ev.CatalogChanged)
            catalog = self._catalogs[version] = catalog_from_data(changed.catalog, changed.version)
        return catalog

    def catalog(self) -> Catalog:
        """The catalog a command works with: the proposed one, else the stored one, else the built-in one."""
        if self.proposed is not None:
            return self.proposed
        with self.database.reader() as tx:
            stored = self.stored_catalog(tx)
        return stored if stored is not None else self._builtin()

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def write(self, subscribers: Sequence[Subscriber] | None = None) -> Iterator[Writer]:
        """A write transaction with the catalog in effect (the proposed one stored first if it differs)."""
        with self.database.transaction() as tx:
            stored = self.stored_catalog(tx)
            writer = Writer(tx, stored or self._builtin(),
                            self._subscribers() if subscribers is None else subscribers)
            tx.careers.use_catalog(writer.catalog)
            wanted = self.proposed if self.proposed is not None else None if stored is not None else self._builtin()
            if wanted is not None and (stored is None or stored.to_data() != wanted.to_data()):
                self._store(writer, stored, wanted)
            yield writer

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """A read-only snapshot, with the proposed catalog as a preview when there is one."""
        with self.database.reader() as tx:
            stored = self.stored_catalog(tx)
            catalog = self.proposed or stored or self._builtin()
            tx.careers.use_catalog(catalog)
            yield Reader(tx, catalog, stored)

    def apply(self, proposed: Catalog) -> tuple[Catalog, bool]:
        """Make ``proposed`` the catalog in effect; returns it as stored, and whether a version was added."""
        with self.database.transaction() as tx:
            stored = self.stored_catalog(tx)
            writer = Writer(tx, stored or proposed, self._subscribers())
            tx.careers.use_catalog(writer.catalog)
            if stored is not None and stored.to_data() == proposed.to_data():
                return stored, False
            self._store(writer, stored, proposed)
            return writer.catalog, True

    def _store(self, writer: Writer, current: Catalog | None, proposed: Catalog) -> None:
        """Append a new catalog version. Refuses to remove a stat that recorded games carry, or an award
        that players hold (retire it instead)."""
        tx = writer.tx
        if current is not None:
            for stat in set(current.stat_ids) - set(proposed.stat_ids):
                if tx.lines.stat_in_use(stat):
                    raise InvalidCatalog(f"stat {stat!r} is carried by recorded games and cannot be removed")
            holders = tx.unlocks.holders()
            kept = {a.id for a in proposed.awards}
            for award in current.awards:
                if award.id not in kept and holders.get(award.id):
                    raise InvalidCatalog(
                        f"award {award.id!r} is held by {holders[award.id]} player(s) and cannot be removed: "
                        "retire it instead (retired = true)")
        version = (current.version if current else 0) + 1
        catalog = Catalog(proposed.stats, proposed.awards, version)
        writer.append([ev.catalog_changed(version, catalog.to_data())])
        self._catalogs[version] = catalog
        writer.catalog = catalog
        tx.careers.use_catalog(catalog)
