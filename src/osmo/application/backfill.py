"""Use cases over the whole history: backfill awards, rebuild the projections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from osmo.application import history
from osmo.application.lookups import known_award
from osmo.application.ports import Database
from osmo.application.projections import dispatch, live_subscribers, projections
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog, CompiledAward
from osmo.domain.errors import InvalidInput

WRITE_CHUNK = 1_000
REPLAY_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class Grant:
    player_id: str
    award: str
    game_id: str
    game_position: int
    unlocked_at: str


@dataclass
class BackfillResult:
    grants: list[Grant] = field(default_factory=list)
    lines_scanned: int = 0

    def per_award(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for grant in self.grants:
            counts[grant.award] = counts.get(grant.award, 0) + 1
        return counts


def _awards(catalog: Catalog, award_ids: Sequence[str]) -> list[CompiledAward]:
    if not award_ids:
        return list(catalog.active())
    chosen = []
    for award_id in award_ids:
        award = known_award(catalog, award_id)
        if award.definition.retired:
            raise InvalidInput(f"award {award_id!r} is retired: it is no longer granted")
        chosen.append(award)
    return chosen


def backfill(database: Database, catalog: Catalog, award_ids: Sequence[str] = (), *, dry_run: bool = False,
             progress: Callable[[int], None] | None = None) -> BackfillResult:
    """Grant every award a player would have earned had it existed from the start, at the game where the
    player first qualified (``unlocked_at`` = that game's finish time). Never revokes; running it twice
    changes nothing. Players who hold the award, or had it revoked by an operator, are left alone."""
    awards = _awards(catalog, award_ids)
    result = BackfillResult()
    with database.reader() as tx:
        tx.views.use_catalog(catalog)
        names = tx.views.player_keys()
        keys = {player_id: key for key, player_id in names.items()}
        exclude = {a.id: {keys[p] for p in tx.views.award_holders(a.id) if p in keys} for a in awards}

        def count(games: int) -> None:
            if progress:
                progress(games)

        earned = history.first_earned(tx, catalog, {a.id: a.node for a in awards}, exclude, progress=count)
    for award in awards:
        for found in sorted(earned[award.id], key=lambda e: e.position):
            result.grants.append(Grant(names[found.key], award.id, found.game_id, found.position, found.finished_at))
    if dry_run:
        return result
    written: list[Grant] = []
    for start in range(0, len(result.grants), WRITE_CHUNK):
        with database.transaction() as tx:
            tx.views.use_catalog(catalog)
            new = []
            for grant in result.grants[start:start + WRITE_CHUNK]:
                previous = tx.views.unlock(grant.player_id, grant.award)
                if previous is not None and (previous.active or previous.source == "operator"):
                    continue
                still_there = tx.views.stored_games(grant.game_position - 1, 1)
                if not still_there or still_there[0].position != grant.game_position:
                    continue
                new.append(ev.award_unlocked(grant.player_id, grant.award, grant.game_id, grant.game_position,
                                             grant.unlocked_at, catalog.version, source="backfill",
                                             stream_version=previous.version if previous else ev.NO_STREAM))
                written.append(grant)
            dispatch(tx, tx.events.append(new), catalog, live_subscribers())
    result.grants = written
    return result


def total_games(database: Database) -> int:
    with database.reader() as tx:
        return tx.views.game_count()


def rebuild(database: Database, catalog: Catalog, progress: Callable[[int], None] | None = None) -> int:
    """Empty every projection and replay the whole log into them, in one transaction (readers see the old
    state or the new one, never half). Decisions are not taken again: they are events already.
    Returns the number of events replayed."""
    replayed = 0
    with database.transaction() as tx:
        tx.views.reset()
        tx.views.use_catalog(catalog)
        subscribers = projections()
        after = 0
        while True:
            batch = list(tx.events.read_all(after=after, limit=REPLAY_CHUNK))
            if not batch:
                break
            for event in batch:
                for subscriber in subscribers:
                    subscriber.handle(tx, event, catalog)
            after = batch[-1].position
            for subscriber in [*subscribers, *live_subscribers()]:
                tx.views.set_checkpoint(subscriber.name, after)
            tx.views.flush()
            replayed += len(batch)
            if progress:
                progress(sum(1 for e in batch if e.type == ev.GAME_RECORDED))
    return replayed
