"""Game reports: what a game server sends, the checks every report passes, and its normal form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidReport

TEAM_SIZES = range(3, 6)
MAX_STAT = 2**31 - 1
MAX_ID_LENGTH = 128


@dataclass(frozen=True, slots=True)
class PlayerLine:
    """One player's stat line as reported (stats not reported count as 0)."""

    player_id: str
    stats: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class GameReport:
    """A finished game as a game server reports it."""

    game_id: str
    started_at: datetime
    finished_at: datetime
    winner: int
    teams: Sequence[Sequence[PlayerLine]]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Line:
    """A checked player line: the stat values in catalog order."""

    player_id: str
    team: int
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Game:
    """A checked game in normal form: UTC instants, every catalog stat present."""

    game_id: str
    started_at: datetime
    finished_at: datetime
    winner: int
    lines: tuple[Line, ...]
    metadata: Mapping[str, Any]

    @property
    def player_ids(self) -> tuple[str, ...]:
        return tuple(line.player_id for line in self.lines)

    def to_data(self, stat_ids: Sequence[str]) -> dict[str, Any]:
        """The canonical stored form (the payload of GameRecorded)."""
        teams: list[list[dict[str, Any]]] = [[], []]
        for line in self.lines:
            teams[line.team].append({"player_id": line.player_id, "stats": dict(zip(stat_ids, line.values, strict=True))})
        return {
            "game_id": self.game_id,
            "started_at": format_instant(self.started_at),
            "finished_at": format_instant(self.finished_at),
            "winner": self.winner,
            "teams": teams,
            "metadata": dict(self.metadata),
        }


def format_instant(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def game_from_data(data: Mapping[str, Any], stat_ids: Sequence[str]) -> Game:
    """Read a stored GameRecorded payload; stats it lacks (added to the catalog later) count as 0."""
    lines = tuple(
        Line(entry["player_id"], team, tuple(entry["stats"].get(s, 0) for s in stat_ids))
        for team, members in enumerate(data["teams"])
        for entry in members
    )
    return Game(
        data["game_id"], parse_instant(data["started_at"]), parse_instant(data["finished_at"]),
        data["winner"], lines, data.get("metadata", {}),
    )


def check_report(report: GameReport, catalog: Catalog) -> Game:
    """Check every rule of a report against the catalog and return its normal form.

    Raises InvalidReport naming the game, the player and the field at fault.
    """
    game_id = report.game_id
    if not isinstance(game_id, str) or not game_id.strip() or len(game_id) > MAX_ID_LENGTH:
        raise InvalidReport(f"game_id must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    where = f"game {game_id!r}"
    for name in ("started_at", "finished_at"):
        moment = getattr(report, name)
        if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidReport(f"{where}: {name} must be an ISO 8601 time with a time zone")
    started, finished = report.started_at.astimezone(UTC), report.finished_at.astimezone(UTC)
    if finished <= started:
        raise InvalidReport(f"{where}: finished_at ({format_instant(finished)}) must be after started_at "
                            f"({format_instant(started)})")
    if type(report.winner) is not int or report.winner not in (0, 1):
        raise InvalidReport(f"{where}: winner must be 0 or 1 (the index of the winning team), got {report.winner!r}")
    if len(report.teams) != 2:
        raise InvalidReport(f"{where}: teams must hold exactly two teams, got {len(report.teams)}")
    sizes = [len(team) for team in report.teams]
    for index, size in enumerate(sizes):
        if size not in TEAM_SIZES:
            raise InvalidReport(f"{where}: team {index} has {size} players; a team has 3 to 5 players")
    if sizes[0] != sizes[1]:
        raise InvalidReport(f"{where}: teams are uneven ({sizes[0]} vs {sizes[1]} players); they must be the same size")

    duration = (finished - started).total_seconds()
    stat_ids = catalog.stat_ids
    known = frozenset(stat_ids)
    bounds = [(i, s.id, s.at_most) for i, s in enumerate(catalog.stats) if s.at_most is not None]
    index_of = {s: i for i, s in enumerate(stat_ids)}
    seen: set[str] = set()
    lines: list[Line] = []
    for team, members in enumerate(report.teams):
        for slot, entry in enumerate(members):
            player_id = entry.player_id
            who = f"{where}, team {team} player {slot}"
            if not isinstance(player_id, str) or not player_id.strip() or len(player_id) > MAX_ID_LENGTH:
                raise InvalidReport(f"{who}: player_id must be a non-empty string of at most {MAX_ID_LENGTH} characters")
            who = f"{where}, team {team} player {player_id!r}"
            if player_id in seen:
                raise InvalidReport(f"{who}: plays twice in the same game")
            seen.add(player_id)
            stats = entry.stats
            for name, value in stats.items():
                if name not in known:
                    raise InvalidReport(f"{who}: unknown stat {name!r} (known: {', '.join(stat_ids)})")
                if type(value) is not int:
                    raise InvalidReport(f"{who}: stats.{name} must be an integer, got {value!r}")
                if value < 0 or value > MAX_STAT:
                    raise InvalidReport(f"{who}: stats.{name} = {value} is out of range 0..{MAX_STAT}")
            values = tuple(stats.get(s, 0) for s in stat_ids)
            for i, name, bound in bounds:
                limit: float = duration if bound == "duration" else values[index_of[bound]]  # type: ignore[index]
                if values[i] > limit:
                    shown = f"the game's duration ({duration:g} s)" if bound == "duration" else f"{bound} ({limit})"
                    raise InvalidReport(f"{who}: stats.{name} = {values[i]} exceeds {shown}")
            lines.append(Line(player_id, team, values))
    return Game(game_id, started, finished, report.winner, tuple(lines), report.metadata)
