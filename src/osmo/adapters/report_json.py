"""The JSON wire format of game reports, checked with pydantic (strict: no coercion).

An input holds one JSON value (a report, or a list of reports; pretty-printed or not) or JSON Lines
(one report per line). Structure and types are checked here; the domain then checks the game rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, NotRequired

import orjson
from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from osmo.application.recording import Submission
from osmo.domain.catalog import Catalog
from osmo.domain.games import MAX_STAT, GameReport, PlayerLine

StatValue = Annotated[int, Field(strict=True, ge=0, le=MAX_STAT)]
STRICT = ConfigDict(extra="forbid", strict=True)

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
        stats: Any = with_config(STRICT)(TypedDict(  # type: ignore[operator]
            "Stats", dict.fromkeys(catalog.stat_ids, NotRequired[StatValue])))
        line: Any = with_config(STRICT)(TypedDict(  # type: ignore[operator]
            "Line", {"player_id": str, "stats": stats}))
        report: Any = with_config(STRICT)(TypedDict(  # type: ignore[operator]
            "Report", {
                "game_id": str,
                "started_at": AwareDatetime,
                "finished_at": AwareDatetime,
                "winner": int,
                "teams": list[list[line]],
                "metadata": NotRequired[dict[str, Any]],
            }))
        self._adapter: TypeAdapter[Any] = TypeAdapter(report)

    def parse_one(self, text: bytes | str, line: int) -> Submission:
        try:
            data = self._adapter.validate_json(text)
        except ValidationError as error:
            return Submission(line, _game_id_of(text), error=_describe(error, text))
        teams = [[PlayerLine(p["player_id"], p["stats"]) for p in team] for team in data["teams"]]
        started: datetime = data["started_at"]
        finished: datetime = data["finished_at"]
        report = GameReport(data["game_id"], started, finished, data["winner"], teams, data.get("metadata", {}))
        return Submission(line, data["game_id"], report)

    def parse(self, content: bytes) -> Iterator[Submission]:
        """Every report of an input: one JSON value (a report or a list) or JSON Lines."""
        lines = json_lines(content)
        if lines is None:
            whole = orjson.loads(content)
            items = whole if isinstance(whole, list) else [whole]
            for index, item in enumerate(items, 1):
                yield self.parse_one(orjson.dumps(item), index)
            return
        for number, raw in lines:
            yield self.parse_one(raw, number)


def json_lines(content: bytes) -> list[tuple[int, bytes]] | None:
    """The numbered non-blank lines of a JSON Lines input, or None when it is one JSON value."""
    stripped = content.strip()
    if not stripped:
        return []
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return [(number, raw) for number, raw in enumerate(content.splitlines(), 1) if raw.strip()]
    return None


def _game_id_of(text: bytes | str) -> str | None:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    game_id = data.get("game_id") if isinstance(data, dict) else None
    return game_id if isinstance(game_id, str) else None


def _describe(error: ValidationError, text: bytes | str) -> str:
    """The first problem, naming the game, the player and the field."""
    first = error.errors()[0]
    loc = list(first["loc"])
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return f"not valid JSON: {first['msg']}"
    where = []
    if isinstance(data, dict) and isinstance(data.get("game_id"), str):
        where.append(f"game {data['game_id']!r}")
    if len(loc) >= 3 and loc[0] == "teams" and isinstance(loc[1], int) and isinstance(loc[2], int):
        team, slot = loc[1], loc[2]
        try:
            player = data["teams"][team][slot]["player_id"]
            where.append(f"team {team} player {player!r}" if isinstance(player, str) else f"team {team} player {slot}")
        except (KeyError, IndexError, TypeError):
            where.append(f"team {team} player {slot}")
        loc = loc[3:]
    field = ".".join(str(part) for part in loc) or "report"
    kind = first["type"]
    if kind == "extra_forbidden":
        noun = "stat" if len(loc) == 2 and loc[0] == "stats" else "field"
        message = f"unknown {noun} {str(loc[-1])!r}"
    elif kind == "missing":
        message = f"missing field {field!r}"
    else:
        got = first.get("input")
        shown = "" if isinstance(got, dict | list) else f", got {orjson.dumps(got).decode()}"
        message = f"{field} {_MESSAGES.get(kind, first['msg'])}{shown}"
    return ": ".join([", ".join(where), message]) if where else message
