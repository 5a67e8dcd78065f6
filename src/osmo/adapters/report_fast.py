"""The fast path of the JSON report format: msgspec decodes a report straight into typed structs (strict: no
coercion, unknown fields refused, stat values in 0..MAX_STAT), and ``games.checked_quickly`` checks it into
its normal form. Whatever either refuses, or might read otherwise than the pydantic reader (a time not
written as ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)``, for example), goes to ``ReportParser.parse_one``
and ``check_report``, so every message stays what it was and a report is accepted exactly when it was.

``stream_submissions`` reads JSON Lines from a file line by line (memory does not grow with the input);
any other input (one JSON value, a list) is read whole, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, BinaryIO

import msgspec

from osmo.adapters.report_json import ReportParser, _is_value
from osmo.application.recording import Submission
from osmo.domain.catalog import Catalog
from osmo.domain.games import MAX_STAT, checked_quickly

StatValue = Annotated[int, msgspec.Meta(ge=0, le=MAX_STAT)]
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})")


def _instant(text: str) -> datetime | None:
    """An aware datetime for the plainest ISO 8601 form (which both readers read alike), else None."""
    if _INSTANT.fullmatch(text) is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class FastReportParser(ReportParser):
    """``ReportParser`` with a msgspec fast path; ``now`` is the clock the fast path checks ``finished_at``
    against (take it no later than the recording's; a long-lived parser sets it before each batch)."""

    def __init__(self, catalog: Catalog, now: datetime) -> None:
        super().__init__(catalog)
        self._catalog = catalog
        self.now = now
        stats: Any = msgspec.defstruct("Stats", [(s, StatValue, 0) for s in catalog.stat_ids],
                                       forbid_unknown_fields=True)
        line: Any = msgspec.defstruct("Line", [("player_id", str), ("stats", stats)], forbid_unknown_fields=True)
        report: Any = msgspec.defstruct("Report", [
            ("game_id", str), ("started_at", str), ("finished_at", str), ("winner", int),
            ("teams", list[list[line]]), ("metadata", dict[str, Any], msgspec.field(default_factory=dict))],
            forbid_unknown_fields=True)
        self._decode: Callable[[bytes | str], Any] = msgspec.json.Decoder(report).decode
        self._values: Callable[[Any], tuple[Any, ...]] = msgspec.structs.astuple

    def parse_one(self, text: bytes | str, line: int, column: int = 1) -> Submission:
        try:
            data = self._decode(text)
        except (msgspec.DecodeError, RecursionError):
            return super().parse_one(text, line, column)
        started, finished = _instant(data.started_at), _instant(data.finished_at)
        if started is None or finished is None:
            return super().parse_one(text, line, column)
        values = self._values
        teams = [[(p.player_id, values(p.stats)) for p in team] for team in data.teams]
        game = checked_quickly(data.game_id, started, finished, data.winner, teams, data.metadata,
                               self._catalog, self.now)
        if game is None:
            return super().parse_one(text, line, column)
        return Submission(line, data.game_id, game=game)


def stream_submissions(file: BinaryIO, parser: ReportParser,
                       progress: Callable[[int], None] | None = None) -> Iterator[Submission]:
    """Every report of ``file``, as ``parser.parse`` reads it; JSON Lines are read a line at a time.

    JSON Lines are recognised as ``report_json.json_lines`` does when the first non-blank line is a
    complete JSON value and another non-blank line follows; lines are numbered as ``bytes.splitlines``
    numbers them. ``progress(n)`` is told the bytes read."""
    head: list[bytes] = []
    first: bytes | None = None
    for raw in file:
        head.append(raw)
        if progress:
            progress(len(raw))
        if not raw.strip():
            continue
        if first is None:
            first = raw
            continue
        break
    else:  # at most one non-blank line: one JSON value (or nothing)
        yield from parser.parse(b"".join(head))
        return
    assert first is not None
    stripped = first.lstrip()
    if b"\r" in stripped.rstrip(b"\r\n") or not _is_value(stripped.rstrip(b"\n")):
        yield from parser.parse(b"".join(head) + file.read())
        return
    number = 0

    def numbered(chunk: bytes) -> Iterator[tuple[int, bytes]]:
        nonlocal number
        for raw in chunk.splitlines():
            number += 1
            if raw.strip():
                yield number, raw

    for chunk in head:
        for line, raw in numbered(chunk):
            yield parser.parse_one(raw, line)
    for chunk in file:
        if progress:
            progress(len(chunk))
        for line, raw in numbered(chunk):
            yield parser.parse_one(raw, line)
