"""What a write transaction sends to the server in a thread while it goes on: a COPY whose rows are known
(a run of games' events, then their game lines) is sent, and waited for, by the database's one writer
thread, while the caller folds and evaluates the run. The server then works while the client does, instead
of after.

psycopg holds the connection's lock for a whole COPY, so a statement meanwhile, from any thread, waits for it
(statements never interleave with a COPY); jobs run one at a time, in the order they were given. ``settle``
waits for every job and raises the first error one raised: the event store and the read models settle
before each of their statements (a read of the events or of game lines, an append, the commit), and the
transaction settles before it rolls back, so a refused run is raised as such and no job outlives its
transaction. Formatting a COPY in the caller's thread reads only the connection's encoding, which a COPY in
flight never changes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, wait
from typing import Any

from psycopg import Connection, Copy
from psycopg.adapt import Dumper
from psycopg.copy import FileWriter

from osmo.adapters.sql_dialect import Cursor, Row, SqlQueries


class Background:
    """The jobs of one transaction on the database's writer thread (see the module docstring)."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._pending: list[Future[None]] = []

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        self._pending.append(self.executor.submit(job, *args))

    def settle(self) -> None:
        """Wait for every job given so far, even through Ctrl-C (a job left running could write after its
        transaction rolled back, and commit on its own); then raise the interrupt, else the first error a job
        raised (once)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        interrupted: BaseException | None = None
        while True:
            try:
                wait(pending)
                break
            except BaseException as interrupt:  # raised once every job is done
                interrupted = interrupted or interrupt
        if interrupted is not None:
            raise interrupted
        for job in pending:
            if (error := job.exception()) is not None:
                raise error

    def failure(self) -> BaseException | None:
        """``settle``, returning what it raises instead (for a transaction that is failing already)."""
        try:
            self.settle()
        except BaseException as error:  # returned, to be raised by the caller
            return error
        return None


class SettledQueries(SqlQueries):
    """The queries of a store or read model of a transaction with a ``Background``: each waits for its jobs first,
    and reads rows in binary."""

    background: Background
    conn: Connection[Any]

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.background.settle()
        return super()._execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.background.settle()
        with self.conn.cursor(binary=True) as cursor:
            return cursor.execute(self.dialect.sql(sql), params).fetchall()


def copy_data(conn: Connection[Any], types: Sequence[str], rows: Iterable[Sequence[Any]],
              dumper: type[Dumper] | None = None) -> bytes:
    """``rows`` as the data of a binary COPY of columns of ``types``, formatted by psycopg without a server (a
    job then only sends it, waiting without holding the GIL)."""
    data = io.BytesIO()
    cursor = conn.cursor()
    if dumper is not None:
        cursor.adapters.register_dumper(None, dumper)
    with Copy(cursor, binary=True, writer=FileWriter(data)) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    return data.getvalue()


def copy_in(conn: Connection[Any], statement: str, data: bytes) -> None:
    """Run ``statement`` (a ``COPY ... FROM STDIN (FORMAT BINARY)``) with ``data`` from ``copy_data``."""
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(data)
