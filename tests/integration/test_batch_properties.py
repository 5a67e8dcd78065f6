"""The batch record path equals the one-game path.

The same JSON Lines input (valid games, exact repeats, repeats with other content, invalid reports, games
already stored, players in many games of one chunk) is recorded with ``--skip-invalid`` twice: through what
``osmo record`` runs (the msgspec reader streaming the file, the file spool, runs of games folded and
evaluated at once) and through the reference (the pydantic reader on the whole input, every subscriber
handling one game at a time). Both give the same events (types, streams, versions, data, metadata, in order),
careers, game lines, unlocks and result.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osmo.adapters.catalog_files import load_catalog
from osmo.adapters.report_fast import FastReportParser, stream_submissions
from osmo.adapters.report_json import ReportParser
from osmo.adapters.spool import FileSpool
from osmo.application.players import register_seed_players
from osmo.application.ports import GameRun, Transaction
from osmo.application.projections import projectors
from osmo.application.recording import RecordResult, record_games
from osmo.application.subscribers import Subscriber
from osmo.application.unit_of_work import UnitOfWork
from osmo.bootstrap import App, bootstrap, live_subscribers
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent
from tests.builders import SEED_IDS
from tests.conftest import PgSchema, pg_admin_url

SQLITE = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
POSTGRES = settings(SQLITE, max_examples=8)


class OneByOne:
    """A subscriber without ``handle_games``: the dispatcher hands it one event at a time."""

    def __init__(self, inner: Subscriber) -> None:
        self.inner = inner
        self.name = inner.name

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        return self.inner.handle(tx, event, catalog)


@contextmanager
def fresh_app(backend: str) -> Iterator[App]:
    schema = None
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            url = str(Path(folder) / "osmo.db")
        else:
            schema = PgSchema(pg_admin_url())
            url = schema.url
        app = bootstrap(url)
        try:
            register_seed_players(app.uow)
            yield app
        finally:
            app.close()
            if schema is not None:
                schema.drop()


def one_by_one(app: App) -> UnitOfWork:
    return UnitOfWork(app.database, builtin=load_catalog,
                      subscribers=lambda: [OneByOne(s) for s in live_subscribers()], projectors=projectors)


# -- strategies -------------------------------------------------------------------------------------

PLAYERS = (*SEED_IDS, "nobody")  # "nobody" is not registered


@st.composite
def report(draw: st.DrawFn, index: int) -> dict[str, Any]:
    size = draw(st.integers(3, 5))
    pool = PLAYERS if draw(st.integers(0, 15)) == 0 else SEED_IDS
    players = draw(st.permutations(pool))[: 2 * size]
    minutes = draw(st.integers(1, 30))
    begun = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=index)

    def stats() -> dict[str, int]:
        attempts = draw(st.integers(0, 40))
        hits = draw(st.integers(0, attempts))
        kills = draw(st.integers(0, 20))
        return {"attempted_attacks": attempts, "hits": hits, "headshots": draw(st.integers(0, hits)),
                "kills": kills, "deaths": draw(st.integers(0, 3)), "assists": draw(st.integers(0, 12)),
                "damage_done": draw(st.sampled_from([0, 10, 499, 500, 501, 2**31 - 1])),
                "time_played": draw(st.integers(0, minutes * 60))}

    lines = [{"player_id": p, "stats": stats()} for p in players]
    data: dict[str, Any] = {
        "game_id": f"g{draw(st.integers(0, index))}" if draw(st.integers(0, 8)) == 0 else f"g{index}",
        "started_at": begun.isoformat().replace("+00:00", "Z"),
        "finished_at": (begun + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "winner": draw(st.integers(0, 1)), "teams": [lines[:size], lines[size:]],
    }
    if draw(st.booleans()):
        data["metadata"] = {"mode": draw(st.sampled_from(["ranked", "casual"]))}
    team, other = data["teams"]
    match draw(st.integers(0, 60)):
        case 0:
            team[0]["stats"]["hits"] = -1
        case 1:
            other[0]["stats"]["bogus"] = 1
        case 2:
            data["started_at"] = "2026-01-01 10:00:00+01:00"  # valid, but not the fast reader's form
        case 3:
            data["started_at"] = begun.isoformat()  # +00:00: valid, read by the fast reader, stored with Z
        case 4:
            data["finished_at"] = (begun + timedelta(minutes=minutes, microseconds=1500)).isoformat()
        case 5:
            data["finished_at"] = "2026-02-30T10:00:00Z"  # no such day
        case 6:
            data["finished_at"] = "2026-01-01T23:59:60Z"
        case 7:
            data["finished_at"] = data["started_at"]
        case 8:
            data["finished_at"] = "2999-01-01T00:00:00Z"  # in the future
        case 9:
            other[0]["player_id"] = team[0]["player_id"]  # plays twice
        case 10:
            team[1]["player_id"] = "bad\u0007id"
        case 11:
            team[0]["stats"]["hits"] = team[0]["stats"]["attempted_attacks"] + 1  # beyond its bound
        case 12:
            other[0]["stats"]["time_played"] = minutes * 60 + 1  # longer than the game
        case 13:
            data["game_id"] = "   "
        case 14:
            data["winner"] = 2
        case 15:
            data["teams"] = [team, other[:-1]]
        case 16:
            data["metadata"] = {"deep": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}
        case 17:
            data["game_id"] = "g\u00a0" + data["game_id"]  # a no-break space: valid, not isprintable
        case 18:
            data["started_at"] = "0000-01-01T00:00:00Z"
        case 19:
            data["finished_at"] = (begun + timedelta(minutes=minutes + 60)).isoformat().replace("+00:00", "+00:60")
        case _:
            pass
    return data


@st.composite
def inputs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Reports stored before, and the lines of the input (some repeat earlier lines exactly)."""
    count = draw(st.integers(1, 90))
    reports = [draw(report(i)) for i in range(count)]
    lines = [orjson.dumps(r) for r in reports]
    for _ in range(draw(st.integers(0, 5))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(lines)))
    if draw(st.integers(0, 10)) == 0:
        lines.insert(draw(st.integers(0, len(lines))), b"{not json")
    before = draw(st.lists(st.sampled_from(reports), max_size=5))
    return before, lines


