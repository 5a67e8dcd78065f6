"""The request/reply services over a real NATS server: every endpoint, its reply in the CLI's ``--json``
shape, every error with its code, and service discovery."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from nats.aio.client import Client

from osmo.application import players as players_uc
from osmo.application import queries
from osmo.bootstrap import bootstrap
from osmo.entrypoints import wire
from osmo.entrypoints.nats_services import NatsConfig
from tests.builders import wire_report
from tests.nats.conftest import cleanup_streams, connected, seeded, services, unique_config

ENDPOINTS = {"player": ["players.create", "players.list", "players.get"],
             "game": ["games.record", "games.play"], "achievement": ["awards.list", "awards.check"]}


async def ask(nc: Client, config: NatsConfig, subject: str, body: Any = None) -> tuple[int | None, Any]:
    data = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    reply = await nc.request(f"{config.subjects}.{subject}", data, timeout=20)
    headers = reply.headers or {}
    code = headers.get("Nats-Service-Error-Code")
    payload = orjson.loads(reply.data)
    if code is not None:
        assert headers["Nats-Service-Error"] == payload["error"]
    return (int(code) if code else None), payload


Scenario = Callable[[Client, NatsConfig, str], Awaitable[None]]


def run(tmp_path: Path, url: str, scenario: Scenario) -> None:
    db = seeded(str(tmp_path / "osmo.db"))
    config = unique_config()

    async def main() -> None:
        async with connected(url) as nc:
            try:
                async with services(db, url, config=config):
                    await scenario(nc, config, db)
            finally:
                await cleanup_streams(nc, config)

    asyncio.run(main())


def cli_json(db: str, read: Callable[[Any], Any]) -> Any:
    app = bootstrap(db)
    try:
        return orjson.loads(orjson.dumps(read(app.uow)))
    finally:
        app.close()


def test_discovery_ping_info_and_stats(tmp_path: Path, shared_nats: str) -> None:
    async def scenario(nc: Client, config: NatsConfig, db: str) -> None:
        for kind, subjects in ENDPOINTS.items():
            name = config.service_name(kind)
            ping = json.loads((await nc.request(f"$SRV.PING.{name}", b"", timeout=5)).data)
            assert ping["type"] == "io.nats.micro.v1.ping_response" and ping["name"] == name
            info = json.loads((await nc.request(f"$SRV.INFO.{name}", b"", timeout=5)).data)
            assert sorted(e["subject"] for e in info["endpoints"]) == sorted(f"{config.subjects}.{s}" for s in subjects)
        await ask(nc, config, "players.list")
        stats = json.loads((await nc.request(f"$SRV.STATS.{config.service_name('player')}", b"", timeout=5)).data)
        assert {e["name"]: e["num_requests"] for e in stats["endpoints"]}["list"] == 1
        code, counts = await ask(nc, config, "recorder.stats")
        assert code is None and counts["recorded"] == 0

    run(tmp_path, shared_nats, scenario)


def test_players_create_list_get_and_their_errors(tmp_path: Path, shared_nats: str) -> None:
    async def scenario(nc: Client, config: NatsConfig, db: str) -> None:
        assert await ask(nc, config, "players.create", {"player_id": "jaina", "name": "Jaina"}) == (
            None, {"player_id": "jaina", "name": "Jaina"})
        # the original's cases: a player without a name, a name already taken
        code, body = await ask(nc, config, "players.create", {"player_id": "nameless"})
        assert code == 400 and "the name is mandatory" in body["error"]
        code, body = await ask(nc, config, "players.create", {"player_id": "blank", "name": "  "})
        assert code == 400 and "the name is mandatory" in body["error"]
        code, body = await ask(nc, config, "players.create", {"player_id": "jaina2", "name": "jaina"})
        assert code == 409 and "already taken" in body["error"]
        code, body = await ask(nc, config, "players.create", {"player_id": "jaina", "name": "Other"})
        assert code == 409 and "already registered" in body["error"]
        assert (await ask(nc, config, "players.create", b"{not json"))[0] == 400
        assert (await ask(nc, config, "players.create", [1, 2]))[0] == 400
        code, body = await ask(nc, config, "players.create", {"player_id": "x", "name": "X", "age": 3})
        assert code == 400 and "unknown field 'age'" in body["error"]
        assert (await ask(nc, config, "players.create", {"player_id": 7, "name": "X"}))[0] == 400

        code, listed = await ask(nc, config, "players.list")
        assert code is None and listed == cli_json(db, lambda uow: wire.players(players_uc.list_players(uow)))
        assert {"player_id": "jaina", "name": "Jaina"} in listed

        code, profile = await ask(nc, config, "players.get", {"player": "uther"})
        assert code is None and profile == cli_json(db, lambda uow: wire.profile(queries.profile(uow, "uther")))
        assert (await ask(nc, config, "players.get", {"player": "Jaina"}))[1]["player_id"] == "jaina"  # by name
        code, body = await ask(nc, config, "players.get", {"player": "nobody"})
        assert code == 404 and "nobody" in body["error"]
        assert (await ask(nc, config, "players.get", {}))[0] == 400

    run(tmp_path, shared_nats, scenario)


def test_games_record_and_play_and_their_errors(tmp_path: Path, shared_nats: str) -> None:
    async def scenario(nc: Client, config: NatsConfig, db: str) -> None:
        sharp = {"attempted_attacks": 10, "hits": 9, "damage_done": 600, "time_played": 600}
        one = wire_report("nats-1", stats={"uther": sharp})
        code, result = await ask(nc, config, "games.record", one)
        assert code is None and result["recorded"] == 1 and result["rejected"] == []
        assert {"player_id": "uther", "award": "sharpshooter", "game_id": "nats-1"} in result["unlocked"]
        assert {"player_id": "uther", "award": "bruiser", "game_id": "nats-1"} in result["unlocked"]
        code, result = await ask(nc, config, "games.record", [one, wire_report("nats-2")])
        assert code is None and (result["recorded"], result["duplicates"]) == (1, 1)

        bad = wire_report("nats-3", players=("uther", "uther", "thrall", "rexxar", "guldan", "morgl"))
        code, body = await ask(nc, config, "games.record", [wire_report("nats-4"), bad])
        assert code == 400 and "nothing was recorded" in body["error"]
        assert [(r["line"], r["game_id"]) for r in body["rejected"]] == [(1, "nats-3")]
        code, result = await ask(nc, config, "games.record", [wire_report("nats-4"), bad])
        assert code == 400
        # skipping invalid reports, as 'osmo record --skip-invalid'
        reply = await nc.request(f"{config.subjects}.games.record", orjson.dumps([wire_report("nats-4"), bad]),
                                 headers={"Osmo-Skip-Invalid": "true"}, timeout=10)
        result = orjson.loads(reply.data)
        assert result["recorded"] == 1 and result["rejected"][0]["game_id"] == "nats-3"
        assert (await ask(nc, config, "games.record", b""))[0] == 400  # no reports
        assert (await ask(nc, config, "games.record", b"[]"))[0] == 400

        # the original's Game.Play
        code, played = await ask(nc, config, "games.play", {"n": 5, "seed": 7})
        assert code is None and played["recorded"] == 5
        for body in ({"n": 0}, {"n": "5"}, {"n": True}, {"n": 10**9}, {"seed": 1.5}, {"games": 3}):
            assert (await ask(nc, config, "games.play", body))[0] == 400, body

    run(tmp_path, shared_nats, scenario)


def test_awards_list_and_check_and_their_errors(tmp_path: Path, shared_nats: str) -> None:
    async def scenario(nc: Client, config: NatsConfig, db: str) -> None:
        await ask(nc, config, "games.record", wire_report("aw-1", stats={"thrall": {"damage_done": 900}}))
        code, listing = await ask(nc, config, "awards.list")
        assert code is None and listing == cli_json(db, lambda uow: wire.award_listing(queries.award_catalog(uow)))
        code, held = await ask(nc, config, "awards.check", {"award": "bruiser", "player": "thrall"})
        assert code is None and held["held"] is True and held["game_id"] == "aw-1"
        assert held == {"held": True, **cli_json(db, lambda uow: wire.award_status(
            queries.check_award(uow, "bruiser", "thrall")))}
        code, locked = await ask(nc, config, "awards.check", {"award": "veteran", "player": "thrall"})
        assert code is None and locked["held"] is False
        assert locked["progress"] == {"current": 1, "target": 1001, "ratio": 0.001}
        # the original's case: a check without a player id
        code, body = await ask(nc, config, "awards.check", {"award": "bruiser"})
        assert code == 400 and body["error"] == "the player is mandatory"
        assert (await ask(nc, config, "awards.check", {"player": "thrall"}))[0] == 400
        assert (await ask(nc, config, "awards.check", {"award": "nope", "player": "thrall"}))[0] == 404
        assert (await ask(nc, config, "awards.check", {"award": "bruiser", "player": "nobody"}))[0] == 404

    run(tmp_path, shared_nats, scenario)


def test_a_conflicting_duplicate_game_is_409(tmp_path: Path, shared_nats: str) -> None:
    async def scenario(nc: Client, config: NatsConfig, db: str) -> None:
        assert (await ask(nc, config, "games.record", wire_report("dup-1", winner=0)))[0] is None
        changed = wire_report("dup-1", winner=1)
        code, body = await ask(nc, config, "games.record", changed)
        assert "different content" in body["error"]
        assert code == 409

    run(tmp_path, shared_nats, scenario)


def test_a_bug_is_answered_500_and_logged(tmp_path: Path, shared_nats: str, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    def broken(uow: Any) -> Any:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(queries, "award_catalog", broken)

    async def scenario(nc: Client, config: NatsConfig, db: str) -> None:
        code, body = await ask(nc, config, "awards.list")
        assert code == 500 and "ZeroDivisionError: boom" in body["error"]
        assert (await ask(nc, config, "players.list"))[0] is None  # the service goes on

    run(tmp_path, shared_nats, scenario)
    assert any("bug while answering" in r.message for r in caplog.records)
