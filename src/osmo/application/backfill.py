"""Use cases over the whole history: backfill awards, rebuild the projections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from osmo.application import history
from osmo.application.lookups import known_award
from osmo.application.unit_of_work import UnitOfWork
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
    awards: list[str] = field(default_factory=list)  # the awards scanned

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


def backfill(uow: UnitOfWork, award_ids: Sequence[str] = (), *, dry_run: bool = False,
             progress: Callable[[int], None] | None = None) -> BackfillResult:
    """Grant every award a player would have earned had it existed from the start, at the game where the
    player first qualified (``unlocked_at`` = that game's finish time). Never revokes; running it twice
    changes nothing. Players who hold the award, or had it revoked by an operator, are left alone.

    A dry run previews the catalog the unit of work proposes (``--catalog FILE``) without storing it; a
    real run stores it first (it is a write), then scans with the catalog in effect."""
    if not dry_run and uow.proposed is not None:
        with uow.write():
            pass  # store the proposed catalog before scanning with it
    result = BackfillResult()
    with uow.read() as reader:
        tx, catalog = reader.tx, reader.catalog
        awards = _awards(catalog, award_ids)
        result.awards = [a.id for a in awards]
        names = tx.players.player_keys()
        keys = {player_id: key for key, player_id in names.items()}
        exclude = {a.id: {keys[p] for p in tx.unlocks.award_holders(a.id) if p in keys} for a in awards}
        earned = history.first_earned(tx, catalog, {a.id: a.node for a in awards}, exclude, progress=progress)
    for award in awards:
        for found in sorted(earned[award.id], key=lambda e: e.position):
            result.grants.append(Grant(names[found.key], award.id, found.game_id, found.position, found.finished_at))
    if dry_run:
        return result
    written: list[Grant] = []
    for start in range(0, len(result.grants), WRITE_CHUNK):
        with uow.write() as writer:
            tx = writer.tx
            chunk = result.grants[start:start + WRITE_CHUNK]
            present = tx.lines.lines_at(g.game_position for g in chunk).games
            new = []
            for grant in chunk:
                current = writer.catalog.award(grant.award)
                if current is None or current.definition.retired or grant.game_position not in present:
                    continue  # retired, removed or voided since the scan
                previous = tx.unlocks.unlock(grant.player_id, grant.award)
                if previous is not None and (previous.active or previous.source == "operator"):
                    continue
                new.append(ev.award_unlocked(grant.player_id, grant.award, grant.game_id, grant.game_position,
                                             grant.unlocked_at, writer.catalog.version, source="backfill",
                                             stream_version=previous.version if previous else ev.NO_STREAM))
                written.append(grant)
            writer.append(new)
    result.grants = written
    return result


def total_games(uow: UnitOfWork) -> int:
    with uow.read() as reader:
        return reader.tx.lines.game_count()


def rebuild(uow: UnitOfWork, progress: Callable[[int], None] | None = None) -> int:
    """Empty every projection and replay the whole log into them, in one transaction (readers see the old
    state or the new one, never half). Decisions are not taken again: they are events already. Voided
    games are skipped from the start (a void removes a game as if it had never been recorded), so voids
    cost a rebuild nothing. Returns the number of events replayed."""
    replayed = 0
    with uow.write(subscribers=uow.projectors()) as writer:
        tx, catalog = writer.tx, writer.catalog
        voided = {e.payload.game_position for e in tx.events.of_type(ev.GAME_VOIDED)
                  if isinstance(e.payload, ev.GameVoided)}
        tx.projections.reset()
        tx.careers.use_catalog(catalog)
        after = 0
        while True:
            batch = list(tx.events.read_all(after=after, limit=REPLAY_CHUNK))
            if not batch:
                break
            for event in batch:
                if event.type == ev.GAME_RECORDED and event.position in voided:
                    continue
                for subscriber in writer.subscribers:
                    subscriber.handle(tx, event, catalog)
            after = batch[-1].position
            for name in uow.subscriber_names():
                tx.checkpoints.set_checkpoint(name, after)
            tx.projections.flush()
            replayed += len(batch)
            if progress:
                progress(sum(1 for e in batch if e.type == ev.GAME_RECORDED))
    return replayed