# -- the comparison ---------------------------------------------------------------------------------

def state(app: App) -> dict[str, Any]:
    with app.uow.read() as reader:
        tx = reader.tx
        events = [(e.position, e.stream, e.version, e.type, e.data, e.metadata, e.event_id)
                  for e in tx.events.read_all()]
        careers = tx.careers.careers(SEED_IDS)
        blocks = list(tx.lines.line_blocks())
        lines = [(b.positions.tolist(), b.keys.tolist(), b.teams.tolist(), b.game.tolist(), b.career.tolist())
                 for b in blocks]
        unlocks = {p: [(u.award_id, u.game_id, u.game_position, u.unlocked_at, u.source, u.version)
                       for u in tx.unlocks.unlocks_of(p)] for p in SEED_IDS}
    return {"events": orjson.loads(orjson.dumps(events, default=str)), "careers": dict(careers),
            "lines": lines, "unlocks": unlocks}


def summary(result: RecordResult) -> tuple[Any, ...]:
    """What a recording tells (the clock a future finished_at is compared with read as "now")."""
    rejected = [replace(r, error=re.sub(r"the clock here reads \S+", "the clock here reads now", r.error))
                for r in result.rejected]
    return (result.recorded, result.duplicates, result.unlocked, rejected)


def record_fast(app: App, content: bytes, chunk_size: int, read: tuple[int, int, int] = (1000, 20_000, 0)
                ) -> RecordResult:
    """``read``: the reader's chunk of lines, the games the spool keeps in memory, and the worker processes (which
    read their lines from a file: the content is read from one then, else from memory)."""
    catalog = app.uow.catalog()
    lines, memory, workers = read
    with tempfile.TemporaryFile() if workers else io.BytesIO() as file:
        file.write(content)
        file.seek(0)
        reader = stream_submissions(file, FastReportParser(catalog, datetime.now(UTC)), chunk_lines=lines,
                                    workers=workers)
        return record_games(app.uow, reader, skip_invalid=True, chunk_size=chunk_size,
                            spool=FileSpool(memory_games=memory))


