"""Game reports: what a game server sends, the checks every report passes, and its normal form.

The limits on what a report may hold (ids, times, metadata) are the module constants below; each one
exists so that what is accepted is stored as reported and reads back the same.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any, NamedTuple, NoReturn

from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidReport

TEAM_SIZES = range(3, 6)
MAX_STAT = 2**31 - 1
MAX_ID_LENGTH = 128
"""Game ids and player ids: 1 to 128 characters, not only whitespace, no control characters (Unicode
category C: Cc, Cf, Cs, Co, Cn)."""
MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future of ``now`` a report's finished_at may be (game servers' clocks drift)."""
MAX_METADATA_BYTES = 16 * 1024
"""The largest metadata object, in bytes of compact UTF-8 JSON."""
MAX_METADATA_DEPTH = 16
"""How deeply metadata may nest: the metadata object itself is level 1, ``{"a": {"b": [1]}}`` has 3 levels."""
METADATA_INTS = range(-(2**63), 2**63)
"""Integers in metadata are 64-bit signed (as JSON readers and PostgreSQL's bigint hold them); every number
is finite (no NaN or Infinity, nor 1e309, which reads as Infinity)."""


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
    stat_ids: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """The names of ``Line.values``, in order (the catalog's; not part of equality)."""

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
        data["winner"], tuple(line_values(data, stat_ids)), data.get("metadata", {}), tuple(stat_ids),
    )


