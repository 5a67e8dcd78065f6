"""The event store on PostgreSQL: event ids as UUID, batches written with binary COPY, reads paged and in
binary, and what the transaction appended remembered for its ``NOTIFY`` (see the package docstring).

A run of games (``append_games``) is formatted here and copied by the transaction's ``Background`` writer:
the caller's subscribers fold and evaluate the run (from what they read ahead) while the server stores it.
Every statement of this store settles the background first, so a game stored already surfaces as
ConcurrencyError before anything else runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from psycopg import errors as pg_errors
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from psycopg.pq import Format

from osmo.adapters.postgres.background import Background, SettledQueries, copy_data, copy_in
from osmo.adapters.postgres.connection import Connection
from osmo.adapters.sql_dialect import POSTGRES, Row
from osmo.adapters.sql_events import (
    EVENT_COLUMNS,
    EVENTS_AFTER,
    SqlEventStore,
    recorded_concurrently,
    recorded_event,
)
from osmo.domain.events import RecordedEvent

PAGE = 1000
COPY_FROM = 16  # rows: below this an INSERT pipeline is cheaper than COPY's extra round trip
EVENT_TYPES = ["int8", "text", "int4", "text", "text", "text", "uuid", "text"]
UUID_OID = pg_types["uuid"].oid
COPY_EVENTS = f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"


class EventIdDumper(Dumper):
    """The ``uuid`` column of a binary COPY: a UUID, or its 16 bytes as they are (a batch of games appends their
    derived ids without building a UUID object each)."""

    oid = UUID_OID
    format = Format.BINARY

    def dump(self, obj: uuid.UUID | bytes) -> bytes:
        return obj if isinstance(obj, bytes) else obj.bytes


def _uuid(event_id: uuid.UUID | bytes) -> uuid.UUID:
    return uuid.UUID(bytes=event_id) if isinstance(event_id, bytes) else event_id


def decode_event(row: Row) -> RecordedEvent:
    return recorded_event(row, row[6])


class PostgresEventStore(SettledQueries, SqlEventStore):
    """The ``events`` table. Positions are assigned under the writer lock: contiguous, in commit order."""

    dialect = POSTGRES
    conflict = pg_errors.UniqueViolation
    conn: Connection

    def __init__(self, conn: Connection, background: Background) -> None:
        self.conn = conn
        self.background = background
        self.tail: int | None = None  # max(position) as this transaction sees it, once read
        self.appended: int | None = None  # the last position this transaction appended

    _decode = staticmethod(decode_event)

    def _insert_games(self, rows: list[Row]) -> None:
        self.background.settle()
        self.background.submit(self._refusing_stored_games, self._sender(rows))

    def _refusing_stored_games(self, send: Callable[[], None]) -> None:
        try:
            send()
        except self.conflict as error:
            raise recorded_concurrently(error) from None

    @staticmethod
    def _stored_digest(event_id: bytes) -> Any:
        return event_id  # the COPY takes the 16 bytes as they are (EventIdDumper)

    def _insert(self, rows: list[Row]) -> None:
        self.background.settle()
        self._sender(rows)()

    def _sender(self, rows: list[Row]) -> Callable[[], None]:
        """What inserts ``rows``, prepared now (the writer thread may run it): pipelined INSERTs for a few rows,
        else a binary COPY of data formatted here."""
        conn = self.conn
        if len(rows) < COPY_FROM:
            params = [(*row[:6], _uuid(row[6]), row[7]) for row in rows]

            def insert() -> None:
                with conn.cursor() as cursor:
                    cursor.executemany(INSERT_EVENT, params)

            return insert
        data = copy_data(conn, EVENT_TYPES, rows, EventIdDumper)
        return lambda: copy_in(conn, COPY_EVENTS, data)

    def _appended(self, position: int) -> None:
        self.tail = self.appended = position

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        remaining = limit or None
        while True:
            page = PAGE if remaining is None else min(PAGE, remaining)
            rows = self._rows(EVENTS_AFTER, (after, page))
            for row in rows:
                yield decode_event(row)
            if len(rows) < page:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)
                if remaining <= 0:
                    return

    def last_position(self) -> int:
        if self.tail is None:
            self.tail = super().last_position()
        return self.tail
