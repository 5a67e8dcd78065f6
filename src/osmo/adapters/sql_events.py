"""What the SQL event stores share: the append loop with its version check, and the reads.

``append`` skips events whose id is already stored (a retried append is a no-op), checks each event's
expected version against its stream (raising ConcurrencyError), numbers the events from
``last_position() + 1`` and inserts them. A backend supplies how rows are inserted (``_insert``) and
decoded (``_decode``), how an event id is stored (``_stored_id``: SQLite keeps 16 bytes, PostgreSQL a
UUID), the driver's unique-violation error (``conflict``) and ``read_all``.

The ``events`` table: ``position, stream, version, type, data, metadata, event_id, recorded_at``, with
``data`` and ``metadata`` as orjson's text and ``recorded_at`` an ISO 8601 string.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from osmo.adapters.sql_dialect import Row, SqlQueries
from osmo.domain.errors import ConcurrencyError
from osmo.domain.events import GAME_RECORDED, NO_STREAM, GameRecorded, NewEvent, RecordedEvent, game_stream
from osmo.domain.games import format_instant

EVENT_COLUMNS = "position, stream, version, type, data, metadata, event_id, recorded_at"
SELECT_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events"
EVENTS_AFTER = SELECT_EVENTS + " WHERE position > ? ORDER BY position LIMIT ?"


def now() -> str:
    return format_instant(datetime.now(UTC))


def recorded_event(row: Row, event_id: uuid.UUID) -> RecordedEvent:
    """An ``events`` row (columns in ``EVENT_COLUMNS`` order) as a RecordedEvent, with its decoded id."""
    position, stream, version, type_, data, metadata, _, recorded_at = row
    return RecordedEvent(position, stream, version, type_, orjson.loads(data), orjson.loads(metadata),
                         event_id, recorded_at)


def next_version(event: NewEvent, versions: dict[str, int], stored: dict[str, int]) -> int:
    """The version ``event`` gets: ``versions`` has the streams this append wrote already, ``stored``
    the versions of the others (see ``SqlEventStore._stream_versions``). Raises ConcurrencyError when
    the stream is not at the event's expected version."""
    if event.expected_version == NO_STREAM and event.stream not in versions:
        return 0  # a stream that exists already fails at insert, on the unique (stream, version)
    current = versions.get(event.stream)
    if current is None:
        current = stored.get(event.stream, -1)
    if event.expected_version is not None and current != event.expected_version:
        raise ConcurrencyError(
            f"stream {event.stream!r} is at version {current}, expected {event.expected_version}")
    return current + 1


