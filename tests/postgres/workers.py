"""Helpers of the PostgreSQL tests: report generation, and the bodies of the processes they spawn.

Spawned processes import this module by name, so everything they run lives here (not in test files).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event
from typing import Any

from osmo.domain.events import NO_STREAM, NewEvent
from tests.builders import SEED_IDS

START = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _line(rng: random.Random, duration: int) -> dict[str, int]:
    attempted = rng.randint(5, 60)
    hits = rng.randint(0, attempted)
    kills = rng.randint(0, 8)
    return {
        "attempted_attacks": attempted, "hits": hits, "damage_done": hits * rng.randint(3, 14), "kills": kills,
        "first_hit_kills": rng.randint(0, kills), "assists": rng.randint(0, 11), "spells_cast": rng.randint(0, 9),
        "spell_damage": rng.randint(0, 300), "time_played": rng.randint(60, duration),
        "headshots": rng.randint(0, hits), "deaths": rng.randint(0, 6),
    }


def reports(prefix: str, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` valid wire reports ``<prefix>-<n>`` between the ten seed players (awards happen often)."""
    rng = random.Random(seed)
    out = []
    for number in range(count):
        size = rng.randint(3, 5)
        players = rng.sample(SEED_IDS, 2 * size)
        duration = rng.randint(600, 1800)
        start = START + timedelta(minutes=37 * number)
        out.append({
            "game_id": f"{prefix}-{number}",
            "started_at": _stamp(start),
            "finished_at": _stamp(start + timedelta(seconds=duration)),
            "winner": rng.randint(0, 1),
            "teams": [[{"player_id": p, "stats": _line(rng, duration)} for p in side]
                      for side in (players[:size], players[size:])],
        })
    return out


def append_events(url: str, worker: int, transactions: int, ready: Event, go: Event) -> None:
    """Append ``i % 5 + 1`` events in transaction ``i``, with short pauses inside the transactions so
    that the writers of several processes contend for the append lock."""
    from osmo.adapters.postgres import PostgresDatabase

    rng = random.Random(worker)
    database = PostgresDatabase(url)
    ready.set()
    go.wait(30)
    sequence = 0
    try:
        for number in range(transactions):
            with database.transaction() as tx:
                batch = []
                for _ in range(number % 5 + 1):
                    batch.append(NewEvent(f"w{worker}-{sequence}", "Appended", {"worker": worker, "seq": sequence},
                                          uuid.uuid4(), NO_STREAM))
                    sequence += 1
                tx.events.append(batch)
                if rng.random() < 0.3:
                    time.sleep(rng.random() * 0.004)
    finally:
        database.close()


def record(url: str, games: list[dict[str, Any]], chunk_size: int, ready: Event, go: Event,
           results: Any) -> None:
    """Record ``games`` through the record use case, like one game server's batch; put the counts."""
    from osmo.application.play import submissions
    from osmo.application.recording import record_games
    from osmo.bootstrap import bootstrap

    app = bootstrap(url)
    try:
        app.uow.catalog()
        ready.set()
        go.wait(30)
        result = record_games(app.uow, submissions(games), chunk_size=chunk_size)
        results.put((result.recorded, result.duplicates, len(result.rejected), len(result.unlocked)))
    finally:
        app.close()


def collect(results: Any, processes: list[Any], count: int, timeout: float = 60) -> list[Any]:
    """``count`` results from the queue, failing fast when a process died without putting one."""
    import queue

    out: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        try:
            out.append(results.get(timeout=0.2))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if dead:
                raise AssertionError(f"a worker process failed (exit codes {dead})") from None
            if time.monotonic() > deadline:
                raise AssertionError("the worker processes did not finish in time") from None
    return out
