"""Read use cases for players and awards beyond the CLI's: a player's recent games (each with the player's
line and what it unlocked for them), an award with its most recent unlocks, and the feed of recent unlocks."""

from __future__ import annotations

from dataclasses import dataclass

from osmo.application.lookups import known_award, known_player
from osmo.application.ports import PlayerRow, UnlockRow
from osmo.application.queries import AwardListing, award_catalog
from osmo.application.service_roles import roles
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.errors import InvalidInput, UnknownAward

MAX_LIMIT = 100


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


@dataclass(frozen=True, slots=True)
class PlayerGame:
    game_id: str
    finished_at: str
    team: int
    won: bool
    stats: dict[str, int]  # the player's line
    unlocked: list[str]  # awards this game unlocked for the player (still held)


def player_games(uow: UnitOfWork, key: str, limit: int = 20) -> tuple[PlayerRow, list[PlayerGame]]:
    """The player's last ``limit`` (not voided) games, most recent first."""
    limit = _limit(limit)
    with uow.read() as reader:
        tx, catalog = reader.tx, reader.catalog
        player = known_player(tx, key)
        positions = tx.lines.games_of([player.player_id])[player.player_id][-limit:]
        block = tx.lines.lines_at(positions)
        keys = {p: k for k, p in tx.players.player_keys().items()}
        unlocks = tx.unlocks.unlocks_of(player.player_id)
    unlocked: dict[int, list[str]] = {}
    for unlock in unlocks:
        if unlock.game_position is not None:
            unlocked.setdefault(unlock.game_position, []).append(unlock.award_id)
    mine = block.keys == keys[player.player_id]
    game, teams, at = block.game[mine], block.teams[mine], block.positions[mine]
    names = catalog.game_names
    won = names.index("won")
    games = []
    for row, team, position in zip(game.tolist(), teams.tolist(), at.tolist(), strict=True):
        game_id, finished_at = block.games[position]
        stats = {n: v for n, v in zip(names, row, strict=True) if n != "won"}
        games.append(PlayerGame(game_id, finished_at, team, bool(row[won]), stats, unlocked.get(position, [])))
    games.reverse()
    return player, games


@dataclass(frozen=True, slots=True)
class AwardDetail:
    award: AwardListing
    rule: str | None  # None for a hidden award
    recent: list[UnlockRow]


def award_detail(uow: UnitOfWork, award_id: str, limit: int = 20) -> AwardDetail:
    """An award with holders, rarity and its most recent unlocks. A hidden award nobody holds is unknown
    here (answering anything else would reveal that it exists)."""
    limit = _limit(limit)
    listing = {a.id: a for a in award_catalog(uow)}
    if award_id not in listing:
        raise UnknownAward(f"no award has the id {award_id!r}")
    with uow.read() as reader:
        award = known_award(reader.catalog, award_id)
        recent = roles(reader.tx).boards.recent_unlocks(award_id, limit)
    return AwardDetail(listing[award_id], None if award.definition.hidden else award.definition.rule, recent)


def recent_unlocks(uow: UnitOfWork, limit: int = 20) -> list[UnlockRow]:
    """The most recently recorded unlocks of every award, newest first."""
    limit = _limit(limit)
    with uow.read() as reader:
        return roles(reader.tx).boards.recent_unlocks(None, limit)
