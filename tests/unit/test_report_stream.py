"""Streaming JSON Lines: worker processes read exactly what the reading process reads.

A worker is given a span of the input file (``report_fast._spans``) and splits its lines itself; each span
must hold the batch the reading process makes of the same lines (``report_fast._batches``), numbered alike,
across blank lines, lines ending in "\\r" or "\\r\\n" and the blocks the file is read in.
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from osmo.adapters import report_fast
from osmo.adapters.report_fast import FastReportParser, stream_submissions
from osmo.application.game_chunk import GameChunk
from tests.unit.support import PROPERTY, shipped_catalog

CATALOG = shipped_catalog()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
forking = pytest.mark.skipif(not report_fast._can_fork(), reason="worker processes are forked")

PIECES = [b"\n", b"\r", b"\r\n", b"\n\n", b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x85", b"{}", b"x", b"ab"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join)


@given(TEXT, TEXT, st.integers(0, 3), st.integers(1, 16), st.sampled_from([1, 2, 3, 7]))
@PROPERTY
def test_each_span_holds_a_batch_of_the_reading_process(before: bytes, content: bytes, head_lines: int,
                                                       block_size: int, chunk_lines: int) -> None:
    """``before``: what precedes the input in the file; ``head_lines``: lines read one by one first, as
    ``stream_submissions`` reads the head of a file."""
    with tempfile.TemporaryFile() as file:
        file.write(before + content)
        file.seek(len(before))
        head = [file.readline() for _ in range(head_lines)]
        blocks = [b"".join(head), *report_fast._blocks(file, None, block_size)]
        spans = [report_fast._numbered(first, os.pread(file.fileno(), length, offset))
                 for first, offset, length in report_fast._spans(blocks, chunk_lines, len(before))]
    batches = list(report_fast._batches(blocks, chunk_lines))
    assert spans == batches
    assert [line for batch in batches for line in batch] == [
        (number, raw) for number, raw in enumerate(content.splitlines(), 1) if raw.strip()]


def report(game_id: str, **changes: Any) -> bytes:
    data: dict[str, Any] = {
        "game_id": game_id, "started_at": "2026-11-28T10:00:00Z", "finished_at": "2026-11-28T10:25:00Z",
        "winner": 0,
        "teams": [[{"player_id": f"{side}{i}", "stats": {"attempted_attacks": 40, "hits": 31, "kills": 2}}
                   for i in range(3)] for side in ("red-", "blue-")]}
    data.update(changes)
    return orjson.dumps(data)


def awkward_input() -> bytes:
    """JSON Lines with CRLF line ends, blank and space-only lines, a broken line, an invalid report and a
    report the fast path leaves to the pydantic reader, with no line break at the end."""
    lines = [report(f"g{i}") for i in range(40)]
    lines[7] = b"{not json"
    lines[12] = report("bad", color="red")
    lines[20] = report("slow", started_at="2026-11-28 10:00:00+01:00")
    return b"\r\n".join(lines[:10]) + b"\r\n\n  \n\x0c\n" + b"\n".join(lines[10:30]) + b"\n\n" + b"\n".join(lines[30:])


def read(file: BinaryIO, chunk_lines: int, workers: int) -> list[tuple[Any, ...]]:
    """What ``stream_submissions`` gives, comparably."""
    found: list[tuple[Any, ...]] = []
    for read in stream_submissions(file, FastReportParser(CATALOG, NOW), chunk_lines=chunk_lines, workers=workers):
        if isinstance(read, GameChunk):
            found.append(("chunk", read.lines, read.indexes, read.game_ids, read.payloads, read.player_ids,
                          read.values.tolist(), read.teams.tolist(), read.starts.tolist(), read.event_ids))
        else:
            found.append(("one", read.line, read.game_id, read.error, read.game))
    return found


@forking
@pytest.mark.parametrize("chunk_lines", [1, 4, 1000])
def test_worker_processes_read_what_this_process_reads(tmp_path: Path, chunk_lines: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "games.jsonl"
    path.write_bytes(awkward_input())
    calls: list[object] = []
    read_spans = report_fast.read_spans

    def spy(*args: Any) -> Iterator[Any]:
        calls.append(args)
        return read_spans(*args)

    monkeypatch.setattr(report_fast, "read_spans", spy)
    with path.open("rb") as file:
        in_workers = read(file, chunk_lines, 2)
    assert calls, "not read by worker processes"
    with path.open("rb") as file:
        here = read(file, chunk_lines, 0)
    assert in_workers == here
    assert [(r[1], r[3] is not None) for r in here if r[0] == "one"] == [(8, True), (16, True), (24, False)]


def test_a_stream_that_is_not_a_regular_file_as_it_is_is_read_in_this_process(tmp_path: Path) -> None:
    """Memory, or a compressed file (whose descriptor holds other bytes than those read)."""
    path = tmp_path / "games.jsonl"
    path.write_bytes(awkward_input())
    with path.open("rb") as file:
        expected = read(file, 4, 0)
    assert read(io.BytesIO(awkward_input()), 4, 2) == expected
    with gzip.open(tmp_path / "games.jsonl.gz", "wb") as compressed:
        compressed.write(awkward_input())
    with gzip.open(tmp_path / "games.jsonl.gz", "rb") as compressed:
        assert read(cast(BinaryIO, compressed), 4, 2) == expected


@forking
def test_the_workers_results_are_removed_even_when_reading_stops_early(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "games.jsonl"
    path.write_bytes(b"\n".join(report(f"g{i}") for i in range(50)))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with path.open("rb") as file:
        reads = stream_submissions(file, FastReportParser(CATALOG, NOW), chunk_lines=2, workers=2)
        assert isinstance(reads, Generator)
        assert isinstance(next(reads), GameChunk)
        reads.close()
    assert not list((tmp_path / "tmp").iterdir())
