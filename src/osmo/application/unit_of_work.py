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
from dataclasses import dataclass

from osmo.application.game_chunk import GameChunk
from osmo.application.ports import Database, GameRun, Transaction
from osmo.application.subscribers import (
    MIN_RUN,
    Subscriber,
    dispatch,
    dispatch_games,
    handle_runs,
    read_ahead,
)
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

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        """Append ``events`` (those already stored are skipped), feed them to the subscribers and
        append what they decide. Returns every event appended, in order: these, then the decisions."""
        recorded = self.tx.events.append(events)
        return recorded + dispatch(self.tx, recorded, self.catalog, self.subscribers) if recorded else []

    def writes_in_columns(self, chunk: GameChunk) -> bool:
        """Whether ``record_games`` writes ``chunk`` in columns: a run long enough, checked with the stats of the
        catalog in effect, for subscribers that all handle runs. (Then a game recorded meanwhile by another
        writer makes it raise ConcurrencyError; the other way, ``append`` skips it.)"""
        return (len(chunk) >= MIN_RUN and chunk.stat_ids == tuple(self.catalog.stat_ids)
                and handle_runs(self.subscribers))

    def record_games(self, chunk: GameChunk) -> list[RecordedEvent]:
        """Append a GameRecorded for each game of ``chunk`` (new game ids), feed them to the subscribers and
        append what they decide; returns the decisions. The same as ``append`` of the games' events; a long
        enough run checked with the stats of the catalog in effect goes in columns (its payloads appended as
        they are, folded and evaluated as a run)."""
        catalog = self.catalog
        if not self.writes_in_columns(chunk):
            appended = self.append([ev.game_recorded(chunk.data(g), catalog.version) for g in range(len(chunk))])
            return [event for event in appended if event.type != ev.GAME_RECORDED]
        read_ahead(self.tx, list(dict.fromkeys(chunk.player_ids)), self.subscribers)
        first, recorded_at = self.tx.events.append_games(chunk.game_ids, chunk.payloads, chunk.event_ids,
                                                         catalog.version)
        positions = list(range(first, first + len(chunk)))

        def events() -> list[RecordedEvent]:
            metadata = {"schema": ev.GameRecorded.SCHEMA, "catalog_version": catalog.version}
            return [RecordedEvent(position, ev.game_stream(game_id), 0, ev.GAME_RECORDED, chunk.data(g),
                                  dict(metadata), ev.derived_id(ev.game_stream(game_id), 0), recorded_at)
                    for g, (position, game_id) in enumerate(zip(positions, chunk.game_ids, strict=True))]

        run = GameRun(positions, chunk.game_ids, chunk.finished_at, chunk.winners, chunk.starts, chunk.player_ids,
                      chunk.teams, chunk.values, events)
        return dispatch_games(self.tx, run, catalog, self.subscribers)


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
        self.proposed = proposed  # applied by the first write, then forgotten (later versions win)
        self._catalogs: dict[int, Catalog] = {}  # committed versions only

    def subscriber_names(self) -> list[str]:
        """The checkpoint names of the live subscribers."""
        return [s.name for s in self._subscribers()]

    # -- the catalog in effect ---------------------------------------------------------------------
    def stored_catalog(self, tx: Transaction) -> Catalog | None:
        """The latest CatalogChanged of the store (cached by version), or None before the first one.

        A stored catalog that no longer loads (it breaks a limit added since it was stored) is an
        InvalidCatalog that says how to replace it: ``osmo catalog apply`` accepts a fix."""
        version = tx.events.stream_version(ev.CATALOG_STREAM) + 1
        if version == 0:
            return None
        catalog = self._catalogs.get(version)
        if catalog is None:
            changed = _latest(tx)
            try:
                catalog = catalog_from_data(changed.catalog, changed.version)
            except InvalidCatalog as error:
                raise InvalidCatalog(f"{error}; the stored catalog v{changed.version} no longer loads: store a "
                                     "corrected one with 'osmo catalog apply FILE'") from None
            self._catalogs[version] = catalog
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
        """A write transaction with the catalog in effect. The store's first write stores the built-in
        catalog; a process given a catalog file stores it with its first write (if it differs), and
        from then on writes with whatever is stored: a version another process stores later wins."""
        stored_here: dict[int, Catalog] = {}
        proposed = self.proposed
        with self.database.transaction() as tx:
            stored = self.stored_catalog(tx)
            writer = Writer(tx, stored or self._builtin(),
                            self._subscribers() if subscribers is None else subscribers)
            tx.careers.use_catalog(writer.catalog)
            wanted = proposed if proposed is not None else None if stored is not None else self._builtin()
            if wanted is not None and (stored is None or stored.to_data() != wanted.to_data()):
                stored_here.update(self._store(writer, _ids(stored), stored.version if stored else 0, wanted))
            yield writer
        self._catalogs.update(stored_here)
        if proposed is not None and self.proposed is proposed:
            self.proposed = None

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """A read-only snapshot, with the proposed catalog as a preview when there is one."""
        with self.database.reader() as tx:
            stored = self.stored_catalog(tx)
            catalog = self.proposed or stored or self._builtin()
            tx.careers.use_catalog(catalog)
            yield Reader(tx, catalog, stored)

    def apply(self, proposed: Catalog) -> tuple[Catalog, bool]:
        """Make ``proposed`` the catalog in effect; returns it as stored, and whether a version was added.
        Also replaces a stored catalog that no longer loads."""
        stored_here: dict[int, Catalog] = {}
        with self.database.transaction() as tx:
            try:
                stored = self.stored_catalog(tx)
                current, version = _ids(stored), stored.version if stored else 0
            except InvalidCatalog:
                stored, latest = None, _latest(tx)
                current, version = (set(latest.catalog.get("stats", {})), set(latest.catalog.get("awards", {}))), \
                    latest.version
            writer = Writer(tx, stored or proposed, self._subscribers())
            tx.careers.use_catalog(writer.catalog)
            if stored is not None and stored.to_data() == proposed.to_data():
                return stored, False
            stored_here.update(self._store(writer, current, version, proposed))
        self._catalogs.update(stored_here)
        return writer.catalog, True

    def _store(self, writer: Writer, current: tuple[set[str], set[str]] | None, version: int,
               proposed: Catalog) -> dict[int, Catalog]:
        """Append ``proposed`` as version ``version + 1``. Refuses to remove a stat that recorded games
        carry, or an award that players hold (retire it instead). Returns it by version, to be cached
        once the transaction commits."""
        tx = writer.tx
        if current is not None:
            stats, awards = current
            for stat in sorted(stats - set(proposed.stat_ids)):
                if tx.lines.stat_in_use(stat):
                    raise InvalidCatalog(f"stat {stat!r} is carried by recorded games and cannot be removed")
            holders = tx.unlocks.holders()
            kept = {a.id for a in proposed.awards}
            for award in sorted(awards - kept):
                if holders.get(award):
                    raise InvalidCatalog(
                        f"award {award!r} is held by {holders[award]} player(s) and cannot be removed: "
                        "retire it instead (retired = true)")
        catalog = Catalog(proposed.stats, proposed.awards, version + 1)
        writer.append([ev.catalog_changed(catalog.version, catalog.to_data())])
        writer.catalog = catalog
        tx.careers.use_catalog(catalog)
        return {catalog.version: catalog}


def _latest(tx: Transaction) -> ev.CatalogChanged:
    changed = tx.events.read_stream(ev.CATALOG_STREAM)[-1].payload
    assert isinstance(changed, ev.CatalogChanged)
    return changed


def _ids(catalog: Catalog | None) -> tuple[set[str], set[str]] | None:
    return (set(catalog.stat_ids), {a.id for a in catalog.awards}) if catalog is not None else None
