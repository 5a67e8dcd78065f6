"""``run_nats``: connect, start the selected services, run until ``stop``, then drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.micro.request import Request

from osmo.domain.errors import OsmoError
from osmo.entrypoints.logs import redact_url
from osmo.entrypoints.metrics import SAMPLE_EVERY_S, Metrics
from osmo.entrypoints.nats_services.config import NatsConfig
from osmo.entrypoints.nats_services.endpoints import osmo_version, send, start_services
from osmo.entrypoints.nats_services.recorder import Recorder, pause
from osmo.entrypoints.nats_services.relay import Relay
from osmo.entrypoints.nats_services.streams import ensure_streams
from osmo.entrypoints.runtime import Store

log = logging.getLogger("osmo.nats")

DRAIN_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0


class NatsUnavailable(OsmoError):
    """The NATS server cannot be reached (at start: afterwards osmo reconnects on its own)."""


async def connect(url: str) -> Client:
    shown = redact_url(url)  # a NATS URL may carry a user and a password: never logged

    async def on_error(error: Exception) -> None:
        log.warning("NATS: %s: %s", type(error).__name__, error)

    async def on_disconnect() -> None:
        log.warning("NATS: disconnected from %s; reconnecting", shown)

    async def on_reconnect() -> None:
        log.warning("NATS: reconnected to %s", shown)

    nc = Client()
    try:  # once connected, reconnect forever; the first connection is given CONNECT_TIMEOUT seconds
        await asyncio.wait_for(nc.connect(
            url, name=f"osmo-serve-{os.getpid()}", max_reconnect_attempts=-1, reconnect_time_wait=1,
            connect_timeout=2, drain_timeout=int(DRAIN_TIMEOUT), error_cb=on_error,
            disconnected_cb=on_disconnect, reconnected_cb=on_reconnect), CONNECT_TIMEOUT)
    except Exception as error:
        with contextlib.suppress(Exception):
            await nc.close()
        raise NatsUnavailable(f"cannot connect to NATS at {shown} within {CONNECT_TIMEOUT:g} s "
                              f"({type(error).__name__}: {error})") from None
    return nc


async def run_nats(store: Store, url: str, only: frozenset[str], stop: asyncio.Event, ready: asyncio.Event,
                   config: NatsConfig | None = None, *, metrics: Metrics | None = None) -> None:
    """Run the selected services (``player``, ``game``, ``achievement``, ``recorder``, ``relay``) against
    ``store`` until ``stop`` is set; ``ready`` is set once every one of them is subscribed. On stop: no new
    fetch, the batch being recorded is finished and settled, the relay stops after its current publish,
    the requests already received are answered, and the connection is drained. ``metrics``: the
    process's (requests, batches, consumer pending, relay lag)."""
    config = config or NatsConfig()
    metrics = metrics or Metrics()
    nc = await connect(url)
    try:
        js = nc.jetstream(timeout=config.request_timeout)
        await ensure_streams(js, config, reports="recorder" in only, events="relay" in only)
        await start_services(nc, store, config, only, metrics)
        workers: list[asyncio.Task[None]] = []
        if "recorder" in only:
            recorder = Recorder(js, store, config, metrics)
            subscribed = asyncio.Event()
            workers.append(asyncio.create_task(recorder.run(stop, subscribed), name="osmo-recorder"))
            await _started(subscribed, workers[-1])
            await _recorder_stats(nc, config, recorder)
            workers.append(asyncio.create_task(sample_consumer(js, config, metrics, stop), name="osmo-pending"))
        if "relay" in only:
            workers.append(asyncio.create_task(Relay(js, store, config, metrics).run(stop), name="osmo-relay"))
        await nc.flush()
        ready.set()
        log.info("NATS services %s running on %s", ", ".join(sorted(only)), redact_url(url),
                 extra={"services": sorted(only)})
        if workers:
            await asyncio.gather(*workers)
        else:
            await stop.wait()
    finally:
        if not nc.is_closed:
            try:
                await nc.drain()
            except Exception as error:
                log.warning("NATS: drain failed (%s: %s)", type(error).__name__, error)
                await nc.close()


async def _started(subscribed: asyncio.Event, worker: asyncio.Task[None]) -> None:
    """Wait until the worker subscribed, or raise what it failed with."""
    waiting = asyncio.ensure_future(subscribed.wait())
    await asyncio.wait({waiting, worker}, return_when=asyncio.FIRST_COMPLETED)
    if not subscribed.is_set():
        waiting.cancel()
        await worker  # raises its error (or returns when stopped before it subscribed)


async def _recorder_stats(nc: Client, config: NatsConfig, recorder: Recorder) -> None:
    """A ``<subjects>-recorder`` service whose ``stats`` endpoint answers this process's counts."""
    from nats.micro import add_service
    from nats.micro.service import ServiceConfig

    async def stats(request: Request) -> None:
        await send(request.respond(orjson.dumps(recorder.stats.to_json())))

    service = await add_service(nc, ServiceConfig(name=config.service_name("recorder"), version=osmo_version(),
                                                  description="Streamed ingest of game reports from JetStream"))
    await service.add_endpoint(name="stats", subject=f"{config.subjects}.recorder.stats", handler=stats)


async def sample_consumer(js: JetStreamContext, config: NatsConfig, metrics: Metrics, stop: asyncio.Event,
                          every: float = SAMPLE_EVERY_S) -> None:
    """Sample the durable consumer's pending and unacknowledged reports until ``stop``."""
    stream, durable = config.reports_stream, config.durable
    while not stop.is_set():
        try:
            info = await js.consumer_info(stream, durable)
            metrics.consumer_pending.labels(stream, durable).set(info.num_pending or 0)
            metrics.consumer_ack_pending.labels(stream, durable).set(info.num_ack_pending or 0)
        except Exception as error:  # NATS away for a while: the next sample will do
            log.debug("consumer %s not sampled: %s", durable, error)
        await pause(stop, every)
