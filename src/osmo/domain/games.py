"""Game reports: what a game server sends, the checks every report passes, and its normal form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, NamedTuple, NoReturn

from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidReport

TEAM_SIZES = range(3, 6)
MAX_STAT = 2**31 - 1
MAX_ID_LENGTH = 128


class PlayerLine(NamedTuple):
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


class Line(NamedTuple):
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
        """The canonical stored form (the payload of GameRecorded).

        Compact but self-describing: the stat ids are listed once, and each line carries its values in
        that order, so a stored game reads the same after the catalog gains stats (they count as 0).
        """
        teams: list[list[dict[str, Any]]] = [[], []]
        for player_id, team, values in self.lines:
            teams[team].append({"player_id": player_id, "values": values})
        return {
            "game_id": self.game_id,
            "started_at": format_instant(self.started_at),
            "finished_at": format_instant(self.finished_at),
            "winner": self.winner,
            "stats": stat_ids,
            "teams": teams,
            "metadata": self.metadata,
        }


def format_instant(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def line_values(data: Mapping[str, Any], stat_ids: Sequence[str]) -> list[Line]:
    """The lines of a stored GameRecorded payload with values in the order of ``stat_ids``;
    stats the game was recorded without (added to the catalog later) count as 0."""
    stored = data["stats"]
    same = stored == stat_ids or tuple(stored) == tuple(stat_ids)
    if not same:
        position = {s: i for i, s in enumerate(stored)}
        picks = [position.get(s) for s in stat_ids]
    lines = []
    for team, members in enumerate(data["teams"]):
        for entry in members:
            values = entry["values"]
            if same:
                lines.append(Line(entry["player_id"], team, tuple(values)))
            else:
                lines.append(Line(entry["player_id"], team, tuple(0 if p is None else values[p] for p in picks)))
    return lines


def game_from_data(data: Mapping[str, Any], stat_ids: Sequence[str]) -> Game:
    """Read a stored GameRecorded payload (see ``line_values``)."""
    return Game(
        data["game_id"], parse_instant(data["started_at"]), parse_instant(data["finished_at"]),
        data["winner"], tuple(line_values(data, stat_ids)), data.get("metadata", {}),
    )


_INT = {int}


def _player_problem(where: str, team: int, slot: int, player_id: object, seen: set[str]) -> NoReturn:
    who = f"{where}, team {team} player {slot}"
    if type(player_id) is not str or not player_id.strip() or len(player_id) > MAX_ID_LENGTH:
        raise InvalidReport(f"{who}: player_id must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    raise InvalidReport(f"{where}, team {team} player {player_id!r}: plays twice in the same game")


def _stats_problem(who: str, stats: Mapping[str, object], stat_ids: Sequence[str]) -> NoReturn:
    for name, value in stats.items():
        if name not in stat_ids:
            raise InvalidReport(f"{who}: unknown stat {name!r} (known: {', '.join(stat_ids)})")
        if type(value) is not int:
            raise InvalidReport(f"{who}: stats.{name} must be an integer, got {value!r}")
        if not 0 <= value <= MAX_STAT:
            raise InvalidReport(f"{who}: stats.{name} = {value} is out of range 0..{MAX_STAT}")
    raise AssertionError("no problem found in stats that failed the check")


def _bounds_problem(who: str, values: tuple[int, ...], duration: float, catalog: Catalog) -> NoReturn:
    for i, name, bound in catalog.bounds:
        limit = duration if bound is None else values[bound]
        if values[i] > limit:
            shown = f"the game's duration ({duration:g} s)" if bound is None else f"{catalog.stat_ids[bound]} ({limit})"
            raise InvalidReport(f"{who}: stats.{name} = {values[i]} exceeds {shown}")
    raise AssertionError("no bound found broken in values that failed the check")


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
    known = catalog.stat_set
    within_bounds = catalog.within_bounds
    zeros = repeat(0)
    seen: set[str] = set()
    lines: list[Line] = []
    for team, members in enumerate(report.teams):
        for slot, (player_id, stats) in enumerate(members):
            if (type(player_id) is not str or not player_id.strip() or len(player_id) > MAX_ID_LENGTH
                    or player_id in seen):
                _player_problem(where, team, slot, player_id, seen)
            seen.add(player_id)
            if stats and not (stats.keys() <= known and set(map(type, stats.values())) == _INT
                              and min(stats.values()) >= 0 and max(stats.values()) <= MAX_STAT):
                _stats_problem(f"{where}, team {team} player {player_id!r}", stats, stat_ids)
            values = tuple(map(stats.get, stat_ids, zeros))
            if not within_bounds(values, duration):
                _bounds_problem(f"{where}, team {team} player {player_id!r}", values, duration, catalog)
            lines.append(Line(player_id, team, values))
    return Game(game_id, started, finished, report.winner, tuple(lines), report.metadata)
