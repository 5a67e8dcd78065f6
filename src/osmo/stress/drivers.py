"""How a stress run reaches osmo: over HTTP (POST /v1/games, unlocks on the SSE feed), over NATS (one
report per message on ``osmo.reports.<x>``, recorded and unlocked seen on ``OSMO_EVENTS``), or directly
through the record use case in this process (recorded at the commit, unlocks from its result)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import orjson

from osmo.application.recording import RecordResult, record_games
from osmo.bootstrap import App, bootstrap


class Sink(Protocol):
    """Where a driver reports what it sees (times are ``time.monotonic()``)."""

    def recorded(self, game_id: str, at: float) -> None: ...

    def unlocked(self, game_id: str, player_id: str, award: str, at: float) -> None: ...

    def error(self, game_id: str, kind: str) -> None: ...


class Driver(Protocol):
    name: str

    async def start(self, sink: Sink, after: int) -> None:
        """Connect and follow the live events committed after position ``after``."""
        ...

    async def send(self, server: int, game_id: str, body: bytes) -> None: ...

    async def close(self) -> None: ...


class HttpDriver:
    """POST /v1/games per report (the answer: recorded); AwardUnlocked from GET /v1/events (SSE)."""

    name = "http"

    def __init__(self, urls: list[str], key: str, timeout: float = 30.0) -> None:
        self.urls, self.key, self.timeout = urls, key, timeout
        self.clients: list[Any] = []
        self._feed: asyncio.Task[None] | None = None
        self._sink: Sink | None = None

    async def start(self, sink: Sink, after: int) -> None:
        import httpx

        self._sink = sink
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.clients = [httpx.AsyncClient(base_url=url, timeout=self.timeout, limits=limits) for url in self.urls]
        connected = asyncio.Event()
        self._feed = asyncio.create_task(self._follow(after, connected))
        waiting = asyncio.ensure_future(connected.wait())
        await asyncio.wait({waiting, self._feed}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if self._feed.done():
            waiting.cancel()
            self._feed.result()
        if not connected.is_set():
            raise ConnectionError(f"no answer from {self.urls[0]}/v1/events")

    async def _follow(self, after: int, connected: asyncio.Event) -> None:
        assert self._sink is not None
        sink, client = self._sink, self.clients[0]
        params = {"types": "AwardUnlocked", "after": str(after)}
        async with client.stream("GET", "/v1/events", params=params, timeout=None) as response:
            response.raise_for_status()
            connected.set()
            data: list[str] = []
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    event = orjson.loads("\n".join(data))["data"]
                    data = []
                    sink.unlocked(event["game_id"], event["player_id"], event["award_id"], time.monotonic())

    async def send(self, server: int, game_id: str, body: bytes) -> None:
        assert self._sink is not None
        client = self.clients[server % len(self.clients)]
        response = await client.post("/v1/games", content=body, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
        if response.status_code in (200, 201):
            self._sink.recorded(game_id, time.monotonic())
        else:
            self._sink.error(game_id, f"HTTP {response.status_code}")

    async def close(self) -> None:
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(BaseException):
                await self._feed
        for client in self.clients:
            await client.aclose()


class NatsDriver:
    """Reports published to JetStream on ``osmo.reports.stress-<server>`` (``Nats-Msg-Id`` = the game id);
    recorded when its GameRecorded arrives on ``osmo.events.GameRecorded``, unlocks on
    ``osmo.events.AwardUnlocked.>``."""

    name = "nats"

    def __init__(self, url: str, subjects: str = "osmo", timeout: float = 10.0) -> None:
        self.url, self.subjects, self.timeout = url, subjects, timeout
        self.nc: Any = None
        self.js: Any = None

    async def start(self, sink: Sink, after: int) -> None:
        import nats

        self.nc = await nats.connect(self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        self.js = self.nc.jetstream()

        async def on_recorded(msg: Any) -> None:
            at = time.monotonic()
            sink.recorded(orjson.loads(msg.data)["data"]["game_id"], at)

        async def on_unlocked(msg: Any) -> None:
            at = time.monotonic()
            data = orjson.loads(msg.data)["data"]
            sink.unlocked(data["game_id"], data["player_id"], data["award_id"], at)

        limits = {"pending_msgs_limit": 1_000_000, "pending_bytes_limit": 1 << 30}
        await self.nc.subscribe(f"{self.subjects}.events.GameRecorded", cb=on_recorded, **limits)
        await self.nc.subscribe(f"{self.subjects}.events.AwardUnlocked.>", cb=on_unlocked, **limits)
        await self.nc.flush()
        self._sink = sink

    async def send(self, server: int, game_id: str, body: bytes) -> None:
        await self.js.publish(f"{self.subjects}.reports.stress-{server}", body, headers={"Nats-Msg-Id": game_id},
                              timeout=self.timeout)

    async def close(self) -> None:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()


class DirectDriver:
    """``record_games`` in this process, one store connection and one thread per server: recorded at the
    commit, unlocks from the use case's result."""

    name = "direct"

    def __init__(self, open_app: Callable[[], App], servers: int) -> None:
        self.open_app, self.servers = open_app, servers
        self.apps: list[App] = []
        self.threads: list[ThreadPoolExecutor] = []
        self._sink: Sink | None = None

    @classmethod
    def on(cls, db: str, catalog_file: str | None, servers: int) -> DirectDriver:
        return cls(lambda: bootstrap(db, catalog_file), servers)

    async def start(self, sink: Sink, after: int) -> None:
        self._sink = sink
        self.threads = [ThreadPoolExecutor(1, thread_name_prefix=f"osmo-stress-{k}") for k in range(self.servers)]
        loop = asyncio.get_running_loop()
        self.apps = list(await asyncio.gather(*(loop.run_in_executor(t, self.open_app) for t in self.threads)))

    def _record(self, server: int, body: bytes) -> tuple[float, RecordResult]:
        app = self.apps[server]
        result = record_games(app.uow, app.parse_reports(body))
        return time.monotonic(), result

    async def send(self, server: int, game_id: str, body: bytes) -> None:
        assert self._sink is not None
        loop = asyncio.get_running_loop()
        at, result = await loop.run_in_executor(self.threads[server], self._record, server, body)
        self._sink.recorded(game_id, at)
        for unlock in result.unlocked:
            self._sink.unlocked(unlock.game_id, unlock.player_id, unlock.award, at)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for app, thread in zip(self.apps, self.threads, strict=False):
            await loop.run_in_executor(thread, app.close)
        for thread in self.threads:
            thread.shutdown()
