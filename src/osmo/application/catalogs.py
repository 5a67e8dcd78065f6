"""Use cases around the catalog in effect, stored as versioned CatalogChanged events.

The lifecycle: ``osmo catalog diff FILE`` shows what a catalog file would change, ``osmo catalog apply
FILE`` stores it as a new version. Every write stores the catalog it runs with (so a write command given
``--catalog FILE`` applies it first); a read given ``--catalog FILE`` previews it and stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from osmo.application.ports import Transaction
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog


@dataclass
class CatalogDiff:
    """What a proposed catalog changes against the one in effect (``version`` 0: nothing stored yet)."""

    version: int
    added_stats: list[str] = field(default_factory=list)
    removed_stats: list[str] = field(default_factory=list)
    changed_stats: list[str] = field(default_factory=list)
    added_awards: list[str] = field(default_factory=list)
    removed_awards: list[str] = field(default_factory=list)
    changed_awards: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any((self.added_stats, self.removed_stats, self.changed_stats, self.added_awards,
                        self.removed_awards, self.changed_awards))


def in_effect(uow: UnitOfWork) -> tuple[Catalog, bool]:
    """The catalog commands read with (the previewed one if any), and whether it is the stored one."""
    with uow.read() as reader:
        stored = reader.stored
        return reader.catalog, stored is not None and stored.to_data() == reader.catalog.to_data()


def diff(uow: UnitOfWork, proposed: Catalog) -> CatalogDiff:
    """What storing ``proposed`` would change."""
    with uow.read() as reader:
        current = reader.stored
    result = CatalogDiff(current.version if current else 0)
    old = current.to_data() if current else {"stats": {}, "awards": {}}
    new = proposed.to_data()
    for kind, added, removed, changed in (
            ("stats", result.added_stats, result.removed_stats, result.changed_stats),
            ("awards", result.added_awards, result.removed_awards, result.changed_awards)):
        before, after = old[kind], new[kind]
        added.extend(k for k in after if k not in before)
        removed.extend(k for k in before if k not in after)
        changed.extend(k for k in after if k in before and before[k] != after[k])
    return result


def apply(uow: UnitOfWork, proposed: Catalog) -> tuple[Catalog, bool]:
    """Store ``proposed`` as the catalog in effect (a new version when it differs). Refuses to remove a
    stat that recorded games carry, or an award that players hold (retire it instead)."""
    return uow.apply(proposed)


def rule_as_of(tx: Transaction, award_id: str, version: int | None) -> str | None:
    """The rule text of an award as stored in catalog ``version`` (None when unknown): an unlock keeps
    naming the rule that granted it after the catalog changes."""
    if version is None:
        return None
    for event in tx.events.read_stream(ev.CATALOG_STREAM):
        changed = event.payload
        if isinstance(changed, ev.CatalogChanged) and changed.version == version:
            rule = changed.catalog.get("awards", {}).get(award_id, {}).get("rule")
            return rule if isinstance(rule, str) else None
    return None