class SqlEventStore(SqlQueries, ABC):
    """The ``events`` table. Positions are assigned under the backend's write lock: contiguous, in commit order."""

    conflict: ClassVar[type[Exception]]  # what the driver raises on a unique violation

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        if not events:
            return []
        fresh = self._not_yet_stored(events)
        if not fresh:
            return []
        stored = self._stream_versions(fresh)
        position = self.last_position()
        recorded_at = now()
        stored_id = self._stored_id
        rows = []
        recorded = []
        versions: dict[str, int] = {}
        for event in fresh:
            version = next_version(event, versions, stored)
            versions[event.stream] = version
            position += 1
            metadata = {"schema": 1, **(event.metadata or {})}
            rows.append((position, event.stream, version, event.type, orjson.dumps(event.data).decode(),
                         orjson.dumps(metadata).decode(), stored_id(event.event_id), recorded_at))
            recorded.append(RecordedEvent(position, event.stream, version, event.type, event.data, metadata,
                                          event.event_id, recorded_at))
        try:
            self._insert(rows)
        except self.conflict as error:
            raise ConcurrencyError(f"a stream was written concurrently: {error}") from None
        self._appended(position)
        return recorded

    def append_games(self, game_ids: Sequence[str], payloads: Sequence[str], event_ids: Sequence[bytes],
                     catalog_version: int) -> tuple[int, str]:
        first = self.last_position() + 1
        recorded_at = now()
        metadata = orjson.dumps({"schema": GameRecorded.SCHEMA, "catalog_version": catalog_version}).decode()
        stored_id = self._stored_digest
        rows: list[Row] = [
            (position, game_stream(game_id), 0, GAME_RECORDED, payload, metadata, stored_id(event_id), recorded_at)
            for position, game_id, payload, event_id in zip(range(first, first + len(game_ids)), game_ids, payloads,
                                                            event_ids, strict=True)]
        self._insert_games(rows)
        self._appended(first + len(rows) - 1)
        return first, recorded_at

    def _insert_games(self, rows: list[Row]) -> None:
        """Insert the rows of ``append_games`` (PostgreSQL goes on in the background)."""
        try:
            self._insert(rows)
        except self.conflict as error:
            raise recorded_concurrently(error) from None

    def _not_yet_stored(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        stored_id = self._stored_id
        stored = {r[0] for r in self._in_rows(
            "SELECT event_id FROM events WHERE {in_list}", "event_id", [stored_id(e.event_id) for e in events])}
        return [e for e in events if stored_id(e.event_id) not in stored] if stored else list(events)

    def _stream_versions(self, events: Sequence[NewEvent]) -> dict[str, int]:
        """The current version of every stream whose expected version the batch must check (the streams
        an event expects to create are left out), in one query (or one per chunk)."""
        seen: set[str] = set()
        wanted: list[str] = []
        for event in events:
            if event.stream not in seen:
                seen.add(event.stream)
                if event.expected_version != NO_STREAM:
                    wanted.append(event.stream)
        return {stream: int(version) for stream, version in self._in_rows(
            "SELECT stream, max(version) FROM events WHERE {in_list} GROUP BY stream", "stream", wanted)}

    # -- what each backend supplies ------------------------------------------------------------------
    @abstractmethod
    def _insert(self, rows: list[Row]) -> None:
        """Insert ``events`` rows (columns in ``EVENT_COLUMNS`` order); a duplicate raises ``conflict``."""

    @staticmethod
    @abstractmethod
    def _decode(row: Row) -> RecordedEvent:
        """An ``events`` row as read back (see ``recorded_event``)."""

    @staticmethod
    def _stored_id(event_id: uuid.UUID) -> Any:
        """An event id as the ``event_id`` column holds it."""
        return event_id

    @staticmethod
    def _stored_digest(event_id: bytes) -> Any:
        """An event id given as its 16 bytes, as the ``event_id`` column holds it."""
        return uuid.UUID(bytes=event_id)

    def _appended(self, position: int) -> None:
        """Called once an append inserted its events, with the last position it assigned."""

    @abstractmethod
    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]: ...

    # -- reads --------------------------------------------------------------------------------------
    def read_stream(self, stream: str) -> list[RecordedEvent]:
        return [self._decode(r) for r in self._rows(SELECT_EVENTS + " WHERE stream = ? ORDER BY version", (stream,))]

    def first_events(self, streams: Iterable[str]) -> dict[str, RecordedEvent]:
        found: dict[str, RecordedEvent] = {}
        for row in self._in_rows(SELECT_EVENTS + " WHERE version = 0 AND {in_list}", "stream", list(streams)):
            event = self._decode(row)
            found[event.stream] = event
        return found

    def first_data(self, streams: Iterable[str]) -> dict[str, str]:
        return dict(self._in_rows("SELECT stream, data FROM events WHERE version = 0 AND {in_list}", "stream",
                                  list(streams)))

    def stream_version(self, stream: str) -> int:
        return int(self._value("SELECT coalesce(max(version), -1) FROM events WHERE stream = ?", (stream,)))

    def of_type(self, event_type: str) -> list[RecordedEvent]:
        return [self._decode(r) for r in self._rows(SELECT_EVENTS + " WHERE type = ? ORDER BY position",
                                                    (event_type,))]

    def last_position(self) -> int:
        return int(self._value("SELECT coalesce(max(position), 0) FROM events"))


def recorded_concurrently(error: Exception) -> ConcurrencyError:
    return ConcurrencyError(f"a game was recorded concurrently: {error}")


def follow_loop(read: Callable[[int, int], Sequence[RecordedEvent]], wait_for_commit: Callable[[float], None],
                after: int, *, batch: int, wait: float, until: int | None, idle: float | None,
                stop: Callable[[], bool] | None) -> Iterator[RecordedEvent]:
    """The catch-up subscription both backends run: read forward ``batch`` events at a time from
    ``read(after, limit)``; once caught up, ``wait_for_commit(timeout)`` (a notification, or a poll) at most
    ``wait`` seconds. Ends when the event at ``until`` was yielded, after ``idle`` quiet seconds once
    caught up, or when ``stop()`` is true (asked after every batch)."""
    position = after
    caught_up_at: float | None = None
    while until is None or position < until:
        events = read(position, batch)
        for event in events:
            position = event.position
            yield event
            if until is not None and position >= until:
                return
        if stop is not None and stop():
            return
        if len(events) == batch:
            continue
        now = time.monotonic()
        if events or caught_up_at is None:
            caught_up_at = now
        timeout = wait
        if idle is not None:
            left = idle - (now - caught_up_at)
            if left <= 0:
                return
            timeout = min(wait, left)
        wait_for_commit(timeout)
