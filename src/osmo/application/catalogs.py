"""Use cases around the catalog in effect: it is stored as versioned CatalogChanged events."""

from __future__ import annotations

from osmo.application.ports import Database, Transaction
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog, catalog_from_data
from osmo.domain.errors import InvalidCatalog


def stored_catalog(tx: Transaction) -> Catalog | None:
    """The catalog in effect: the latest CatalogChanged, or None before the first one."""
    stream = tx.events.read_stream(ev.CATALOG_STREAM)
    if not stream:
        return None
    data = stream[-1].data
    return catalog_from_data(data["catalog"], data["version"])


def catalog_in_effect(tx: Transaction, catalog: Catalog) -> Catalog:
    """``catalog``, or the stored one when another process stored a newer version since it was loaded:
    writers always fold and evaluate with the catalog in effect when they commit."""
    stream = tx.events.read_stream(ev.CATALOG_STREAM)
    if not stream or stream[-1].data["version"] <= catalog.version:
        return catalog
    data = stream[-1].data
    return catalog_from_data(data["catalog"], data["version"])


def apply_catalog(database: Database, proposed: Catalog) -> Catalog:
    """Make ``proposed`` the catalog in effect, storing a new version if it differs from the stored one.

    Refuses to remove a stat that recorded games carry, or an award that players hold (retire it).
    """
    with database.transaction() as tx:
        current = stored_catalog(tx)
        if current is not None and current.to_data() == proposed.to_data():
            tx.views.use_catalog(current)
            return current
        if current is not None:
            tx.views.use_catalog(current)
            _check_removals(tx, current, proposed)
        version = (current.version if current else 0) + 1
        catalog = Catalog(proposed.stats, proposed.awards, version)
        tx.events.append([ev.catalog_changed(version, catalog.to_data())])
        tx.views.use_catalog(catalog)
        return catalog


def _check_removals(tx: Transaction, current: Catalog, proposed: Catalog) -> None:
    for stat in set(current.stat_ids) - set(proposed.stat_ids):
        if tx.views.stat_in_use(stat):
            raise InvalidCatalog(f"stat {stat!r} is carried by recorded games and cannot be removed")
    holders = tx.views.holders()
    kept = {a.id for a in proposed.awards}
    for award in current.awards:
        if award.id not in kept and holders.get(award.id):
            raise InvalidCatalog(
                f"award {award.id!r} is held by {holders[award.id]} player(s) and cannot be removed: "
                "retire it instead (retired = true)")


def resolve_catalog(database: Database, proposed: Catalog | None, default: Catalog) -> Catalog:
    """The catalog a command runs with: ``proposed`` (from --catalog) is applied first; without it the
    stored one is used, and the built-in ``default`` is stored when the database has none yet."""
    if proposed is not None:
        return apply_catalog(database, proposed)
    with database.reader() as tx:
        stored = stored_catalog(tx)
    return stored if stored is not None else apply_catalog(database, default)
