"""The JSON wire format of game reports, checked with pydantic (strict: no coercion).

An input holds one JSON value (a report, or a list of reports; pretty-printed or not) or JSON Lines
(one report per line): see ``json_lines`` for how they are told apart. Structure and types are checked
here; the domain then checks the game rules (and what metadata may hold: ``games.metadata_problem``).

Every submission carries the line where its report starts. A syntax error in one JSON value is one
rejection at its line and column (the reports of a list before it are still read); in JSON Lines it
rejects its line only. Numbers are read as written: NaN, Infinity, 1e309 and integers beyond 64 bits
reach the domain, which rejects them by field, instead of being stored as something else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, NotRequired

import orjson

from osmo.application.recording import Submission
from osmo.domain.catalog import Catalog
from osmo.domain.games import MAX_STAT, GameReport, PlayerLine, metadata_problem

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "missing field",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "timezone_aware": "must have a time zone",
    "datetime_type": "must be an ISO 8601 time with a time zone",
    "datetime_parsing": "must be an ISO 8601 time with a time zone",
    "datetime_from_date_parsing": "must be an ISO 8601 time with a time zone",
    "greater_than_equal": "must not be negative",
    "less_than_equal": f"must be at most {MAX_STAT}",
    "model_type": "must be an object",
    "typed_dict_type": "must be an object",
    "json_invalid": "is not valid JSON",
}


class ReportParser:
    """Parses reports for one catalog (unknown stats are rejected by name)."""

    def __init__(self, catalog: Catalog) -> None:
        self._stat_ids = catalog.stat_ids

    @cached_property
    def _adapter(self) -> TypeAdapter[Any]:
        """The pydantic reader, built (and pydantic imported) when first needed: a reader that checks most
        reports itself (``report_fast``) may never need it."""
        from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, with_config
        from typing_extensions import TypedDict

        strict = ConfigDict(extra="forbid", strict=True)
        stat_value = Annotated[int, Field(strict=True, ge=0, le=MAX_STAT)]
        stats: Any = with_config(strict)(TypedDict(  # type: ignore[operator]
            "Stats", dict.fromkeys(self._stat_ids, NotRequired[stat_value])))
        line: Any = with_config(strict)(TypedDict(  # type: ignore[operator]
            "Line", {"player_id": str, "stats": stats}))
        report: Any = with_config(strict)(TypedDict(  # type: ignore[operator]
            "Report", {
                "game_id": str,
                "started_at": AwareDatetime,
                "finished_at": AwareDatetime,
                "winner": int,
                "teams": list[list[line]],
                "metadata": NotRequired[dict[str, Any]],
            }))
        return TypeAdapter(report)

    def parse_one(self, text: bytes | str, line: int, column: int = 1) -> Submission:
        """One report; ``line`` and ``column`` are where ``text`` starts in the input (for error positions)."""
        from pydantic import ValidationError

        try:
            data = self._adapter.validate_json(text)
        except ValidationError as error:
            loaded = _loose_load(text)
            return Submission(line, _game_id_of(loaded), error=_describe(error, loaded, line, column))
        teams = [[PlayerLine(p["player_id"], p["stats"]) for p in team] for team in data["teams"]]
        started: datetime = data["started_at"]
        finished: datetime = data["finished_at"]
        report = GameReport(data["game_id"], started, finished, data["winner"], teams, data.get("metadata", {}))
        return Submission(line, data["game_id"], report)

    def parse(self, content: bytes) -> Iterator[Submission]:
        """Every report of an input: one JSON value (a report or a list) or JSON Lines.

        Submissions carry the line where their report starts. A syntax error in one JSON value is one
        rejection at its line and column (the reports of a list before it are still yielded). A UTF-8
        byte order mark at the start is ignored.
        """
        content = content.removeprefix(b"\xef\xbb\xbf")
        lines = json_lines(content)
        if lines is None:
            yield from self._parse_value(content)
            return
        for number, raw in lines:
            yield self.parse_one(raw, number)

    def _parse_value(self, content: bytes) -> Iterator[Submission]:
        """The reports of one JSON value, decoded element by element to know where each starts."""
        try:
            text = content.decode()
        except UnicodeDecodeError as error:
            line, column = _position(content, error.start)
            yield Submission(line, None, error=f"not valid UTF-8 at line {line}, column {column}")
            return
        lines = _LineCounter(text)
        start = _skip_space(text, 0)
        if start == len(text):
            return  # blank: no reports
        if not text.startswith("[", start):  # one report
            try:
                _, end = _OFFSETS.raw_decode(text, start)
            except (json.JSONDecodeError, RecursionError) as error:
                yield _syntax_error(error, *lines.position(start))
                return
            if _skip_space(text, end) < len(text):
                yield _first_syntax_error(text, *lines.position(start))
            else:
                yield self.parse_one(text[start:end], *lines.position(start))
            return
        at = _skip_space(text, start + 1)  # a list: each element is a report
        more = not text.startswith("]", at)
        while more:
            try:
                _, end = _OFFSETS.raw_decode(text, at)
            except (json.JSONDecodeError, RecursionError) as error:
                yield _syntax_error(error, *lines.position(at))
                return
            yield self.parse_one(text[at:end], *lines.position(at))
            at = _skip_space(text, end)
            more = text.startswith(",", at)
            if more:
                at = _skip_space(text, at + 1)
            elif not text.startswith("]", at):
                yield _first_syntax_error(text, *lines.position(at))
                return
        if _skip_space(text, at + 1) < len(text):
            yield _first_syntax_error(text, *lines.position(at))


# The standard library's decoder gives offsets (orjson does not). Numbers are kept as text: only the extent of
# each report matters here (pydantic then reads it), and Python refuses to convert integers of 4300+ digits.
_OFFSETS = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
_SPACE = re.compile(r"[ \t\n\r]*")
_POSITION = re.compile(r"^(.*) at line (\d+) column (\d+)$", re.DOTALL)


def json_lines(content: bytes) -> list[tuple[int, bytes]] | None:
    """The numbered non-blank lines of a JSON Lines input, or None when it is one JSON value.

    JSON Lines when there are several non-blank lines and the first is a complete JSON value (a
    pretty-printed value starts with an incomplete ``{`` or ``[``), or, when the first is broken and the
    input is not one valid JSON value, the second is a complete JSON object: one broken line then rejects
    that line only, and a broken pretty-printed value gives one rejection at its error, not one per line.
    """
    body = content.lstrip()
    first, _, rest = body.partition(b"\n")
    rest = rest.lstrip()
    if not rest:
        return None  # blank or a single line: one JSON value (or nothing)
    if not _is_value(first) and (
            body.startswith(b"[") or not _is_value(rest.partition(b"\n")[0], dict) or _is_value(body)):
        return None
    return [(number, raw) for number, raw in enumerate(content.splitlines(), 1) if raw.strip()]


def _is_value(text: bytes, kind: type = object) -> bool:
    """Whether ``text`` is one complete JSON value (NaN, Infinity and big numbers included) of ``kind``."""
    try:
        return isinstance(orjson.loads(text), kind)
    except orjson.JSONDecodeError:
        pass
    try:
        return isinstance(_OFFSETS.decode(text.decode()), kind)
    except (ValueError, RecursionError):
        return False


class _LineCounter:
    """Line and column of offsets into a text, for offsets that only increase (counts each newline once)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._offset = 0
        self._line = 1

    def position(self, offset: int) -> tuple[int, int]:
        self._line += self._text.count("\n", self._offset, offset)
        self._offset = offset
        return self._line, offset - self._text.rfind("\n", 0, offset)


def _skip_space(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _position(content: bytes, offset: int) -> tuple[int, int]:
    line = content.count(b"\n", 0, offset) + 1
    return line, offset - content.rfind(b"\n", 0, offset)


def _first_syntax_error(text: str, line: int, column: int) -> Submission:
    """The decoder's own account of the first syntax error of a text known to be invalid (near ``line``)."""
    try:
        _OFFSETS.decode(text)
    except (json.JSONDecodeError, RecursionError) as error:
        return _syntax_error(error, line, column)
    raise AssertionError("a text found invalid decoded")


def _syntax_error(error: json.JSONDecodeError | RecursionError, line: int, column: int) -> Submission:
    """One rejection for a broken JSON value; ``line`` and ``column`` are where the value being read starts."""
    if isinstance(error, json.JSONDecodeError):
        return Submission(error.lineno, None,
                          error=f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}")
    return Submission(line, None, error=f"not valid JSON: the value at line {line}, column {column} is nested "
                                        f"too deeply to read")


def _loose_load(text: bytes | str) -> Any:
    """The value of a JSON text for error messages (NaN and big numbers included), or None if unreadable."""
    try:
        return _LOOSE.decode(text.decode() if isinstance(text, bytes) else text)
    except (ValueError, RecursionError):
        return None


def _int_or_digits(digits: str) -> int | str:
    try:
        return int(digits)
    except ValueError:  # 4300 digits or more
        return digits


_LOOSE = json.JSONDecoder(parse_int=_int_or_digits)


def _game_id_of(data: Any) -> str | None:
    game_id = data.get("game_id") if isinstance(data, dict) else None
    return game_id if isinstance(game_id, str) else None


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except ValueError:  # an integer of more than 4300 digits
        return f"(a {value.bit_length()}-bit integer)" if isinstance(value, int) else repr(type(value))


def _describe(error: ValidationError, data: Any, line: int, column: int) -> str:
    """The first problem, naming the game, the player and the field."""
    first = error.errors()[0]
    loc = list(first["loc"])
    where = []
    if isinstance(data, dict) and isinstance(data.get("game_id"), str):
        where.append(f"game {data['game_id']!r}")
    kind = first["type"]
    if kind == "json_invalid":
        problem = metadata_problem(data.get("metadata")) if isinstance(data, dict) and "metadata" in data else None
        message = problem or _invalid_json(str(first.get("ctx", {}).get("error", first["msg"])), line, column)
        return ": ".join([", ".join(where), message]) if where else message
    if data is None and kind not in ("typed_dict_type", "dict_type", "model_type"):  # null is "not an object"
        return f"not valid JSON: {first['msg']}"
    if len(loc) >= 3 and loc[0] == "teams" and isinstance(loc[1], int) and isinstance(loc[2], int):
        team, slot = loc[1], loc[2]
        try:
            player = data["teams"][team][slot]["player_id"]
            where.append(f"team {team} player {player!r}" if isinstance(player, str) else f"team {team} player {slot}")
        except (KeyError, IndexError, TypeError):
            where.append(f"team {team} player {slot}")
        loc = loc[3:]
    field = ".".join(str(part) for part in loc) or "report"
    if kind == "extra_forbidden":
        noun = "stat" if len(loc) == 2 and loc[0] == "stats" else "field"
        message = f"unknown {noun} {str(loc[-1])!r}"
    elif kind == "missing":
        message = f"missing field {field!r}"
    else:
        got = first.get("input")
        shown = "" if isinstance(got, dict | list) else f", got {_show(got)}"
        message = f"{field} {_MESSAGES.get(kind, first['msg'])}{shown}"
    return ": ".join([", ".join(where), message]) if where else message


def _invalid_json(reason: str, line: int, column: int) -> str:
    """pydantic's account of a syntax error, with its position made relative to the whole input."""
    match = _POSITION.match(reason)
    if match is None:
        return f"not valid JSON: {reason}"
    what, inner_line, inner_column = match[1], int(match[2]), int(match[3])
    at_line = line + inner_line - 1
    at_column = column + inner_column - 1 if inner_line == 1 else inner_column
    return f"not valid JSON at line {at_line}, column {at_column}: {what}"
