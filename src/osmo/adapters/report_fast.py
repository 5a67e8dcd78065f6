"""The fast path of the JSON report format: msgspec decodes reports straight into typed structs (strict: no
coercion, unknown fields refused, stat values in 0..MAX_STAT), and a batch of them is checked in columns into
a ``GameChunk``: each report's own fields (id, times, winner, team sizes, metadata) one by one, the player
lines of the whole batch at once (ids, a player twice in a game, every ``at_most`` bound) with numpy.
Whatever either refuses, or might read otherwise than the pydantic reader (a time not written as
``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)``, for example), goes to ``ReportParser.parse_one`` and
``check_report``, so every message stays what it was and a report is accepted exactly when it was.

``stream_submissions`` reads JSON Lines from a file a batch of lines at a time (memory does not grow with
the input); any other input (one JSON value, a list) is read whole, as before. Worker processes check the
batches of a large file: this process only finds where each batch lies in the file, a worker reads and
splits its lines itself and leaves what it read in a temporary file, so that neither the lines nor what was
read of them go through a pipe.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
import pickle
import re
import signal
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from itertools import accumulate, chain
from operator import attrgetter
from typing import Annotated, Any, BinaryIO

import msgspec
import numpy as np
import orjson

from osmo.adapters.report_json import ReportParser, _is_value, json_lines
from osmo.application.game_chunk import GameChunk, game_event_ids
from osmo.application.recording import Submission
from osmo.domain.catalog import Catalog
from osmo.domain.games import (
    MAX_CLOCK_SKEW,
    MAX_ID_LENGTH,
    MAX_STAT,
    TEAM_SIZES,
    format_instant,
    metadata_problem,
    plainly_valid_id,
)

StatValue = Annotated[int, msgspec.Meta(ge=0, le=MAX_STAT)]
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])")
_PLAIN_UTC = len("2026-11-30T12:00:00Z")
_PLAIN_UTC_LINES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\n)*")
_YEAR_ONE = np.datetime64("0001-01-01T00:00:00", "s")
CHUNK_LINES = 1000
"""JSON Lines checked together."""
_KNOWN_IDS = 100_000
"""Valid player ids remembered between batches (forgotten all at once beyond this)."""

Read = Submission | GameChunk


def _utc(text: str) -> tuple[datetime, str] | None:
    """The UTC instant of the plainest ISO 8601 form (which both readers read alike) and its stored form
    (``format_instant``), else None."""
    if _INSTANT.fullmatch(text) is None:
        return None
    try:
        moment = datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if len(text) == _PLAIN_UTC and text[-1] == "Z":
        return moment, text  # already in the stored form
    return moment, format_instant(moment)


def _all_valid_ids(values: Sequence[str]) -> bool:
    """Whether every one of ``values`` passes ``games.plainly_valid_id``, tested at once (False: test each)."""
    return (not values or (all(map(str.strip, values)) and max(map(len, values)) <= MAX_ID_LENGTH
                           and "".join(values).isprintable()))


class FastReportParser(ReportParser):
    """``ReportParser`` with a msgspec fast path; ``now`` is the clock the fast path checks ``finished_at``
    against (take it no later than the recording's; a long-lived parser sets it before each batch)."""

    def __init__(self, catalog: Catalog, now: datetime) -> None:
        super().__init__(catalog)
        self._catalog = catalog
        self.now = now
        stats: Any = msgspec.defstruct("Stats", [(s, StatValue, 0) for s in catalog.stat_ids],
                                       forbid_unknown_fields=True, gc=False)
        line: Any = msgspec.defstruct("Line", [("player_id", str), ("stats", stats)], forbid_unknown_fields=True,
                                      gc=False)
        report: Any = msgspec.defstruct("Report", [
            ("game_id", str), ("started_at", str), ("finished_at", str), ("winner", int),
            ("teams", list[list[line]]), ("metadata", dict[str, Any], msgspec.field(default_factory=dict))],
            forbid_unknown_fields=True)
        self._decode: Callable[[bytes | str], Any] = msgspec.json.Decoder(report).decode
        self._known_ids: set[str] = set()

    def parse_one(self, text: bytes | str, line: int, column: int = 1) -> Submission:
        (read,) = self.parse_chunk([(line, text)], column)
        return read if isinstance(read, Submission) else Submission(line, read.game_ids[0], game=read.game(0))

    def parse(self, content: bytes) -> Iterator[Submission | GameChunk]:  # type: ignore[override]
        content = content.removeprefix(b"\xef\xbb\xbf")
        lines = json_lines(content)
        if lines is None:
            yield from super().parse(content)
            return
        for start in range(0, len(lines), CHUNK_LINES):
            yield from self.parse_chunk(lines[start:start + CHUNK_LINES])

    def parse_chunk(self, raws: Sequence[tuple[int, bytes | str]], column: int = 1) -> list[Read]:
        """The reports of ``raws`` (``(line, text)``, in input order): runs of reports that pass every check
        as GameChunks, and each other report as ``ReportParser.parse_one`` reads it (``column``: where
        each text starts on its line), in input order."""
        decode = self._decode
        decoded: list[tuple[int, Any]] = []
        for place, (_, raw) in enumerate(raws):
            try:
                decoded.append((place, decode(raw)))
            except (msgspec.DecodeError, RecursionError):
                continue
        times = self._times([data for _, data in decoded])
        ids_fine = _all_valid_ids([data.game_id for _, data in decoded])
        fast: list[int] = []  # places in raws of the reports the columns hold
        reports: list[Any] = []
        kept_times: list[tuple[str, str, float]] = []
        for (place, data), time in zip(decoded, times, strict=True):
            if time is None or not (ids_fine or plainly_valid_id(data.game_id)):
                continue
            teams = data.teams
            if (data.winner not in (0, 1) or len(teams) != 2 or len(teams[0]) != len(teams[1])
                    or len(teams[0]) not in TEAM_SIZES):
                continue
            if data.metadata and metadata_problem(data.metadata) is not None:
                continue
            fast.append(place)
            reports.append(data)
            kept_times.append(time)
        chunk, refused = self._columns(reports, kept_times, [raws[p][0] for p in fast])
        out: list[Read] = []
        run: int | None = None  # the first game of the chunk in the current run of accepted reports
        next_game = 0
        for place, (line, raw) in enumerate(raws):
            here = next_game
            if here < len(fast) and fast[here] == place:
                next_game += 1
                if not refused[here]:
                    if run is None:
                        run = here
                    continue
            if run is not None:
                out.append(chunk.slice(run, here))
                run = None
            out.append(super().parse_one(raw, line, column))
        if run is not None:
            out.append(chunk.slice(run, len(fast)))
        return out

    def _times(self, reports: Sequence[Any]) -> list[tuple[str, str, float] | None]:
        """Each report's started_at and finished_at as stored, and its duration in seconds, when both are
        read alike by both readers, are instants of the years 1 to 9999 in UTC, and the game ends after it
        starts and no later than ``now`` (plus the clock skew allowed); else None. Reports that all give
        their times as ``YYYY-MM-DDTHH:MM:SSZ`` are read at once."""
        latest = self.now + MAX_CLOCK_SKEW
        texts = [r.started_at for r in reports] + [r.finished_at for r in reports]
        if texts and _PLAIN_UTC_LINES.fullmatch("\n".join(texts) + "\n") is not None:
            try:
                moments = np.array([t[:-1] for t in texts], dtype="datetime64[s]")
            except ValueError:  # a date that does not exist: read one by one
                pass
            else:
                started, finished = moments[:len(reports)], moments[len(reports):]
                ok = (started >= _YEAR_ONE) & (started < finished)
                ok &= finished <= np.datetime64(latest.astimezone(UTC).replace(tzinfo=None), "us")
                seconds = (finished - started).astype(np.float64).tolist()
                return [(texts[i], texts[i + len(reports)], seconds[i]) if fine else None
                        for i, fine in enumerate(ok.tolist())]
        found: list[tuple[str, str, float] | None] = []
        for report in reports:
            start, end = _utc(report.started_at), _utc(report.finished_at)
            if start is None or end is None or not start[0] < end[0] <= latest:
                found.append(None)
            else:
                found.append((start[1], end[1], (end[0] - start[0]).total_seconds()))
        return found

    def _columns(self, reports: list[Any], times: list[tuple[str, str, float]], lines: list[int]
                 ) -> tuple[GameChunk, list[bool]]:
        """The reports' games in columns, and for each whether a check of its player lines failed."""
        catalog = self._catalog
        stat_ids = catalog.stat_ids
        count = len(reports)
        if not count:
            return GameChunk.empty(stat_ids), []
        teams = [team for report in reports for team in report.teams]
        members = [member for team in teams for member in team]
        player_ids = [member.player_id for member in members]
        values_of = list(map(msgspec.structs.astuple, map(attrgetter("stats"), members)))
        n, s = len(members), len(stat_ids)
        team_sizes = np.fromiter(map(len, teams), dtype=np.int64, count=2 * count)
        starts = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(team_sizes[0::2] + team_sizes[1::2], out=starts[1:])
        team = np.repeat(np.tile(np.array([0, 1], dtype=np.int64), count), team_sizes)
        values = np.fromiter(chain.from_iterable(values_of), dtype=np.int64, count=n * s).reshape(n, s)
        game_of = np.repeat(np.arange(count, dtype=np.int64), np.diff(starts))

        bad_line = np.zeros(n, dtype=np.bool_)
        known = self._known_ids
        unseen = set(player_ids) - known
        if unseen:
            invalid = {p for p in unseen if not plainly_valid_id(p)}
            if len(known) > _KNOWN_IDS:
                known.clear()
            known.update(unseen - invalid)
            if invalid:
                bad_line |= np.fromiter((p in invalid for p in player_ids), dtype=np.bool_, count=n)
        index: dict[str, int] = {p: i for i, p in enumerate(dict.fromkeys(player_ids))}
        code = np.fromiter(map(index.__getitem__, player_ids), dtype=np.int64, count=n)
        keys = np.sort(game_of * len(index) + code)
        twice = keys[1:][keys[1:] == keys[:-1]] // len(index)
        durations = np.array([t[2] for t in times], dtype=np.float64)[game_of]
        for i, _, bound in catalog.bounds:
            limit = durations if bound is None else values[:, bound]
            bad_line |= values[:, i] > limit
        refused = np.zeros(count, dtype=np.bool_)
        refused[game_of[bad_line]] = True
        refused[twice] = True

        stats = list(stat_ids)
        dumps = orjson.dumps
        payloads: list[str] = []
        starts_l = starts.tolist()
        for g, report in enumerate(reports):
            a, b = starts_l[g], starts_l[g + 1]
            middle = a + (b - a) // 2
            started, finished, _ = times[g]
            payloads.append(dumps({
                "game_id": report.game_id, "started_at": started, "finished_at": finished, "winner": report.winner,
                "stats": stats,
                "teams": [[{"player_id": p, "values": v} for p, v in zip(player_ids[a:middle], values_of[a:middle],
                                                                          strict=True)],
                          [{"player_id": p, "values": v} for p, v in zip(player_ids[middle:b], values_of[middle:b],
                                                                          strict=True)]],
                "metadata": report.metadata}).decode())
        game_ids = [r.game_id for r in reports]
        chunk = GameChunk(tuple(stat_ids), lines, list(range(count)), game_ids, [t[1] for t in times],
                          [r.winner for r in reports], payloads, starts, player_ids, team, values,
                          game_event_ids(game_ids))
        return chunk, refused.tolist()


def stream_submissions(file: BinaryIO, parser: ReportParser, progress: Callable[[int], None] | None = None,
                       chunk_lines: int = CHUNK_LINES, workers: int | None = None) -> Iterator[Read]:
    """Every report of ``file``, as ``parser.parse`` reads it; JSON Lines are read a batch of lines at a
    time (checked in columns when ``parser`` is a FastReportParser).

    JSON Lines are recognised as ``report_json.json_lines`` does when the first non-blank line is a
    complete JSON value and another non-blank line follows; lines are numbered as ``bytes.splitlines``
    numbers them. ``progress(n)`` is told the bytes read; ``chunk_lines`` lines are checked together, by
    ``workers`` processes (``parallel_workers`` decides when None; 0: in this one) when ``file`` is a regular
    file, which they read their lines from, else in this one."""
    if _file_size(file) is None:
        workers = 0
    elif workers is None:
        workers = parallel_workers(file)
    origin = file.tell() if workers > 0 else 0  # where the lines the workers read start
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
    blocks = chain([b"".join(head)], _blocks(file, progress))
    if not isinstance(parser, FastReportParser):
        for batch in _batches(blocks, chunk_lines):
            yield from (parser.parse_one(raw, line) for line, raw in batch)
    elif workers > 0:
        yield from read_spans(_spans(blocks, chunk_lines, origin), file.fileno(), parser, workers)
    else:
        for batch in _batches(blocks, chunk_lines):
            yield from parser.parse_chunk(batch)


def _batches(blocks: Iterable[bytes], chunk_lines: int) -> Iterator[list[tuple[int, bytes]]]:
    """The non-blank lines of ``blocks`` (blocks of whole lines) with their numbers, ``chunk_lines`` at a time
    (the last batch may hold fewer)."""
    number = 0
    batch: list[tuple[int, bytes]] = []
    for block in blocks:
        lines = block.splitlines()
        batch += [(n, raw) for n, raw in enumerate(lines, number + 1) if raw.strip()]
        number += len(lines)
        whole = len(batch) - len(batch) % chunk_lines
        for start in range(0, whole, chunk_lines):
            yield batch[start:start + chunk_lines]
        del batch[:whole]
    if batch:
        yield batch


Span = tuple[int, int, int]
"""Whole lines of a file: the number of the first line, the offset where they start and their length."""
_SPACE = frozenset(b" \t\n\r\x0b\x0c")
"""The bytes ``bytes.strip`` strips."""


def _spans(blocks: Iterable[bytes], chunk_lines: int, offset: int) -> Iterator[Span]:
    """Where the batches ``_batches`` makes of ``blocks`` (blocks of whole lines read from ``offset`` of a file
    on) lie in the file: ``_numbered`` of the lines of each span is one. Only the line ends are looked for
    here, so that the lines are split and copied by the process that checks them."""
    first = 1  # the number of the first line of the span gathered
    start = offset  # where the span gathered starts
    kept = 0  # its non-blank lines
    lines = 0  # the lines before this block
    for block in blocks:
        ends, count = _nonblank_ends(block)
        for end, through in ends[chunk_lines - kept - 1::chunk_lines]:
            yield first, start, offset + end - start
            first, start = lines + through + 1, offset + end
        kept = (kept + len(ends)) % chunk_lines
        lines += count
        offset += len(block)
    if kept:
        yield first, start, offset - start


def _nonblank_ends(block: bytes) -> tuple[list[tuple[int, int]], int]:
    """Where each non-blank line of ``block`` ends (after its line break) with the number of lines of ``block``
    up to it, and how many lines ``block`` holds, lines being those of ``block.splitlines()``."""
    if b"\r" in block:
        lines = block.splitlines(keepends=True)
        ends = accumulate(map(len, lines))
        return [(end, n) for n, (end, line) in enumerate(zip(ends, lines, strict=True), 1) if line.strip()], len(lines)
    found: list[tuple[int, int]] = []
    start = count = 0
    while start < len(block):
        end = block.find(b"\n", start) + 1 or len(block)  # the last line may have no line break
        count += 1
        if block[start] not in _SPACE or block[start:end].strip():
            found.append((end, count))
        start = end
    return found, count


def _numbered(first: int, text: bytes) -> list[tuple[int, bytes]]:
    """The non-blank lines of ``text`` with their numbers, that of its first line being ``first``."""
    return [(number, raw) for number, raw in enumerate(text.splitlines(), first) if raw.strip()]


PARALLEL_BYTES = 8 << 20
"""Inputs from this size on are checked by worker processes (below it, starting them costs more than it saves)."""
_WORKER_PARSER: FastReportParser | None = None  # the parser a forked worker inherits


def parallel_workers(file: BinaryIO) -> int:
    """How many worker processes check ``file``: two on a machine with two cores or more when it is a regular
    file of at least PARALLEL_BYTES, else none."""
    size = _file_size(file)
    return 2 if size is not None and size >= PARALLEL_BYTES and (os.cpu_count() or 1) >= 2 and _can_fork() else 0


def _file_size(file: BinaryIO) -> int | None:
    """The size of ``file`` when it is a regular file read as it is (not through a decompressor, say), whose
    bytes other processes can read from its descriptor; else None."""
    raw = getattr(file, "raw", file)  # a buffered file's own file
    if not isinstance(raw, io.FileIO):
        return None
    status = os.fstat(raw.fileno())
    return status.st_size if stat.S_ISREG(status.st_mode) else None  # not a pipe


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def read_spans(spans: Iterator[Span], fd: int, parser: FastReportParser, workers: int) -> Iterator[Read]:
    """``parser.parse_chunk`` of the lines of each span of file ``fd``, in order, by ``workers`` forked
    processes, while this one reads ahead (at most two spans a worker) and goes on with what it is given. A
    worker inherits ``parser`` (with its clock) and ``fd``, reads and splits its span itself and leaves what it
    read in a file of a temporary folder (see ``_parse_in_worker``), which this process loads and removes: what
    a worker reads is exactly what this process would read."""
    global _WORKER_PARSER
    _WORKER_PARSER = parser
    try:
        with tempfile.TemporaryDirectory(prefix="osmo-read-") as folder, ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker) as pool:
            pending: deque[Future[str]] = deque()
            for number, span in enumerate(spans):
                pending.append(pool.submit(_parse_in_worker, fd, span, os.path.join(folder, str(number))))
                if len(pending) >= 2 * workers:
                    yield from _load(pending.popleft().result())
            while pending:
                yield from _load(pending.popleft().result())
    finally:
        _WORKER_PARSER = None


