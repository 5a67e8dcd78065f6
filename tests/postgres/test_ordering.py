"""Global order on PostgreSQL: concurrent appenders (processes) and followers (LISTEN/NOTIFY and
snapshot polling) agree on one contiguous sequence of positions, each event seen once."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from itertools import pairwise

import pytest

from osmo.adapters.postgres import PostgresDatabase
from osmo.domain.events import NO_STREAM, NewEvent, RecordedEvent
from tests.conftest import PgSchema
from tests.postgres.workers import append_events

pytestmark = pytest.mark.postgres

WORKERS = 4
TRANSACTIONS = 60
PER_WORKER = sum(n % 5 + 1 for n in range(TRANSACTIONS))
TOTAL = WORKERS * PER_WORKER


def poll_snapshots(url: str, total: int, seen: list[RecordedEvent], failures: list[str]) -> None:
    """Follow by polling ``read_all`` in snapshot readers, as a consumer without LISTEN would."""
    database = PostgresDatabase(url)
    deadline = time.monotonic() + 60
    try:
        while len(seen) < total and time.monotonic() < deadline:
            with database.reader() as tx:
                seen.extend(tx.events.read_all(after=seen[-1].position if seen else 0, limit=37))
            time.sleep(0.001)
    except Exception as error:  # surfaced by the test thread
        failures.append(repr(error))
    finally:
        database.close()


def test_concurrent_appenders_and_followers_see_one_contiguous_order(pg_schema: PgSchema) -> None:
    database = PostgresDatabase(pg_schema.url)  # migrated once, before the writers start
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    readies = [context.Event() for _ in range(WORKERS)]
    processes = [context.Process(target=append_events, args=(pg_schema.url, w, TRANSACTIONS, readies[w], go))
                 for w in range(WORKERS)]
    polled: list[RecordedEvent] = []
    failures: list[str] = []
    poller = threading.Thread(target=poll_snapshots, args=(pg_schema.url, TOTAL, polled, failures))
    for process in processes:
        process.start()
    try:
        for ready in readies:
            assert ready.wait(30), "an appender process did not start"
        poller.start()
        go.set()
        followed = list(database.follow(after=0, batch=50, wait=0.5, until=TOTAL, idle=30))
    finally:
        for process in processes:
            process.join(30)
        poller.join(60)
        database.close()
    assert [p.exitcode for p in processes] == [0] * WORKERS
    assert failures == []

    for seen in (followed, polled):
        assert [e.position for e in seen] == list(range(1, TOTAL + 1)), "a gap, a repeat or a reordering"
        assert len({e.event_id for e in seen}) == TOTAL
        for worker in range(WORKERS):
            mine = [e.data["seq"] for e in seen if e.data["worker"] == worker]
            assert mine == list(range(PER_WORKER)), f"worker {worker}'s events out of commit order"
    assert [e.event_id for e in followed] == [e.event_id for e in polled]
    runs = sum(1 for a, b in pairwise(followed) if a.data["worker"] != b.data["worker"])
    assert runs > WORKERS, "the appenders did not interleave: the test exercised no concurrency"


def test_an_event_committed_late_is_not_skipped(pg_schema: PgSchema) -> None:
    """A writer that appended first but commits late keeps the lower position; the next writer waits
    for it, so a follower reading in between sees neither, then both in order."""
    slow, fast, follower = (PostgresDatabase(pg_schema.url) for _ in range(3))
    appended = threading.Event()
    release = threading.Event()
    fast_done = threading.Event()

    def slow_writer() -> None:
        with slow.transaction() as tx:
            tx.events.append([NewEvent("slow", "Appended", {"who": "slow"}, uuid.uuid4(), NO_STREAM)])
            appended.set()
            release.wait(10)

    def fast_writer() -> None:
        with fast.transaction() as tx:
            tx.events.append([NewEvent("fast", "Appended", {"who": "fast"}, uuid.uuid4(), NO_STREAM)])
        fast_done.set()

    threads = [threading.Thread(target=slow_writer)]
    threads[0].start()
    try:
        assert appended.wait(10)
        threads.append(threading.Thread(target=fast_writer))
        threads[1].start()
        assert not fast_done.wait(0.3), "a second writer appended while the first held the append lock"
        with follower.reader() as tx:
            assert list(tx.events.read_all()) == []
        release.set()
        events = list(follower.follow(after=0, until=2, idle=10, wait=0.2))
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
        for db in (slow, fast, follower):
            db.close()
    assert [(e.position, e.data["who"]) for e in events] == [(1, "slow"), (2, "fast")]


def test_follow_wakes_on_notify_and_stops_when_idle(pg_schema: PgSchema) -> None:
    writer, reader = PostgresDatabase(pg_schema.url), PostgresDatabase(pg_schema.url)
    try:
        def write_later() -> None:
            time.sleep(0.3)
            with writer.transaction() as tx:
                tx.events.append([NewEvent("late", "Appended", {}, uuid.uuid4(), NO_STREAM)])

        thread = threading.Thread(target=write_later)
        started = time.monotonic()
        thread.start()
        # wait=30: only a notification can wake the follower before the idle deadline
        events = list(reader.follow(after=0, wait=30, idle=1.5))
        elapsed = time.monotonic() - started
        thread.join()
        assert [e.stream for e in events] == ["late"]
        assert 1.5 <= elapsed < 5
        stops = iter([False, True])
        assert list(reader.follow(after=1, wait=0.05, stop=lambda: next(stops))) == []
    finally:
        writer.close()
        reader.close()