def record_reference(app: App, content: bytes, chunk_size: int) -> RecordResult:
    catalog = app.uow.catalog()
    return record_games(one_by_one(app), list(ReportParser(catalog).parse(content)), skip_invalid=True,
                        chunk_size=chunk_size)


def compare(backend: str, before: Sequence[dict[str, Any]], lines: Sequence[bytes], chunk_size: int,
            read: tuple[int, int, int] = (1000, 20_000, 0)) -> None:
    content = b"\n".join(lines) + b"\n"
    first = b"\n".join(orjson.dumps(r) for r in before) + b"\n"
    with fresh_app(backend) as batch, fresh_app(backend) as reference:
        if before:
            assert summary(record_fast(batch, first, chunk_size)) == summary(
                record_reference(reference, first, chunk_size))
        fast = record_fast(batch, content, chunk_size, read)
        slow = record_reference(reference, content, chunk_size)
        assert summary(fast) == summary(slow)
        assert state(batch) == state(reference)


READS = st.tuples(st.sampled_from([1, 7, 1000]), st.sampled_from([0, 20, 20_000]), st.sampled_from([0, 0, 2]))


@given(inputs(), st.sampled_from([16, 40, 500]), READS)
@SQLITE
def test_batch_path_equals_one_game_path_sqlite(case: tuple[list[dict[str, Any]], list[bytes]], chunk: int,
                                                read: tuple[int, int, int]) -> None:
    compare("sqlite", *case, chunk, read)


@pytest.mark.postgres
@given(inputs(), st.sampled_from([16, 500]))
@POSTGRES
def test_batch_path_equals_one_game_path_postgres(case: tuple[list[dict[str, Any]], list[bytes]],
                                                  chunk: int) -> None:
    compare("postgres", *case, chunk)


class WithoutReadAhead(OneByOne):
    """A subscriber that handles runs of games but reads nothing ahead (``read_ahead`` is optional)."""

    def __init__(self, inner: Subscriber) -> None:
        super().__init__(inner)
        self.runs = 0

    def handle_games(self, tx: Transaction, run: GameRun, catalog: Catalog) -> list[NewEvent]:
        self.runs += 1
        return self.inner.handle_games(tx, run, catalog)  # type: ignore[attr-defined, no-any-return]


def test_long_runs_use_the_batch_path_also_for_subscribers_that_read_nothing_ahead() -> None:
    content = b"\n".join(orjson.dumps(r) for r in long_run()) + b"\n"
    subscribers = [WithoutReadAhead(s) for s in live_subscribers()]
    with fresh_app("sqlite") as batch, fresh_app("sqlite") as reference:
        uow = UnitOfWork(batch.database, builtin=load_catalog, subscribers=lambda: subscribers,
                         projectors=projectors)
        reader = stream_submissions(io.BytesIO(content), FastReportParser(uow.catalog(), datetime.now(UTC)))
        assert summary(record_games(uow, reader, chunk_size=500)) == summary(
            record_reference(reference, content, 500))
        assert state(batch) == state(reference)
    assert all(s.runs == 1 for s in subscribers)


def long_run() -> list[dict[str, Any]]:
    """300 games of the same ten players, six a game."""
    reports = []
    for i in range(300):
        players = [SEED_IDS[(i + k) % 10] for k in range(6)]
        lines = [{"player_id": p, "stats": {"kills": (i * 7 + k) % 17, "assists": (i + k) % 11,
                                            "damage_done": (i * 31 + k) % 700}} for k, p in enumerate(players)]
        begun = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)
        reports.append({"game_id": f"g{i}", "started_at": begun.isoformat().replace("+00:00", "Z"),
                        "finished_at": (begun + timedelta(minutes=20)).isoformat().replace("+00:00", "Z"),
                        "winner": (i // 3) % 2, "teams": [lines[:3], lines[3:]]})
    return reports


def test_long_runs_use_the_batch_path() -> None:
    """A chunk of many games of the same few players folds as a block and still matches the reference."""
    compare("sqlite", [], [orjson.dumps(r) for r in long_run()], 500)
