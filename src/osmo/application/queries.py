"""Use cases that read: a player's profile, one award for one player, the award catalog."""

from __future__ import annotations

from dataclasses import dataclass

from osmo.application.lookups import known_award, known_player
from osmo.application.ports import UnlockRow
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.career import Career, as_dict
from osmo.domain.catalog import CompiledAward

HIDDEN = "???"


@dataclass(frozen=True, slots=True)
class Progress:
    current: float
    target: int | float
    ratio: float


@dataclass(frozen=True, slots=True)
class AwardStatus:
    id: str
    name: str
    description: str
    tier: str | None
    hidden: bool
    retired: bool
    unlocked: bool
    game_id: str | None
    unlocked_at: str | None
    recorded_at: str | None
    backfilled: bool
    source: str | None
    progress: Progress | None


@dataclass(frozen=True, slots=True)
class Profile:
    player_id: str
    name: str
    career: dict[str, int]
    awards: list[AwardStatus]


@dataclass(frozen=True, slots=True)
class AwardListing:
    id: str
    name: str
    description: str
    tier: str | None
    hidden: bool
    retired: bool
    family: str | None
    level: int | None
    holders: int
    rarity: float


def progress_of(award: CompiledAward, career: Career) -> Progress | None:
    if award.progress is None or award.progress_value is None:
        return None
    current = award.progress_value(career)
    if current is None:
        return None
    target = award.progress.target
    ratio = 1.0 if target <= 0 else max(0.0, min(1.0, current / target))
    shown = int(current) if float(current).is_integer() else round(current, 4)
    return Progress(shown, target, round(ratio, 4))


def _status(award: CompiledAward, unlock: UnlockRow | None, career: Career) -> AwardStatus:
    d = award.definition
    masked = d.hidden and unlock is None
    return AwardStatus(
        *((HIDDEN, HIDDEN, HIDDEN) if masked else (d.id, d.name, d.description)), d.tier, d.hidden, d.retired,
        unlock is not None,
        unlock.game_id if unlock else None, unlock.unlocked_at if unlock else None,
        unlock.recorded_at if unlock else None, unlock.backfilled if unlock else False,
        unlock.source if unlock else None, None if masked else progress_of(award, career),
    )


def profile(uow: UnitOfWork, key: str) -> Profile:
    """Career stats and every award: unlocked ones with their game, locked ones with progress.

    Retired awards show only when held; hidden ones show as '???' (id, name and description) until unlocked.
    """
    with uow.read() as reader:
        tx, catalog = reader.tx, reader.catalog
        player = known_player(tx, key)
        career = tx.careers.careers([player.player_id])[player.player_id]
        unlocks = {u.award_id: u for u in tx.unlocks.unlocks_of(player.player_id)}
    statuses = [
        _status(award, unlocks.get(award.id), career)
        for award in catalog.compiled
        if not award.definition.retired or award.id in unlocks
    ]
    statuses.sort(key=lambda s: (not s.unlocked, s.unlocked_at or "", s.hidden, s.id))
    return Profile(player.player_id, player.name, as_dict(career, catalog), statuses)


def check_award(uow: UnitOfWork, award_id: str, key: str) -> AwardStatus:
    """Whether a player holds an award, with progress when it is locked."""
    with uow.read() as reader:
        tx = reader.tx
        award = known_award(reader.catalog, award_id)
        player = known_player(tx, key)
        career = tx.careers.careers([player.player_id])[player.player_id]
        unlock = tx.unlocks.unlock(player.player_id, award_id)
        if unlock is not None and not unlock.active:
            unlock = None
    return _status(award, unlock, career)


def award_catalog(uow: UnitOfWork) -> list[AwardListing]:
    """Every award with its holders and rarity: the percent of players with at least one recorded game
    who hold it (0 when nobody has played). A hidden award shows as '???' until someone holds it."""
    with uow.read() as reader:
        catalog = reader.catalog
        holders = reader.tx.unlocks.holders()
        players = reader.tx.careers.players_with_games()
    listings = []
    for award in catalog.compiled:
        d = award.definition
        count = holders.get(d.id, 0)
        masked = d.hidden and count == 0
        listings.append(AwardListing(
            *((HIDDEN, HIDDEN, HIDDEN) if masked else (d.id, d.name, d.description)), d.tier, d.hidden, d.retired,
            *((None, None) if masked else (d.family, d.level)), count,
            round(100.0 * count / players, 2) if players else 0.0,
        ))
    return listings
