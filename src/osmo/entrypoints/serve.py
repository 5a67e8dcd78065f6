"""``osmo serve``: the network entrypoints of one process, started and stopped as a unit.

One event loop runs the NATS services (when a NATS URL is given) and the HTTP server (unless
``--no-http``) over one ``Store``. SIGINT or SIGTERM sets ``stop``: each entrypoint stops taking new work,
finishes what it holds (in-flight requests, fetched messages, the batch being recorded), and returns; then
the store closes and the process exits 0.

The process's metrics (one registry) are served by the HTTP API's ``/metrics`` and, when an address is
given (``ServeOptions.metrics``, or ``OSMO_METRICS=HOST:PORT``), by an exporter on a port of its own: the
way to scrape ``serve --no-http``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from osmo.bootstrap import App
from osmo.domain.errors import InvalidInput
from osmo.entrypoints.metrics import Exporter, Metrics, sample_store
from osmo.entrypoints.runtime import Store
from osmo.entrypoints.services import SERVICES

log = logging.getLogger("osmo.serve")
METRICS_ENV = "OSMO_METRICS"


@dataclass(frozen=True)
class ServeOptions:
    nats_url: str | None = None
    only: frozenset[str] = field(default_factory=lambda: frozenset(SERVICES))
    http: tuple[str, int] | None = ("127.0.0.1", 8000)
    body_limit: int = 1_000_000
    metrics: tuple[str, int] | None = None  # the exporter's address (else OSMO_METRICS=HOST:PORT, else none)


def metrics_address(options: ServeOptions) -> tuple[str, int] | None:
    """Where the metrics exporter listens: ``options.metrics``, else ``OSMO_METRICS`` (HOST:PORT), else None."""
    if options.metrics is not None:
        return options.metrics
    text = os.environ.get(METRICS_ENV, "").strip()
    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidInput(f"{METRICS_ENV}: expected HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


async def serve(open_app: Callable[[], App], options: ServeOptions,
                ready: Callable[[], None] | None = None) -> None:
    """Run until SIGINT/SIGTERM (or until an entrypoint fails, which stops the others)."""
    try:
        await _serve(open_app, options, ready)
    except ExceptionGroup as group:  # the TaskGroup's: one failure is reported as itself
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


async def _serve(open_app: Callable[[], App], options: ServeOptions, ready: Callable[[], None] | None) -> None:
    address = metrics_address(options)
    store = Store(open_app)
    metrics = Metrics()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    exporter: Exporter | None = None
    try:
        if address is not None:
            try:
                exporter = Exporter(metrics, *address)
            except OSError as error:
                raise InvalidInput(f"cannot serve metrics on {address[0]}:{address[1]}: {error}") from None
            log.info("metrics on http://%s/metrics", exporter.address)
        async with asyncio.TaskGroup() as group:
            group.create_task(sample_store(store, metrics, stop))
            started: list[asyncio.Event] = []
            if options.nats_url:
                from osmo.entrypoints.nats_services import run_nats

                nats_ready = asyncio.Event()
                started.append(nats_ready)
                group.create_task(_until_stopped(run_nats(store, options.nats_url, options.only, stop, nats_ready,
                                                          metrics=metrics),
                                                 stop))
            if options.http is not None:
                from osmo.entrypoints.http.server import run_http

                http_ready = asyncio.Event()
                started.append(http_ready)
                host, port = options.http
                group.create_task(_until_stopped(run_http(store, host, port, options, stop, http_ready,
                                                          metrics=metrics), stop))
            for event in started:
                await event.wait()
            if ready is not None:
                ready()
    finally:
        if exporter is not None:
            await asyncio.to_thread(exporter.close)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(store.close)


async def _until_stopped(entrypoint: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Run an entrypoint; if it ends (or fails) before ``stop``, stop the others too."""
    try:
        await entrypoint
    finally:
        stop.set()
