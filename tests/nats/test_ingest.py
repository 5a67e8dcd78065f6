"""Streamed ingest and the relay, in-process over a real NATS server: reports recorded in batches and
acked after the commit, duplicates acked and counted, invalid reports dead-lettered with their error,
every committed event published once and in order (also by two relays at once, and after a restart),
and one player's unlocks followed by subject."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy

from osmo.application.recording import record_games
from osmo.bootstrap import bootstrap
from osmo.entrypoints.nats_services import NatsConfig, player_token
from osmo.entrypoints.nats_services import recorder as recorder_module
from tests.builders import wire_report
from tests.nats.conftest import (
    await_for,
    check_events_published,
    cleanup_streams,
    connected,
    final_state,
    game_count,
    publish_reports,
    seeded,
    services,
    store_events,
    stream_messages,
    unique_config,
)
from tests.postgres.workers import reports


async def consumer_idle(nc: Client, config: NatsConfig) -> bool:
    info = await nc.jetstream().consumer_info(config.reports_stream, config.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


def record_directly(db: str, batch: list[dict[str, Any]]) -> None:
    app = bootstrap(db)
    try:
        record_games(app.uow, app.parse_reports(b"\n".join(orjson.dumps(r) for r in batch)))
    finally:
        app.close()


def test_reports_are_recorded_once_acked_and_their_events_relayed(tmp_path: Path, shared_nats: str) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    reference = seeded(str(tmp_path / "reference.db"))
    config = unique_config(batch=50)
    games = reports("s", 120, seed=1)

    async def main() -> None:
        async with connected(shared_nats) as nc:
            try:
                async with services(db, shared_nats, config=config):
                    await publish_reports(nc, games[:60], config)
                    await publish_reports(nc, games[:3], config)  # same Nats-Msg-Id: dropped by JetStream
                    js = nc.jetstream()
                    await js.publish(f"{config.reports_subject}.x", orjson.dumps(games[0]),
                                     headers={"Nats-Msg-Id": "another-id"})  # reaches osmo: a duplicate
                    await publish_reports(nc, games[60:], config)
                    await await_for(lambda: game_count(db) == 120, 30, "120 games recorded")
                    await await_for_async(lambda: consumer_idle(nc, config), 10, "every report acked")
                    stats = orjson.loads((await nc.request(f"{config.subjects}.recorder.stats", b"")).data)
                    assert (stats["recorded"], stats["duplicates"], stats["dead_lettered"]) == (120, 1, 0)
                    assert 3 <= stats["batches"] <= 121
                    await check_events_published(nc, db, config)
                    assert (await js.stream_info(config.rejected_stream)).state.messages == 0
            finally:
                await cleanup_streams(nc, config)

    asyncio.run(main())
    record_directly(reference, games)
    assert final_state(db) == final_state(reference)  # same order: the same careers, unlocks and times


async def await_for_async(check: Any, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_invalid_reports_are_dead_lettered_with_their_error(tmp_path: Path, shared_nats: str) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    config = unique_config()
    good = reports("ok", 4, seed=2)
    stranger = wire_report("bad-player", players=("uther", "thrall", "rexxar", "guldan", "morgl", "nobody"))
    invalid: list[tuple[bytes, str]] = [
        (orjson.dumps(stranger), "'nobody' is not registered"),
        (b"{not json", "not valid JSON"),
        (orjson.dumps([good[0]]), "must be an object"),  # one report per message
        (orjson.dumps({**good[1], "game_id": "future", "finished_at": "2999-01-01T00:00:00Z"}), "future"),
    ]

    async def main() -> None:
        async with connected(shared_nats) as nc:
            try:
                async with services(db, shared_nats, config=config):
                    js = nc.jetstream()
                    await publish_reports(nc, good[:2], config)
                    for number, (data, _) in enumerate(invalid):
                        await js.publish(f"{config.reports_subject}.eu.1", data, headers={"Nats-Msg-Id": f"i{number}"})
                    await publish_reports(nc, good[2:], config)
                    conflicting = {**good[0], "winner": 1 - good[0]["winner"]}
                    await js.publish(f"{config.reports_subject}.eu.1", orjson.dumps(conflicting))
                    await await_for(lambda: game_count(db) == 4, 20, "the valid reports recorded")
                    await await_for_async(lambda: consumer_idle(nc, config), 10, "every report settled")
                    dead = await stream_messages(nc, config.rejected_stream)
                    assert len(dead) == len(invalid) + 1
                    for message, (data, error) in zip(dead, invalid, strict=False):
                        assert message.subject == f"{config.rejected_subject}.eu.1"
                        assert message.data == data and error in message.headers["Osmo-Error"]
                        assert message.headers["Osmo-Original-Subject"] == f"{config.reports_subject}.eu.1"
                    assert "different content" in dead[-1].headers["Osmo-Error"]
            finally:
                await cleanup_streams(nc, config)

    asyncio.run(main())


def test_a_bug_on_one_report_is_retried_then_dead_lettered_never_dropped(
        tmp_path: Path, shared_nats: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    config = unique_config(max_bug_deliveries=2)
    games = reports("b", 5, seed=3)
    original = recorder_module.Parsers.record

    def flaky(self: Any, app: Any, payloads: list[bytes]) -> Any:
        if any(b'"b-2"' in p for p in payloads):
            raise RuntimeError("a bug on b-2")
        return original(self, app, payloads)

    monkeypatch.setattr(recorder_module.Parsers, "record", flaky)

    async def main() -> None:
        async with connected(shared_nats) as nc:
            try:
                async with services(db, shared_nats, config=config):
                    await publish_reports(nc, games, config)
                    await await_for(lambda: game_count(db) == 4, 20, "the other reports recorded")
                    await await_for_async(lambda: consumer_idle(nc, config), 20, "every report settled")
                    dead = await stream_messages(nc, config.rejected_stream)
                    assert len(dead) == 1 and b'"b-2"' in dead[0].data
                    assert "RuntimeError: a bug on b-2" in dead[0].headers["Osmo-Error"]
            finally:
                await cleanup_streams(nc, config)

    asyncio.run(main())


def test_relays_publish_each_event_once_in_order_and_resume_after_a_restart(
        tmp_path: Path, shared_nats: str) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    config = unique_config()
    games = reports("r", 90, seed=4)
    relay_only = frozenset({"relay"})

    async def main() -> None:
        async with connected(shared_nats) as nc:
            try:
                async with services(db, shared_nats, relay_only, config), services(db, shared_nats, relay_only,
                                                                                    config):
                    for start in range(0, 60, 10):  # two relays at once, while games are recorded
                        await asyncio.to_thread(record_directly, db, games[start:start + 10])
                    await check_events_published(nc, db, config)
                await asyncio.to_thread(record_directly, db, games[60:])  # no relay running
                async with services(db, shared_nats, relay_only, config):
                    await check_events_published(nc, db, config)
            finally:
                await cleanup_streams(nc, config)

    asyncio.run(main())


def test_a_client_follows_one_players_unlocks_by_subject(tmp_path: Path, shared_nats: str) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    config = unique_config()
    odd = "o'neil.x"

    async def main() -> None:
        async with connected(shared_nats) as nc:
            try:
                async with services(db, shared_nats, config=config):
                    js = nc.jetstream()
                    reply = await nc.request(f"{config.subjects}.players.create",
                                             orjson.dumps({"player_id": odd, "name": "O'Neil"}))
                    assert not reply.headers
                    team = ("uther", odd, "thrall", "rexxar", "guldan", "morgl")
                    sharp = {"attempted_attacks": 10, "hits": 9, "damage_done": 700, "time_played": 600}
                    await publish_reports(nc, [wire_report("f-1", players=team, stats={"uther": sharp, odd: sharp}),
                                               *reports("ff", 20, seed=5)], config)
                    await await_for(lambda: game_count(db) == 21, 20, "games recorded")
                    await check_events_published(nc, db, config)
                    for player in ("uther", odd):
                        expected = [e.data["award_id"] for e in store_events(db)
                                    if e.type == "AwardUnlocked" and e.data["player_id"] == player]
                        sub = await js.subscribe(f"{config.events_subject}.AwardUnlocked.{player_token(player)}",
                                                 stream=config.events_stream, ordered_consumer=True,
                                                 config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
                        got = []
                        for _ in expected:
                            message = await sub.next_msg(timeout=5)
                            assert message.headers["Osmo-Player"] == player
                            got.append(orjson.loads(message.data)["data"]["award_id"])
                        await sub.unsubscribe()
                        assert got == expected and "bruiser" in got
                    assert player_token(odd) == "o~27neil~2Ex"
            finally:
                await cleanup_streams(nc, config)

    asyncio.run(main())
