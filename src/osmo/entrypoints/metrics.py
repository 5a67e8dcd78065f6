"""Prometheus metrics of one serve process (see docs/operations.md).

One ``Metrics`` per process, shared by the HTTP API and the NATS services: requests by route and status
with their latency, what the process recorded (games, unlocks by award, rejected reports, from HTTP and
from NATS alike), the NATS batches, and sampled gauges (the store's last position, the JetStream
consumer's pending reports, the relay's lag, backfill progress). Each ``Metrics`` has its own registry,
so several in one process (tests) never clash. ``/metrics`` of the HTTP API serves it, and
``start_exporter`` serves it on a port of its own (``serve --no-http``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from osmo.application.ports import Database
    from osmo.entrypoints.runtime import Store

log = logging.getLogger("osmo.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZES = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
SAMPLE_EVERY_S = 2.0


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        # HTTP
        self.requests = Counter("osmo_http_requests", "HTTP requests answered, by route, method and status",
                                ["route", "method", "status"], registry=registry)
        self.latency = Histogram("osmo_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=registry)
        # what this process recorded, whatever the way in (HTTP, NATS requests, JetStream ingest)
        self.games = Counter("osmo_games_recorded", "Games recorded by this process", registry=registry)
        self.unlocks = Counter("osmo_awards_unlocked", "Awards unlocked by this process, by award", ["award"],
                               registry=registry)
        self.rejected = Counter("osmo_reports_rejected", "Game reports rejected by this process",
                                registry=registry)
        self.webhook_deliveries = Counter("osmo_webhook_deliveries", "Webhook delivery attempts, by outcome",
                                          ["outcome"], registry=registry)
        # NATS request/reply services
        self.nats_requests = Counter("osmo_nats_requests", "NATS requests answered, by endpoint and code "
                                     "(200 or the Nats-Service-Error-Code)", ["endpoint", "code"], registry=registry)
        self.nats_latency = Histogram("osmo_nats_request_duration_seconds", "Time to answer a NATS request",
                                      ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry)
        # JetStream ingest (the recorder)
        self.batches = Counter("osmo_nats_batches", "Batches of reports fetched from JetStream, by outcome "
                               "(recorded, unavailable, rejected, bug)", ["outcome"], registry=registry)
        self.batch_latency = Histogram("osmo_nats_batch_duration_seconds", "Time to record and settle a batch",
                                       buckets=LATENCY_BUCKETS, registry=registry)
        self.batch_size = Histogram("osmo_nats_batch_size", "Reports per batch fetched from JetStream",
                                    buckets=BATCH_SIZES, registry=registry)
        self.reports = Counter("osmo_nats_reports", "Reports settled by the recorder, by outcome (recorded, "
                               "duplicate, dead_lettered, retried)", ["outcome"], registry=registry)
        self.consumer_pending = Gauge("osmo_jetstream_consumer_pending", "Reports in the stream not yet "
                                      "delivered to the durable consumer (num_pending, sampled)",
                                      ["stream", "consumer"], registry=registry)
        self.consumer_ack_pending = Gauge("osmo_jetstream_consumer_ack_pending", "Reports delivered and not yet "
                                          "acknowledged (num_ack_pending, sampled)", ["stream", "consumer"],
                                          registry=registry)
        # the relay
        self.relay_position = Gauge("osmo_relay_position", "The store position of the last event the relay "
                                    "published (or found in the stream)", ["stream"], registry=registry)
        self.relay_lag = Gauge("osmo_relay_lag_positions", "The store's last position minus the relay's",
                               ["stream"], registry=registry)
        self.relay_published = Counter("osmo_relay_published", "Events this process's relay appended to the "
                                       "events stream", ["stream"], registry=registry)
        # the store and history
        self.store_position = Gauge("osmo_store_position", "The store's last event position (sampled)",
                                    registry=registry)
        self.backfill_scanned = Gauge("osmo_backfill_games_scanned", "Games the running (or last) backfill of "
                                      "this process has scanned", registry=registry)
        self.backfill_total = Gauge("osmo_backfill_games_total", "Games the running (or last) backfill of this "
                                    "process scans in all", registry=registry)
        self.backfill_running = Gauge("osmo_backfill_running", "1 while this process runs a backfill",
                                      registry=registry)
        self._relays: dict[str, int] = {}
        self._store = 0
        self._lock = threading.Lock()

    # -- HTTP ------------------------------------------------------------------------------------------
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def nats_request(self, endpoint: str, code: int, seconds: float) -> None:
        self.nats_requests.labels(endpoint, str(code)).inc()
        self.nats_latency.labels(endpoint).observe(seconds)

    # -- recording -------------------------------------------------------------------------------------
    def recorded(self, games: int, awards: Iterable[str], rejected: int) -> None:
        if games:
            self.games.inc(games)
        for award in awards:
            self.unlocks.labels(award).inc()
        if rejected:
            self.rejected.inc(rejected)

    # -- the relay and the store -----------------------------------------------------------------------
    def relayed(self, stream: str, position: int, published: bool) -> None:
        """The relay stands at ``position`` (it published that event, or found it in the stream)."""
        with self._lock:
            self._relays[stream] = position
            self.relay_position.labels(stream).set(position)
            self.relay_lag.labels(stream).set(max(0, self._store - position))
        if published:
            self.relay_published.labels(stream).inc()

    def stored(self, position: int) -> None:
        """The store's last position, as just sampled: every relay's lag follows."""
        with self._lock:
            self._store = position
            self.store_position.set(position)
            for stream, relayed in self._relays.items():
                self.relay_lag.labels(stream).set(max(0, position - relayed))

    # -- backfill --------------------------------------------------------------------------------------
    def backfill_started(self, total: int) -> Callable[[int], None]:
        """Progress callback of a backfill over ``total`` games (call ``backfill_done`` after it)."""
        self.backfill_total.set(total)
        self.backfill_scanned.set(0)
        self.backfill_running.set(1)
        return self.backfill_scanned.inc

    def backfill_done(self) -> None:
        self.backfill_running.set(0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _last_position(database: Database) -> int:
    with database.reader() as tx:
        return tx.events.last_position()


async def sample_store(store: Store, metrics: Metrics, stop: asyncio.Event, every: float = SAMPLE_EVERY_S) -> None:
    """Sample the store's last position every ``every`` seconds until ``stop`` (errors are skipped: the store
    may be away for a while)."""
    while not stop.is_set():
        try:
            metrics.stored(await store.read(_last_position, store.reader.database))
        except Exception as error:
            log.debug("store position not sampled: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


class Exporter:
    """``/metrics`` on a port of its own (a thread of prometheus_client's), for a process without HTTP."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self.server, self.thread = start_http_server(port, host, registry=metrics.registry)
        self.address = f"{host}:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
