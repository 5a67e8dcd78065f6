"""The event store on PostgreSQL: event ids as UUID, batches written with binary COPY, reads paged and in
binary, and what the transaction appended remembered for its ``NOTIFY`` (see the package docstring).

A run of games (``append_games``) is copied in a background thread: the caller's subscribers fold and
evaluate the run (from what they read ahead) while the server stores it, instead of after. psycopg holds the
connection's lock for the whole COPY, so any statement meanwhile, from this store or another on the
connection, waits for it; this store, and the commit, ``settle`` it first, so a refused game surfaces as
ConcurrencyError before anything else runs or commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import Any

from psycopg import errors as pg_errors
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from psycopg.pq import Format

from osmo.adapters.postgres.connection import Connection
from osmo.adapters.sql_dialect import POSTGRES, Cursor, Row
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


class PostgresEventStore(SqlEventStore):
    """The ``events`` table. Positions are assigned under the writer lock: contiguous, in commit order."""

    dialect = POSTGRES
    conflict = pg_errors.UniqueViolation
    conn: Connection

    def __init__(self, conn: Connection, background: Executor) -> None:
        self.conn = conn
        self.background = background
        self.tail: int | None = None  # max(position) as this transaction sees it, once read
        self.appended: int | None = None  # the last position this transaction appended
        self._copying: Future[None] | None = None  # a run of games being copied in the background

    _decode = staticmethod(decode_event)

    def settle(self) -> None:
        """Wait for the run of games being copied, if any; a game it holds that is stored already raises
        ConcurrencyError (and the transaction must roll back)."""
        copying, self._copying = self._copying, None
        if copying is not None:
            try:
                copying.result()
            except self.conflict as error:
                raise recorded_concurrently(error) from None

    def _insert_games(self, rows: list[Row]) -> None:
        self.settle()
        self._copying = self.background.submit(self._write, rows)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.settle()
        return super()._execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.settle()
        with self.conn.cursor(binary=True) as cursor:
            return cursor.execute(self.dialect.sql(sql), params).fetchall()

    @staticmethod
    def _stored_digest(event_id: bytes) -> Any:
        return event_id  # the COPY takes the 16 bytes as they are (EventIdDumper)

    def _insert(self, rows: list[Row]) -> None:
        self.settle()
        self._write(rows)

    def _write(self, rows: list[Row]) -> None:
        with self.conn.cursor() as cursor:
            if len(rows) < COPY_FROM:
                cursor.executemany(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                   [(*row[:6], _uuid(row[6]), row[7]) for row in rows])
                return
            cursor.adapters.register_dumper(None, EventIdDumper)
            with cursor.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(EVENT_TYPES)
                for row in rows:
                    copy.write_row(row)

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
