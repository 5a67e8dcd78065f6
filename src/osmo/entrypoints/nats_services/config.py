"""Names and tunables of the NATS services: subjects, streams, the durable consumer, batch sizes.

The defaults are what ``osmo serve`` uses (subjects under ``osmo.``, streams ``OSMO_REPORTS``,
``OSMO_EVENTS`` and ``OSMO_REJECTED``); tests and several tenants on one NATS account give other prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

# Headers osmo sets on the messages it publishes.
MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
POSITION = "Osmo-Position"
EVENT_TYPE = "Osmo-Event-Type"
EVENT_STREAM = "Osmo-Stream"
PLAYER = "Osmo-Player"
ERROR = "Osmo-Error"
ORIGINAL_SUBJECT = "Osmo-Original-Subject"
ORIGINAL_SEQUENCE = "Osmo-Original-Sequence"
SKIP_INVALID = "Osmo-Skip-Invalid"


@dataclass(frozen=True)
class NatsConfig:
    subjects: str = "osmo"
    """Root of every subject: ``<subjects>.players.create``, ``<subjects>.reports.>``, ``<subjects>.events.<Type>``,
    ``<subjects>.rejected.>``; service names are ``<subjects>-player``, ``-game``, ``-achievement``, ``-recorder``."""
    streams: str = "OSMO"
    """Prefix of the stream names: ``<streams>_REPORTS``, ``<streams>_EVENTS``, ``<streams>_REJECTED``."""
    durable: str = "osmo-recorder"
    """The durable pull consumer of the reports stream, shared by every ``osmo serve`` process."""
    batch: int = 500
    """Reports fetched at most per batch (one store transaction: at most the store's chunk size, 500)."""
    fetch_wait: float = 0.1
    """Seconds a fetch waits for reports (also how often the recorder checks for a stop). Kept short: once a
    report arrives, nats-py's fetch keeps collecting until the batch is full or this time is up, so at a
    low rate shared by several recorders a long wait would hold every report that long."""
    ack_wait: float = 30.0
    """The consumer's ack wait when osmo creates it (a batch being recorded is kept alive meanwhile)."""
    duplicate_window: float = 120.0
    """The streams' duplicate window when osmo creates them (``Nats-Msg-Id`` dedupe)."""
    max_bug_deliveries: int = 5
    """A report on which osmo fails with a bug (not bad input, not an unavailable store) is retried this
    many times, then dead-lettered with the error."""
    request_timeout: float = 5.0
    """Seconds to wait for JetStream to acknowledge a publish."""

    @property
    def reports_stream(self) -> str:
        return f"{self.streams}_REPORTS"

    @property
    def events_stream(self) -> str:
        return f"{self.streams}_EVENTS"

    @property
    def rejected_stream(self) -> str:
        return f"{self.streams}_REJECTED"

    @property
    def reports_subject(self) -> str:
        return f"{self.subjects}.reports"

    @property
    def events_subject(self) -> str:
        return f"{self.subjects}.events"

    @property
    def rejected_subject(self) -> str:
        return f"{self.subjects}.rejected"

    def service_name(self, service: str) -> str:
        return f"{self.subjects}-{service}"
