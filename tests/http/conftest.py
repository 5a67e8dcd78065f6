"""A real osmo HTTP server (uvicorn, ``run_http``) on a free port, in a thread of its own, over a fresh
store (SQLite, or PostgreSQL with ``OSMO_TEST_PG``), with the seed players and two API keys."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from osmo.application.api_keys import create_key
from osmo.application.players import register_seed_players
from osmo.bootstrap import bootstrap
from osmo.entrypoints.http.server import run_http
from osmo.entrypoints.runtime import Store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Options:
    body_limit: int = 1_000_000


@dataclass
class Server:
    url: str
    db: str
    report_key: str
    admin_key: str
    _loop: asyncio.AbstractEventLoop
    _stop: asyncio.Event
    _thread: threading.Thread

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the server did not stop"


def start_server(db: str, body_limit: int = 1_000_000) -> Server:
    app = bootstrap(db)
    try:
        register_seed_players(app.uow)
        _, report_key = create_key(app.uow, "reporter", "report")
        _, admin_key = create_key(app.uow, "operator", "admin")
    finally:
        app.close()
    port = free_port()
    started = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            stop, ready = asyncio.Event(), asyncio.Event()
            state["loop"], state["stop"] = asyncio.get_running_loop(), stop
            store = Store(lambda: bootstrap(db))
            task = asyncio.create_task(run_http(store, "127.0.0.1", port, Options(body_limit), stop, ready))
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
            started.set()
            try:
                await task
            finally:
                waiting.cancel()
                await asyncio.to_thread(store.close)

        try:
            asyncio.run(main())
        except BaseException as error:
            state["error"] = error
            started.set()

    thread = threading.Thread(target=run, name="osmo-test-http", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in state:
        raise RuntimeError(f"the server failed: {state['error']!r}")
    loop, stop = state["loop"], state["stop"]
    assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
    return Server(f"http://127.0.0.1:{port}", db, report_key, admin_key, loop, stop, thread)


@pytest.fixture
def server(backend_url: str) -> Iterator[Server]:
    """A server over a fresh store, on SQLite and on PostgreSQL."""
    running = start_server(backend_url)
    yield running
    running.close()


@pytest.fixture
def sqlite_server(tmp_path: object) -> Iterator[Server]:
    """A server over a fresh SQLite store (for tests where the backend does not matter)."""
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    running = start_server(str(tmp_path / "osmo.db"), body_limit=20_000)
    yield running
    running.close()
