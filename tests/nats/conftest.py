"""Fixtures of the NATS tests: a NATS server with JetStream, osmo's services in-process or as
``osmo serve`` processes, and what the tests read back (the store's state, the events stream).

The server is ``OSMO_TEST_NATS`` (default ``nats://127.0.0.1:4222``), with names unique to each test so
tests never see each other's streams. Without a reachable server the tests are skipped, unless
``OSMO_REQUIRE_NATS`` is set (CI): then they fail. Fault tests start their own ``nats-server`` on a free
port with a temporary store directory, to stop and restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
import orjson
import pytest
from nats.aio.client import Client

from osmo.application import players, queries
from osmo.application.backfill import total_games
from osmo.application.players import register_seed_players
from osmo.bootstrap import bootstrap
from osmo.domain.events import RecordedEvent
from osmo.entrypoints import wire
from osmo.entrypoints.nats_services import NatsConfig, run_nats
from osmo.entrypoints.runtime import Store
from tests.serve_process import ServeProcess

NATS_ENV = "OSMO_TEST_NATS"
REQUIRE_NATS_ENV = "OSMO_REQUIRE_NATS"
DEFAULT_NATS = "nats://127.0.0.1:4222"
ALL = frozenset({"player", "game", "achievement", "recorder", "relay"})
ROOT = Path(__file__).resolve().parents[2]


def _required() -> bool:
    return os.environ.get(REQUIRE_NATS_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def _unavailable(message: str) -> None:
    if _required():
        pytest.fail(f"{message} ({REQUIRE_NATS_ENV} makes the NATS tests mandatory)", pytrace=False)
    pytest.skip(message)


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout=2):
            return True
    except OSError:
        return False


def nats_test_url() -> str:
    """The shared test server, or skip (fail when NATS is required)."""
    url = os.environ.get(NATS_ENV) or DEFAULT_NATS
    if not _reachable(url):
        _unavailable(f"no NATS server at {url} ({NATS_ENV})")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServer:
    """A nats-server with JetStream of the test's own, on a free port, to kill and restart."""

    def __init__(self, store_dir: Path) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            _unavailable("nats-server is not installed: the NATS fault tests start their own")
        self.binary = str(binary)
        self.store_dir = store_dir
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _reachable(self.url):
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "jetstream")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shared_nats() -> str:
    return nats_test_url()


def unique_config(**overrides: Any) -> NatsConfig:
    """Names no other test uses, on the shared server."""
    tag = uuid.uuid4().hex[:10]
    return NatsConfig(subjects=f"t{tag}", streams=f"T{tag.upper()}", **overrides)


async def cleanup_streams(nc: Client, config: NatsConfig) -> None:
    js = nc.jetstream()
    for name in (config.reports_stream, config.events_stream, config.rejected_stream):
        with contextlib.suppress(Exception):
            await js.delete_stream(name)


# -- the store --------------------------------------------------------------------------------------

def seeded(db: str) -> str:
    app = bootstrap(db)
    try:
        register_seed_players(app.uow)
    finally:
        app.close()
    return db


def game_count(db: str) -> int:
    app = bootstrap(db)
    try:
        return total_games(app.uow)
    finally:
        app.close()


def store_events(db: str) -> list[RecordedEvent]:
    app = bootstrap(db)
    try:
        return list(app.database.follow(0, idle=0.05, wait=0.05))
    finally:
        app.close()


def final_state(db: str) -> dict[str, Any]:
    """Every player's profile as ``osmo profile --json`` shows it (careers, unlocks with game and time)."""
    app = bootstrap(db)
    try:
        return {p.player_id: wire.profile(queries.profile(app.uow, p.player_id))
                for p in players.list_players(app.uow)}
    finally:
        app.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


async def await_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(step)


# -- NATS -------------------------------------------------------------------------------------------

async def publish_reports(nc: Client, reports: list[dict[str, Any]], config: NatsConfig | None = None,
                          suffix: str = "test") -> None:
    """One report per message, ``Nats-Msg-Id`` = the game id, each publish confirmed."""
    config = config or NatsConfig()
    js = nc.jetstream()
    for report in reports:
        for attempt in range(50):  # as a game server would: retry (same msg id) while JetStream recovers
            try:
                await js.publish(f"{config.reports_subject}.{suffix}", orjson.dumps(report),
                                 headers={"Nats-Msg-Id": report["game_id"]}, timeout=5)
                break
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError):
                if attempt == 49:
                    raise
                await asyncio.sleep(0.2)


async def stream_messages(nc: Client, stream: str) -> list[Any]:
    """Every message a stream holds, in order."""
    js = nc.jetstream()
    info = await js.stream_info(stream)
    return [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)
            if info.state.messages]


async def check_events_published(nc: Client, db: str, config: NatsConfig | None = None) -> None:
    """The events stream holds every committed event once, in the store's order, as the relay encodes it."""
    config = config or NatsConfig()
    expected = await asyncio.to_thread(store_events, db)
    deadline = time.monotonic() + 20
    while True:
        messages = await stream_messages(nc, config.events_stream)
        if len(messages) >= len(expected) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    positions = [int(m.headers["Osmo-Position"]) for m in messages]
    assert positions == [e.position for e in expected], "events stream out of step with the store"
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [str(e.event_id) for e in expected]
    assert [orjson.loads(m.data)["type"] for m in messages] == [e.type for e in expected]


@contextlib.asynccontextmanager
async def services(db: str, url: str, only: frozenset[str] = ALL,
                   config: NatsConfig | None = None) -> AsyncIterator[asyncio.Event]:
    """osmo's NATS services in this process until the block ends (then stopped as on SIGTERM)."""
    store = Store(lambda: bootstrap(db))
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_nats(store, url, only, stop, ready, config))
    try:
        waiting = asyncio.ensure_future(ready.wait())
        await asyncio.wait({waiting, task}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiting.cancel()
            task.result()
        assert ready.is_set(), "the NATS services did not start"
        yield stop
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 30)
        finally:
            await asyncio.to_thread(store.close)


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        yield nc
    finally:
        await nc.close()


# -- osmo serve processes ----------------------------------------------------------------------------

class Serve(ServeProcess):
    """``osmo --db DB serve --nats URL --no-http`` as a real process; its stderr is kept."""

    def __init__(self, db: str, url: str, *extra: str, env: dict[str, str] | None = None) -> None:
        super().__init__(db, "--nats", url, "--no-http", *extra, env=env)


@pytest.fixture
def serves() -> Iterator[Callable[..., Serve]]:
    """Start ``osmo serve`` processes; every one still running is killed after the test."""
    started: list[Serve] = []

    def start(db: str, url: str, *extra: str, env: dict[str, str] | None = None) -> Serve:
        serve = Serve(db, url, *extra, env=env)
        started.append(serve)
        return serve

    yield start
    for serve in started:
        serve.kill()
