"""Faults, with ``osmo serve`` as real processes and a nats-server of the test's own: kill -9 mid-batch,
nats-server restarted mid-stream, PostgreSQL unreachable mid-stream, two processes consuming at once.
After each: every report recorded once, no award twice, every event published once and in order."""

from __future__ import annotations

import asyncio
import collections
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from osmo.entrypoints.nats_services import NatsConfig
from osmo.entrypoints.nats_services.streams import ensure_consumer, ensure_streams
from tests.conftest import PgSchema
from tests.nats.conftest import (
    ROOT,
    NatsServer,
    Serve,
    await_for,
    check_events_published,
    connected,
    final_state,
    game_count,
    publish_reports,
    seeded,
    store_events,
    wait_for,
)
from tests.pg_proxy import PgProxy
from tests.postgres.workers import reports

Serves = Callable[..., Serve]


async def prepare(url: str, ack_wait: float = 2.0) -> None:
    """The streams and the consumer, with a short ack wait (osmo keeps an existing consumer's settings)."""
    async with connected(url) as nc:
        js = nc.jetstream()
        config = NatsConfig(ack_wait=ack_wait)
        await ensure_streams(js, config, reports=True, events=True)
        await ensure_consumer(js, config)


async def settled(url: str, db: str, count: int, timeout: float = 40) -> None:
    """``count`` games recorded, every report acked, every event published once in order."""
    await await_for(lambda: game_count(db) == count, timeout, f"{count} games recorded")
    async with connected(url) as nc:
        js = nc.jetstream()
        for _ in range(200):
            info = await js.consumer_info("OSMO_REPORTS", "osmo-recorder")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.1)
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
        assert (await js.stream_info("OSMO_REJECTED")).state.messages == 0
        await check_events_published(nc, db)
    check_once(db, count)


def check_once(db: str, count: int) -> None:
    events = store_events(db)
    games = [e.data["game_id"] for e in events if e.type == "GameRecorded"]
    assert len(games) == len(set(games)) == count
    unlocks = collections.Counter((e.data["player_id"], e.data["award_id"]) for e in events
                                  if e.type == "AwardUnlocked")
    assert unlocks and max(unlocks.values()) == 1, "an award granted twice"


def test_kill_9_mid_batch_then_restart(tmp_path: Path, nats_server: NatsServer, serves: Serves) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    games = reports("k", 1500, seed=11)
    asyncio.run(prepare(nats_server.url))
    first = serves(db, nats_server.url)

    async def publish() -> None:
        async with connected(nats_server.url) as nc:
            await publish_reports(nc, games)

    asyncio.run(publish())
    wait_for(lambda: game_count(db) > 0, 30, "a first batch", step=0.02)
    first.kill()
    recorded = game_count(db)
    assert 0 < recorded < len(games), "killed too late to be mid-stream"
    serves(db, nats_server.url)
    asyncio.run(settled(nats_server.url, db, len(games)))


def test_nats_server_restarted_mid_stream_loses_nothing(tmp_path: Path, nats_server: NatsServer,
                                                       serves: Serves) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    games = reports("n", 600, seed=12)
    asyncio.run(prepare(nats_server.url))  # acks lost in the restart: redelivered after 2 s, duplicates then
    serve = serves(db, nats_server.url)

    async def main() -> None:
        async with connected(nats_server.url) as nc:
            await publish_reports(nc, games[:300])
            nats_server.stop()
            await asyncio.sleep(0.5)
            nats_server.start()
            for _ in range(100):
                if nc.is_connected:
                    break
                await asyncio.sleep(0.1)
            await publish_reports(nc, games[300:])
        await settled(nats_server.url, db, len(games))

    asyncio.run(main())
    assert serve.terminate() == 0, serve.log  # SIGTERM: drained, exit 0
    assert "reconnected" in serve.log


@pytest.mark.postgres
def test_postgres_unreachable_mid_stream_reports_wait_then_are_recorded(
        pg_schema: PgSchema, nats_server: NatsServer, serves: Serves) -> None:
    db = seeded(pg_schema.url)
    proxy = PgProxy()
    through_proxy = proxy.url(pg_schema.name)
    games = reports("p", 300, seed=13)
    try:
        serves(through_proxy, nats_server.url, env={"OSMO_PG_TIMEOUT": "2"})

        async def main() -> None:
            async with connected(nats_server.url) as nc:
                await publish_reports(nc, games[:100])
                await await_for(lambda: game_count(db) == 100, 20, "the first reports recorded")
                proxy.sever()
                await publish_reports(nc, games[100:])
                reply = await nc.request("osmo.players.list", b"", timeout=10)
                assert reply.headers and reply.headers["Nats-Service-Error-Code"] == "503"
                assert "unavailable" in orjson.loads(reply.data)["error"]
                await asyncio.sleep(2)
                assert game_count(db) == 100  # waiting, not lost
                info = await nc.jetstream().consumer_info("OSMO_REPORTS", "osmo-recorder")
                assert info.num_pending + info.num_ack_pending == 200
                proxy.restore()
            await settled(nats_server.url, db, len(games), timeout=60)

        asyncio.run(main())
    finally:
        proxy.close()


def record_file(db: str, games: list[dict[str, Any]], path: Path) -> None:
    path.write_bytes(b"\n".join(orjson.dumps(g) for g in games))
    subprocess.run([sys.executable, "-m", "osmo", "--db", db, "record", str(path), "--json"], check=True,
                   cwd=ROOT, stdout=subprocess.DEVNULL)


ORDERED = ("current_win_streak", "best_win_streak")


def order_free(state: dict[str, Any]) -> dict[str, Any]:
    """What does not depend on the order games were recorded in: careers but the streaks."""
    return {p: {k: v for k, v in profile["career"].items() if k not in ORDERED} for p, profile in state.items()}


@pytest.mark.postgres
def test_two_serve_processes_at_once_reach_the_state_of_osmo_record(
        tmp_path: Path, pg_schema: PgSchema, nats_server: NatsServer, serves: Serves) -> None:
    db = seeded(pg_schema.url)
    games = reports("t", 1200, seed=14)
    asyncio.run(prepare(nats_server.url, ack_wait=30))
    for _ in range(2):
        serves(db, nats_server.url)

    async def main() -> None:
        async with connected(nats_server.url) as nc:
            await publish_reports(nc, games)
        await settled(nats_server.url, db, len(games))

    asyncio.run(main())
    served = final_state(db)
    # osmo record of the same reports, in the order the services recorded them: the same state exactly
    by_id = {g["game_id"]: g for g in games}
    order = [e.data["game_id"] for e in store_events(db) if e.type == "GameRecorded"]
    same_order = seeded(str(tmp_path / "same-order.db"))
    record_file(same_order, [by_id[g] for g in order], tmp_path / "same-order.jsonl")
    assert served == final_state(same_order)
    # and in publish order: the same careers (streaks follow the recorded order, which two consumers interleave)
    published = seeded(str(tmp_path / "published.db"))
    record_file(published, games, tmp_path / "published.jsonl")
    assert order_free(served) == order_free(final_state(published))
