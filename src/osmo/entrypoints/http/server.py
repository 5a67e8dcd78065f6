"""``run_http``: the HTTP server of ``osmo serve`` (uvicorn), with the webhook deliveries of the process.

Signals belong to ``osmo serve``: it sets ``stop``; then the server stops accepting, live streams end, open
requests finish, and this returns."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import uvicorn

from osmo.entrypoints.http.app import create_app
from osmo.entrypoints.http.webhook_worker import WebhookWorker
from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.runtime import Store

GRACE_S = 30


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # osmo serve handles SIGINT/SIGTERM and sets ``stop``


async def run_http(store: Store, host: str, port: int, options: Any, stop: asyncio.Event,
                   ready: asyncio.Event, metrics: Metrics | None = None) -> None:
    """Serve until ``stop`` is set; set ``ready`` once listening. ``options`` carries ``body_limit``;
    ``metrics`` are the process's (a registry of the server's own otherwise). uvicorn's loggers are left
    to osmo's logging set-up (``logs.configure_logging``): its warnings come out in the chosen format."""
    app = create_app(store, body_limit=int(getattr(options, "body_limit", 1_000_000)), stop=stop, metrics=metrics)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=GRACE_S, server_header=False)
    server = _Server(config)
    worker = WebhookWorker(store, app.state.service.metrics)
    serving = asyncio.create_task(server.serve())
    delivering = asyncio.create_task(worker.run(stop))
    try:
        while not server.started:
            if serving.done():
                await serving  # failed to start (port taken...): raise it
                raise RuntimeError(f"the HTTP server did not start on {host}:{port}")
            await asyncio.sleep(0.02)
        gc.freeze()  # what start-up allocated is never collected: shorter collections under load
        ready.set()
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        stop.set()
        server.should_exit = True
        await asyncio.gather(serving, delivering, return_exceptions=True)
        if serving.done() and not serving.cancelled() and serving.exception() is not None:
            raise serving.exception()  # type: ignore[misc]
