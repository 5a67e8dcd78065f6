"""The relay: every committed event published to the events stream, once and in order.

It follows the store's global position (``follow_events``) and publishes the event at position ``p`` on
``<subjects>.events.<EventType>`` (``.<player>`` appended for a player's events, see ``subject``) with
``Nats-Msg-Id`` = the event id, ``Osmo-Position`` = ``p`` and ``Nats-Expected-Last-Sequence`` = the stream
sequence of the event at ``p - 1``. It starts (and restarts, after any failure) from the position in the
header of the stream's last message. So:

- each publish is confirmed before the next: the stream holds positions 1, 2, 3 ... in order;
- a relay that crashed resumes after the last position the stream holds: nothing is skipped and nothing
  published twice;
- several relays (several ``osmo serve`` processes) publish the same events: the stream drops a second
  copy by its msg id (the duplicate window), and, beyond that window, the expected-last-sequence check
  refuses any publish that is not the direct successor of the stream's last message; the relay that lost
  the race reads the stream's last position again and continues from there.

The events stream is the relay's alone: nothing else may publish on ``<subjects>.events.>``.
"""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import AsyncGenerator

import orjson
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from osmo.domain import events as ev
from osmo.domain.errors import OsmoError
from osmo.domain.events import RecordedEvent
from osmo.entrypoints.metrics import Metrics
from osmo.entrypoints.nats_services import config as names
from osmo.entrypoints.nats_services.config import NatsConfig
from osmo.entrypoints.nats_services.recorder import pause
from osmo.entrypoints.runtime import Store, follow_events

log = logging.getLogger("osmo.nats.relay")

WRONG_LAST_SEQUENCE = 10071
PLAYER_EVENTS = (ev.PlayerRegistered, ev.PlayerRenamed, ev.AwardUnlocked, ev.AwardGranted, ev.AwardRevoked)
_PLAIN = frozenset(string.ascii_letters + string.digits + "_-")


def player_token(player_id: str) -> str:
    """A player id as one subject token: letters, digits, ``_`` and ``-`` as they are, every other
    character as ``~`` and the hex of its UTF-8 bytes (``o'neil`` -> ``o~27neil``), so any id fits a
    subject and two ids never share a token."""
    return "".join(c if c in _PLAIN else "".join(f"~{b:02X}" for b in c.encode()) for c in player_id)


def subject(events_subject: str, event: RecordedEvent) -> tuple[str, str | None]:
    """The subject of an event, and its player when it is one player's event."""
    payload = event.payload
    if isinstance(payload, PLAYER_EVENTS):
        return f"{events_subject}.{event.type}.{player_token(payload.player_id)}", payload.player_id
    return f"{events_subject}.{event.type}", None


def encode(event: RecordedEvent) -> bytes:
    return orjson.dumps({"position": event.position, "type": event.type, "stream": event.stream,
                         "version": event.version, "event_id": str(event.event_id),
                         "recorded_at": event.recorded_at, "data": event.payload.to_data()})


class OutOfStep(Exception):
    """The stream's last message is not the event before the one being published: resume from the stream."""


class Relay:
    def __init__(self, js: JetStreamContext, store: Store, config: NatsConfig, metrics: Metrics | None = None) -> None:
        self.js = js
        self.store = store
        self.config = config
        self.published = 0
        self.metrics = metrics or Metrics()

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                position, sequence = await self.last_published()
                self.metrics.relayed(self.config.events_stream, position, False)
                log.info("relaying events after position %d", position, extra={"position": position})
                events = follow_events(self.store, position, stop)
                try:
                    async for event in events:
                        sequence = await self.publish(event, sequence)
                        failures = 0
                finally:
                    if isinstance(events, AsyncGenerator):  # stop its thread now, not when collected
                        await events.aclose()
            except OutOfStep as error:
                log.info("another relay is ahead (%s): resuming from the stream", error)
            except (OsmoError, NatsError, TimeoutError) as error:
                failures += 1
                delay = min(5.0, 0.2 * 2 ** min(failures, 5))
                log.warning("relay interrupted (%s: %s); resuming in %.1f s", type(error).__name__, error, delay)
                await pause(stop, delay)
            except Exception as error:
                failures += 1
                log.error("relay failed (%s: %s); resuming", type(error).__name__, error, exc_info=error)
                await pause(stop, min(5.0, 0.2 * 2 ** min(failures, 5)))

    async def last_published(self) -> tuple[int, int]:
        """The position of the last event the stream holds and its stream sequence ((0, 0) when empty)."""
        info = await self.js.stream_info(self.config.events_stream)
        sequence = info.state.last_seq
        if not sequence:
            return 0, 0
        try:
            last = await self.js.get_msg(self.config.events_stream, sequence)
        except NotFoundError:
            raise OsmoError(f"the last message of {self.config.events_stream} ({sequence}) is gone: "
                            "the relay cannot tell where it stopped") from None
        text = (last.headers or {}).get(names.POSITION)
        if text is None or not text.isdigit():
            raise OsmoError(f"the last message of {self.config.events_stream} ({sequence}) has no "
                            f"{names.POSITION} header: only the relay may publish on that stream")
        return int(text), sequence

    async def publish(self, event: RecordedEvent, sequence: int) -> int:
        """Publish one event after the message ``sequence``; returns its own sequence."""
        to, player = subject(self.config.events_subject, event)
        headers = {names.MSG_ID: str(event.event_id), names.POSITION: str(event.position),
                   names.EVENT_TYPE: event.type, names.EVENT_STREAM: event.stream,
                   names.EXPECTED_LAST_SEQUENCE: str(sequence)}
        if player is not None:
            headers[names.PLAYER] = player
        try:
            ack = await self.js.publish(to, encode(event), timeout=self.config.request_timeout,
                                        stream=self.config.events_stream, headers=headers)
        except APIError as error:
            if error.err_code == WRONG_LAST_SEQUENCE:
                raise OutOfStep(f"position {event.position}: {error.description}") from None
            raise
        self.published += 0 if ack.duplicate else 1
        self.metrics.relayed(self.config.events_stream, event.position, not ack.duplicate)
        return int(ack.seq)