def _start_worker() -> None:
    """A worker ignores Ctrl-C (the reading process stops, and stops its workers), and its garbage collector
    leaves alone the objects it inherits (``gc.freeze``): going through them again and again would cost time,
    and copies of the memory it shares with the reading process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()


def _parse_in_worker(fd: int, span: Span, path: str) -> str:
    """Checks the lines of ``span`` of file ``fd`` and pickles what it read into file ``path``, which it returns.
    A file takes it at once, where the pipe back to the reading process (64 KiB) would hold the worker until
    the reading process had taken it all."""
    assert _WORKER_PARSER is not None, "a worker process must be forked from the reading one"
    first, offset, length = span
    parts: list[bytes] = []
    read = 0
    while read < length:  # one pread gives at most about 2 GiB
        part = os.pread(fd, length - read, offset + read)
        if not part:
            raise OSError(f"the input file changed while it was read (at byte {offset + read})")
        parts.append(part)
        read += len(part)
    reads = _WORKER_PARSER.parse_chunk(_numbered(first, b"".join(parts)))
    with open(path, "wb") as out:
        pickle.dump(reads, out, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _load(path: str) -> list[Read]:
    """What a worker left in file ``path``, which is removed."""
    with open(path, "rb") as file:
        reads: list[Read] = pickle.load(file)
    os.remove(path)
    return reads


def _blocks(file: BinaryIO, progress: Callable[[int], None] | None, size: int = 1 << 20) -> Iterator[bytes]:
    """The rest of ``file`` in blocks of whole lines (each ends with a newline, but perhaps the last)."""
    tail = b""
    while data := file.read(size):
        if progress:
            progress(len(data))
        cut = data.rfind(b"\n") + 1
        if not cut:
            tail += data
            continue
        yield tail + data[:cut]
        tail = data[cut:]
    if tail:
        yield tail
