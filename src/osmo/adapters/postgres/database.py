"""``PostgresDatabase``: one osmo store in one schema: its connection, transactions (the writer lock,
``NOTIFY`` at commit) and the ``follow`` subscription. See the package docstring for the guarantees."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress

import psycopg

from osmo.adapters.postgres import connection
from osmo.adapters.postgres.background import Background
from osmo.adapters.postgres.connection import ANSWER_TIMEOUT_S, LOCK_TIMEOUT_MS, Connection, lock_key
from osmo.adapters.postgres.events import PostgresEventStore, decode_event
from osmo.adapters.postgres.migrations import migrate, schema_version
from osmo.adapters.postgres.views import PostgresReadModels
from osmo.adapters.sql_dialect import POSTGRES
from osmo.adapters.sql_events import EVENTS_AFTER, follow_loop
from osmo.domain.errors import StoreUnavailable
from osmo.domain.events import RecordedEvent

CHANNEL = "osmo_events"


class PostgresTransaction:
    """One PostgreSQL transaction: the event store, and the read models by role (one object serves them all)."""

    def __init__(self, conn: Connection, database: PostgresDatabase, writable: bool) -> None:
        self.background = Background(database.writer)
        self.events = PostgresEventStore(conn, self.background)
        self.views = PostgresReadModels(conn, database, writable, self.background)
        self.players = self.careers = self.lines = self.unlocks = self.checkpoints = self.projections = self.views
        self.keys = self.webhooks = self.boards = self.views


class PostgresDatabase:
    """One PostgreSQL schema (the first on the URL's ``search_path``, or ``schema``).

    ``transaction()`` holds the writer lock until it commits; ``reader()`` is a consistent snapshot.
    """

    def __init__(self, url: str, *, schema: str | None = None, lock_timeout_ms: int = LOCK_TIMEOUT_MS,
                 timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.server = connection.describe(url)
        self.requested_schema = schema
        self.lock_timeout_ms = lock_timeout_ms
        self.career_columns: set[str] = set()
        self.layouts: dict[str, int] = {}
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="osmo-copy")  # see background.py
        self.conn = self._connect()
        try:
            row = self.conn.execute("SELECT current_schema()").fetchone()
            if row is None or row[0] is None:
                raise StoreUnavailable(f"PostgreSQL server {self.server}: no schema of the search_path exists")
            self.schema: str = row[0]
            self.append_lock = lock_key(self.schema)
            migrate(self.conn, self.schema)
        except BaseException as error:
            self.close()
            if isinstance(error, psycopg.Error):
                raise self._unavailable(error) from None
            raise

    # -- connections and errors ---------------------------------------------------------------
    def _connect(self) -> Connection:
        try:
            return connection.connect(self.url, schema=self.requested_schema, lock_timeout_ms=self.lock_timeout_ms,
                                      timeout_s=self.timeout_s)
        except psycopg.Error as error:
            raise self._unavailable(error) from None

    def _connection(self) -> Connection:
        """The connection, reopened if the server dropped it."""
        if self.conn.closed or self.conn.broken:
            self.conn.close()
            self.conn = self._connect()
        return self.conn

    def _unavailable(self, error: BaseException) -> StoreUnavailable:
        return connection.unavailable(self.server, self.url, error)

    def schema_version(self) -> int:
        return schema_version(self._connection())

    # -- transactions ---------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[PostgresTransaction]:
        return self._begin(writable=True)

    def reader(self) -> AbstractContextManager[PostgresTransaction]:
        return self._begin(writable=False)

    @contextmanager
    def _begin(self, writable: bool) -> Iterator[PostgresTransaction]:
        try:
            conn = self._connection()
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise RuntimeError("a transaction is already open on this PostgresDatabase (use one per thread)")
            if writable:
                conn.execute(f"BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({self.append_lock})")
            else:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise self._unavailable(error) from None
        tx = PostgresTransaction(conn, self, writable)
        try:
            yield tx
            tx.views.flush()  # settles the background first
            appended = tx.events.appended
            if appended is not None:
                payload = f"{self.schema} {appended}".replace("'", "''")
                conn.execute(f"NOTIFY {CHANNEL}, '{payload}'; COMMIT")
            else:
                conn.execute("COMMIT")
        except BaseException as error:
            first = tx.background.failure()  # no job outlives the transaction
            if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with suppress(psycopg.Error):
                    conn.rollback()
            # A COPY that failed in the background is the cause of a later statement's failure; an interrupt wins.
            cause = first if first is not None and (isinstance(error, Exception) or
                                                    not isinstance(first, Exception)) else error
            if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
                raise self._unavailable(cause) from None
            if cause is not error:
                raise cause from None
            raise
        self.career_columns |= tx.views.columns
        self.layouts.update(tx.views.layouts)

    # -- subscription ---------------------------------------------------------------------------
    def follow(self, after: int = 0, *, batch: int = 500, wait: float = 5.0, until: int | None = None,
               idle: float | None = None, stop: Callable[[], bool] | None = None) -> Iterator[RecordedEvent]:
        """Events with ``position > after``, in global order, forever: a catch-up subscription.

        Reads forward ``batch`` events at a time; once caught up, blocks on ``LISTEN osmo_events`` (writers
        notify in the appending transaction, so the wake-up comes at their commit) instead of polling.
        ``LISTEN`` is issued before the first read, so no commit falls between a read and the wait.
        Positions are contiguous and in commit order (see the package docstring): reading
        ``position > last`` never skips an event, no gap detection is needed.

        Stops (the iterator ends) when:
        - ``until`` is given and the event at that position (or beyond) was yielded;
        - ``idle`` is given and no new event came for that many seconds once caught up;
        - ``stop()`` returns true: it is called after every batch and at least every ``wait`` seconds
          while caught up (``wait`` also bounds how long a lost notification could delay a read).

        Runs on its own connection (closed when the iterator ends or is closed), so the consumer can
        use this database's transactions while iterating, e.g. a worker handling each event and
        storing its checkpoint. Raises StoreUnavailable if the server goes away.
        """
        listener = self._connect()
        read_forward = POSTGRES.sql(EVENTS_AFTER)

        def read(position: int, limit: int) -> list[RecordedEvent]:
            with listener.cursor(binary=True) as cursor:
                return [decode_event(row) for row in cursor.execute(read_forward, (position, limit)).fetchall()]

        def wait_for_commit(timeout: float) -> None:
            for _ in listener.notifies(timeout=timeout, stop_after=1):
                pass  # woken by a commit (possibly of another schema: then the next read is empty)

        try:
            listener.execute(f"LISTEN {CHANNEL}")
            yield from follow_loop(read, wait_for_commit, after, batch=batch, wait=wait, until=until, idle=idle,
                                   stop=stop)
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise self._unavailable(error) from None
        finally:
            listener.close()

    def close(self) -> None:
        """Close the connection and stop the writer thread (a later transaction opens both again)."""
        self.writer.shutdown()
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="osmo-copy")  # starts no thread until used
        self.conn.close()
