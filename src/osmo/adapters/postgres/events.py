"""The event store on PostgreSQL: event ids as UUID, batches written with binary COPY, reads paged and in
binary, and what the transaction appended remembered for its ``NOTIFY`` (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from psycopg import errors as pg_errors

from osmo.adapters.postgres.connection import Connection
from osmo.adapters.sql_dialect import POSTGRES, Row
from osmo.adapters.sql_events import EVENT_COLUMNS, EVENTS_AFTER, SqlEventStore, recorded_event
from osmo.domain.events import RecordedEvent

PAGE = 1000
COPY_FROM = 16  # rows: below this an INSERT pipeline is cheaper than COPY's extra round trip
EVENT_TYPES = ["int8", "text", "int4", "text", "text", "text", "uuid", "text"]


def decode_event(row: Row) -> RecordedEvent:
    return recorded_event(row, row[6])


class PostgresEventStore(SqlEventStore):
    """The ``events`` table. Positions are assigned under the writer lock: contiguous, in commit order."""

    dialect = POSTGRES
    conflict = pg_errors.UniqueViolation
    conn: Connection

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tail: int | None = None  # max(position) as this transaction sees it, once read
        self.appended: int | None = None  # the last position this transaction appended

    _decode = staticmethod(decode_event)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.conn.cursor(binary=True) as cursor:
            return cursor.execute(self.dialect.sql(sql), params).fetchall()

    def _insert(self, rows: list[Row]) -> None:
        with self.conn.cursor() as cursor:
            if len(rows) < COPY_FROM:
                cursor.executemany(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                   rows)
                return
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