_INT = {int}
_METADATA_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_NOT_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def plainly_valid_id(value: object) -> bool:
    """Whether ``value`` passes the cheap test of a valid id: a printable string of 1 to MAX_ID_LENGTH
    characters, not only whitespace. When it does not, ``id_problem`` says whether and why it is invalid
    (``isprintable`` also refuses spaces other than ' ', which are allowed)."""
    return type(value) is str and bool(value.strip()) and len(value) <= MAX_ID_LENGTH and value.isprintable()


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid game or player id (1 to MAX_ID_LENGTH characters, not only whitespace,
    no character of Unicode category C: Cc, Cf, Cs, Co, Cn), or None."""
    if type(value) is not str or not value.strip() or len(value) > MAX_ID_LENGTH:
        return f"must be a non-empty string of at most {MAX_ID_LENGTH} characters"
    if not value.isprintable():  # cheap test; it also refuses spaces other than ' ', which are allowed
        for position, char in enumerate(value, 1):
            if unicodedata.category(char)[0] == "C":
                return (f"must not contain control characters, got {value!r} "
                        f"(U+{ord(char):04X} at position {position})")
    return None


def metadata_problem(metadata: object) -> str | None:
    """Why ``metadata`` cannot be stored, naming the field, or None.

    Metadata is a JSON object of at most MAX_METADATA_BYTES once serialised (compact UTF-8) and
    MAX_METADATA_DEPTH levels deep, holding strings, booleans, nulls, lists, objects, finite numbers and
    integers within METADATA_INTS: anything else would be stored as something else (NaN as null, a
    larger integer as a float), so recording the same report again would find different content.
    """
    if type(metadata) is not dict:
        return f"metadata must be an object, got {_type_name(metadata)}"
    # The common case first: a flat object of ASCII strings (no lone surrogate; at most 6 bytes a character).
    bound = 2
    for key, value in metadata.items():
        if type(key) is not str or type(value) is not str or not (key.isascii() and value.isascii()):
            break
        bound += 6 * (len(key) + len(value) + 1)
        if bound > MAX_METADATA_BYTES:
            break
    else:
        return None
    try:
        size: int | None = len(_METADATA_ENCODER.encode(metadata).encode())
    except (ValueError, TypeError, RecursionError):  # NaN or Infinity, a lone surrogate, a type JSON lacks, depth
        size = None
    if size is not None and size > MAX_METADATA_BYTES:
        return f"metadata takes {size} bytes once serialised; at most {MAX_METADATA_BYTES} (16 KiB) are allowed"
    found = _value_problem(metadata, 1, size is None)
    if found is None:
        return None if size is not None else "metadata cannot be serialised as JSON"
    problem, path = found
    return f"metadata{''.join(map(_path_step, reversed(path)))} {problem}"


def _value_problem(value: object, depth: int, thorough: bool) -> tuple[str, list[str | int]] | None:
    """The first problem in a metadata value and its path (innermost step first), or None.
    ``thorough`` also looks for lone surrogates (costly; only when serialising failed)."""
    if type(value) is str:
        if thorough and not _is_utf8(value):
            return "is not valid Unicode (it holds a lone surrogate)", []
        return None
    if type(value) is int:
        if value in METADATA_INTS:
            return None
        return f"= {_int_text(value)} is out of range {METADATA_INTS[0]}..{METADATA_INTS[-1]}", []
    if type(value) is float:
        if math.isfinite(value):
            return None
        return f"must be a finite number, got {_NOT_FINITE.get(value, 'NaN')}", []
    if value is None or type(value) is bool:
        return None
    if type(value) is dict or type(value) is list:
        if depth > MAX_METADATA_DEPTH:
            return f"is nested too deeply (metadata may be at most {MAX_METADATA_DEPTH} levels deep)", []
        items: Iterable[tuple[str | int, object]]
        if type(value) is dict:
            for key in value:
                if type(key) is not str:
                    return f"has a key that is not a string: {key!r}", []
                if thorough and not _is_utf8(key):
                    return f"has a key that is not valid Unicode (it holds a lone surrogate): {key!r}", []
            items = value.items()
        else:
            items = enumerate(value)
        for step, item in items:
            found = _value_problem(item, depth + 1, thorough)
            if found is not None:
                found[1].append(step)
                return found
        return None
    return f"must be a string, number, boolean, null, list or object, got {_type_name(value)}", []


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _int_text(value: int) -> str:
    return str(value) if value.bit_length() <= 256 else f"(a {value.bit_length()}-bit integer)"


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _path_step(step: str | int) -> str:
    if type(step) is int:
        return f"[{step}]"
    return f".{step}" if str(step).isidentifier() else f"[{step!r}]"


def _player_problem(where: str, team: int, slot: int, player_id: object, seen: set[str]) -> None:
    """Raises InvalidReport if the player id is invalid or already seen (the caller found it suspect)."""
    problem = id_problem(player_id)
    if problem is not None:
        raise InvalidReport(f"{where}, team {team} player {slot}: player_id {problem}")
    if player_id in seen:
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


def _in_utc(where: str, name: str, moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidReport(f"{where}: {name} ({moment.isoformat()}) is out of range: in UTC it must fall "
                            f"within the years 1 to 9999") from None


def check_report(report: GameReport, catalog: Catalog, now: datetime | None = None) -> Game:
    """Check every rule of a report against the catalog and return its normal form.

    ``now`` (an aware datetime), when given, is the clock of the checking machine: a report finished
    later than ``now + MAX_CLOCK_SKEW`` is refused. Without it (pure tests) times are not compared to a
    clock. Raises InvalidReport naming the game, the player and the field at fault.
    """
    game_id = report.game_id
    if not plainly_valid_id(game_id):
        problem = id_problem(game_id)
        if problem is not None:
            raise InvalidReport(f"game_id {problem}")
    where = f"game {game_id!r}"
    for name in ("started_at", "finished_at"):
        moment = getattr(report, name)
        if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidReport(f"{where}: {name} must be an ISO 8601 time with a time zone")
    started = _in_utc(where, "started_at", report.started_at)
    finished = _in_utc(where, "finished_at", report.finished_at)
    if finished <= started:
        raise InvalidReport(f"{where}: finished_at ({format_instant(finished)}) must be after started_at "
                            f"({format_instant(started)})")
    if now is not None and finished > now + MAX_CLOCK_SKEW:
        raise InvalidReport(f"{where}: finished_at ({format_instant(finished)}) is in the future: the clock here "
                            f"reads {format_instant(now)} and allows {_minutes(MAX_CLOCK_SKEW)} of clock skew")
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
    metadata = report.metadata
    if metadata or type(metadata) is not dict:
        problem = metadata_problem(metadata)
        if problem is not None:
            raise InvalidReport(f"{where}: {problem}")

    duration = (finished - started).total_seconds()
    stat_ids = catalog.stat_ids
    known = catalog.stat_set
    within_bounds = catalog.within_bounds
    zeros = repeat(0)
    seen: set[str] = set()
    lines: list[Line] = []
    for team, members in enumerate(report.teams):
        for slot, (player_id, stats) in enumerate(members):
            if not plainly_valid_id(player_id) or player_id in seen:
                _player_problem(where, team, slot, player_id, seen)
            seen.add(player_id)
            if stats and not (stats.keys() <= known and set(map(type, stats.values())) == _INT
                              and min(stats.values()) >= 0 and max(stats.values()) <= MAX_STAT):
                _stats_problem(f"{where}, team {team} player {player_id!r}", stats, stat_ids)
            values = tuple(map(stats.get, stat_ids, zeros))
            if not within_bounds(values, duration):
                _bounds_problem(f"{where}, team {team} player {player_id!r}", values, duration, catalog)
            lines.append(Line(player_id, team, values))
    return Game(game_id, started, finished, report.winner, tuple(lines), metadata, stat_ids)


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


def describe_difference(stored: Game, reported: Game) -> str:
    """The first field that differs between two checked games (for a conflict message), for example
    ``finished_at differs (recorded 2026-11-28T10:25:00Z, reported 2026-11-28T10:26:00Z)`` or
    ``team 0 player 'thrall': stats.kills differs (recorded 3, reported 4)``."""
    if stored.game_id != reported.game_id:
        return f"game_id differs (recorded {stored.game_id!r}, reported {reported.game_id!r})"
    for name in ("started_at", "finished_at"):
        before, after = getattr(stored, name), getattr(reported, name)
        if before != after:
            return f"{name} differs (recorded {format_instant(before)}, reported {format_instant(after)})"
    if stored.winner != reported.winner:
        return f"winner differs (recorded {stored.winner}, reported {reported.winner})"
    for team in sorted({line.team for line in (*stored.lines, *reported.lines)}):
        before = [line.player_id for line in stored.lines if line.team == team]
        after = [line.player_id for line in reported.lines if line.team == team]
        if before != after:
            return (f"team {team} players differ (recorded {', '.join(map(repr, before))}; "
                    f"reported {', '.join(map(repr, after))})")
    names = reported.stat_ids or stored.stat_ids
    for old, new in zip(stored.lines, reported.lines, strict=True):
        if old.values != new.values:
            who = f"team {new.team} player {new.player_id!r}"
            if len(old.values) != len(new.values):
                return f"{who}: stats differ (recorded {old.values}, reported {new.values})"
            i, a, b = next((i, a, b) for i, (a, b) in enumerate(zip(old.values, new.values, strict=True)) if a != b)
            name = names[i] if i < len(names) else f"#{i}"
            return f"{who}: stats.{name} differs (recorded {a}, reported {b})"
    if stored.metadata != reported.metadata:
        absent = object()
        for key in {**stored.metadata, **reported.metadata}:
            a, b = stored.metadata.get(key, absent), reported.metadata.get(key, absent)
            if a != b:
                return f"metadata differs at key {key!r} (recorded {_shown(a, absent)}, reported {_shown(b, absent)})"
        return "metadata differs"
    return "no field differs"


def _shown(value: object, absent: object) -> str:
    if value is absent:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 60 else f"{text[:57]}..."
