"""Prometheus metrics of one serve process: HTTP requests by route and status with their latency, and what
the process recorded (games, unlocks by award, rejected reports). Each app has its own registry, so
several apps (tests) never clash."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("osmo_http_requests", "HTTP requests answered, by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("osmo_http_request_duration_seconds", "Time to answer an HTTP request, by route",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.games = Counter("osmo_games_recorded", "Games recorded by this process", registry=self.registry)
        self.unlocks = Counter("osmo_awards_unlocked", "Awards unlocked by this process, by award", ["award"],
                               registry=self.registry)
        self.rejected = Counter("osmo_reports_rejected", "Game reports rejected by this process",
                                registry=self.registry)
        self.webhook_deliveries = Counter("osmo_webhook_deliveries", "Webhook delivery attempts, by outcome",
                                          ["outcome"], registry=self.registry)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def recorded(self, games: int, awards: Iterable[str], rejected: int) -> None:
        if games:
            self.games.inc(games)
        for award in awards:
            self.unlocks.labels(award).inc()
        if rejected:
            self.rejected.inc(rejected)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
