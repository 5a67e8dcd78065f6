"""SQLite backend: the embedded default, one file in WAL mode.

Durability: ``synchronous=FULL`` by default. In WAL mode that syncs the log on every commit, so a game
osmo reported as recorded survives a crash of the process, the OS or the power. ``NORMAL`` (opt in with
``OSMO_SQLITE_SYNCHRONOUS=NORMAL``) survives a process crash and never corrupts the file, but the last
commits before a power loss may be rolled back.

Writers take the write lock up front (``BEGIN IMMEDIATE``), so positions are assigned in commit order
and a reader following ``position`` never skips an event.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager

import orjson

from osmo.adapters import packing
from osmo.adapters.buffered_views import UPSERT_CHECKPOINT, BufferedReadModels, ViewCaches
from osmo.adapters.sql_dialect import SQLITE, Row
from osmo.adapters.sql_events import EVENTS_AFTER, SqlEventStore, follow_loop, recorded_event
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput, StoreUnavailable
from osmo.domain.events import RecordedEvent
from osmo.domain.players import identity_key

BUSY_TIMEOUT_S = 30.0


def _index_players_and_games(conn: sqlite3.Connection) -> None:
    """Migration 3: identity keys of players (ids and names compared case-insensitively), and the
    ``player_games`` index (each player's games, for voids and player histories) filled from game lines."""
    conn.execute("ALTER TABLE players ADD COLUMN id_key TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE players ADD COLUMN name_key TEXT NOT NULL DEFAULT ''")
    for player_id, name in conn.execute("SELECT player_id, name FROM players").fetchall():
        conn.execute("UPDATE players SET id_key = ?, name_key = ? WHERE player_id = ?",
                     (identity_key(player_id), identity_key(name), player_id))
    conn.execute("CREATE INDEX players_by_id_key ON players (id_key)")
    conn.execute("CREATE INDEX players_by_name_key ON players (name_key)")
    conn.execute("CREATE TABLE player_games (player_key INTEGER NOT NULL, position INTEGER NOT NULL, "
                 "PRIMARY KEY (player_key, position)) WITHOUT ROWID")
    layouts = {i: len(orjson.loads(ids)) for i, ids in conn.execute("SELECT id, stat_ids FROM layouts")}
    after = 0
    while rows := conn.execute("SELECT position, layout, lines, itemsize FROM game_lines WHERE position > ? "
                               "ORDER BY position LIMIT 5000", (after,)).fetchall():
        conn.executemany("INSERT INTO player_games VALUES (?, ?)", [
            (key, position) for position, layout, blob, itemsize in rows
            for key in packing.keys_of(blob, itemsize, layouts[layout])])
        after = rows[-1][0]


def _runs_of_player_games(conn: sqlite3.Connection) -> None:
    """The migration to ``player_runs``: each player's games as runs of positions (``packing.position_runs``:
    one row per player and write instead of one per game line, which made writing a game's lines cost twice as
    much)."""
    conn.execute("CREATE TABLE player_runs (player_key INTEGER NOT NULL, first_position INTEGER NOT NULL, "
                 "last_position INTEGER NOT NULL, positions BLOB NOT NULL, "
                 "PRIMARY KEY (player_key, first_position)) WITHOUT ROWID")
    for runs in packing.runs_of_pairs(lambda after: conn.execute(
            "SELECT player_key, position FROM player_games WHERE (player_key, position) > (?, ?) "
            "ORDER BY player_key, position LIMIT 100000", after).fetchall()):
        conn.executemany("INSERT INTO player_runs VALUES (?, ?, ?, ?)", runs)
    conn.execute("DROP TABLE player_games")


MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    """
    CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        event_id BLOB NOT NULL UNIQUE,
        recorded_at TEXT NOT NULL,
        UNIQUE (stream, version)
    );
    CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
    CREATE TABLE players (
        player_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        position INTEGER NOT NULL,
        registered_at TEXT NOT NULL
    );
    CREATE TABLE careers (player_id TEXT PRIMARY KEY, position INTEGER NOT NULL);
    CREATE TABLE layouts (id INTEGER PRIMARY KEY, stat_ids TEXT NOT NULL UNIQUE);
    CREATE TABLE game_lines (
        position INTEGER PRIMARY KEY,
        game_id TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        layout INTEGER NOT NULL,
        lines BLOB NOT NULL
    );
    CREATE TABLE unlocks (
        player_id TEXT NOT NULL,
        award_id TEXT NOT NULL,
        game_id TEXT,
        game_position INTEGER,
        unlocked_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        catalog_version INTEGER,
        source TEXT NOT NULL,
        version INTEGER NOT NULL,
        active INTEGER NOT NULL,
        reason TEXT,
        PRIMARY KEY (player_id, award_id)
    );
    CREATE INDEX unlocks_by_award ON unlocks (award_id) WHERE active;
    """,
    "ALTER TABLE game_lines ADD COLUMN itemsize INTEGER NOT NULL DEFAULT 8",
    _index_players_and_games,
    """
    CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        prefix TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE webhooks (
        webhook_id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL,
        created_at TEXT NOT NULL,
        cursor INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        webhook_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status INTEGER,
        error TEXT,
        delivered_at TEXT NOT NULL
    );
    CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
    CREATE INDEX game_lines_by_finish ON game_lines (finished_at);
    CREATE INDEX unlocks_by_recorded ON unlocks (recorded_at) WHERE active;
    """,
    _runs_of_player_games,
]


def _decode(row: Row) -> RecordedEvent:
    return recorded_event(row, uuid.UUID(bytes=row[6]))


class SqliteEventStore(SqlEventStore):
    """The ``events`` table (event ids as 16 bytes). Positions are assigned under the write lock."""

    dialect = SQLITE
    conflict = sqlite3.IntegrityError
    conn: sqlite3.Connection

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    _decode = staticmethod(_decode)

    @staticmethod
    def _stored_id(event_id: uuid.UUID) -> bytes:
        return event_id.bytes

    @staticmethod
    def _stored_digest(event_id: bytes) -> bytes:
        return event_id

    def _insert(self, rows: list[Row]) -> None:
        self.conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        for row in self._execute(EVENTS_AFTER, (after, limit or -1)):
            yield _decode(row)


class _Memory(ViewCaches):
    """What a writer remembers between its own transactions: careers, held awards, checkpoints and the
    catalog layout. Valid while no other connection commits (``PRAGMA data_version`` tells); dropped
    after a rollback."""

    def __init__(self) -> None:
        super().__init__()
        self.data_version = -1
        self.catalog: Catalog | None = None
        self.layout = 0
        self.statements: tuple[str, str] = ("", "")

    def forget(self) -> None:
        self.catalog = None
        super().forget()


class SqliteReadModels(BufferedReadModels):
    """Projections in SQLite. Careers and game lines are buffered and written at commit.

    ``game_lines`` keeps one row per game: the lines of its players packed as int32 or int64 (player key, team,
    the game vector, the career snapshot after the game; see ``osmo.adapters.packing``). One row per
    game instead of one per player keeps ingest fast; backfill and explain unpack them in bulk.
    """

    dialect = SQLITE
    conn: sqlite3.Connection

    def __init__(self, conn: sqlite3.Connection, writable: bool = True, memory: _Memory | None = None) -> None:
        self.conn = conn
        self.memory = memory or _Memory()
        super().__init__(writable, self.memory)

    def use_catalog(self, catalog: Catalog) -> None:
        """Adopt the catalog's layout; a writer adds the career columns and the layout it lacks, a reader
        reads what is there (career stats the store does not have yet read as 0)."""
        memory = self.memory
        if memory.catalog is catalog:
            self.catalog, self.layout = catalog, memory.layout
            self._career_select, self._career_upsert = memory.statements
            return
        if memory.catalog is not None:
            self.flush()  # careers buffered in the old layout are written in it
            self._careers.clear()
        self.catalog = catalog
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(careers)")}
        if self.writable:
            for name in catalog.career_names:
                if name not in have:
                    self.conn.execute(f"ALTER TABLE careers ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0")
            have.update(catalog.career_names)
        self.layout = self._stored_layout(orjson.dumps(catalog.stat_ids).decode()) or 0
        self._career_select, self._career_upsert = self._career_statements(catalog.career_names, have)
        memory.catalog, memory.layout = catalog, self.layout
        memory.statements = (self._career_select, self._career_upsert)

    def set_checkpoint(self, name: str, position: int) -> None:
        self._checkpoints[name] = position
        self.conn.execute(UPSERT_CHECKPOINT, (name, position))

    def flush(self) -> None:
        if self._lines or self._blocks:
            records, runs = self._pending_games()
            self.conn.executemany("INSERT INTO game_lines VALUES (?, ?, ?, ?, ?, ?)", records)
            self.conn.executemany("INSERT INTO player_runs VALUES (?, ?, ?, ?)", runs)
        if self._dirty:
            self.conn.executemany(self._career_upsert, self._career_records())
            self._dirty.clear()

    def _career_column(self, name: str) -> bool:
        return any(r[1] == name for r in self.conn.execute("PRAGMA table_info(careers)"))

    def players_with_games(self) -> int:
        if not any(r[1] == "games_played" for r in self.conn.execute("PRAGMA table_info(careers)")):
            return 0  # no writer has added the career columns yet: nobody has played
        (count,) = self.conn.execute("SELECT count(*) FROM careers WHERE games_played > 0").fetchone()
        return int(count)

    def _lines_of_layout(self, layout: int) -> Generator[tuple[bytes, int], None, None]:
        yield from self.conn.execute("SELECT lines, itemsize FROM game_lines WHERE layout = ?", (layout,))

    def reset(self) -> None:
        super().reset()  # the memory forgot the catalog too: adopt it again
        catalog, self.catalog = self.catalog, None
        if catalog is not None:
            self.use_catalog(catalog)


class SqliteTransaction:
    """One SQLite transaction: the event store, and the read models by role (one object serves them all)."""

    def __init__(self, conn: sqlite3.Connection, writable: bool, memory: _Memory | None = None) -> None:
        self.events = SqliteEventStore(conn)
        self.views = SqliteReadModels(conn, writable, memory)
        self.players = self.careers = self.lines = self.unlocks = self.checkpoints = self.projections = self.views
        self.keys = self.webhooks = self.boards = self.views


class SqliteDatabase:
    """One SQLite file. ``transaction()`` holds the write lock until it commits."""

    def __init__(self, path: str, synchronous: str = "FULL", *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self.busy_timeout_s = busy_timeout_s
        self._memory = _Memory()
        if self.synchronous not in ("FULL", "NORMAL", "EXTRA", "OFF"):
            raise InvalidInput(f"synchronous must be FULL, NORMAL, EXTRA or OFF, not {self.synchronous!r}")
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(f"PRAGMA synchronous={self.synchronous}")
            self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            self.conn.execute("PRAGMA cache_size=-65536")
            self._migrate()
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open SQLite database {path!r}: {error}") from None

    def _migrate(self) -> None:
        (current,) = self.conn.execute("PRAGMA user_version").fetchone()
        if current >= len(MIGRATIONS):
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            (current,) = self.conn.execute("PRAGMA user_version").fetchone()
            for version in range(current, len(MIGRATIONS)):
                step = MIGRATIONS[version]
                if callable(step):
                    step(self.conn)
                else:
                    for statement in step.split(";"):
                        if statement.strip():
                            self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={version + 1}")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def transaction(self) -> AbstractContextManager[SqliteTransaction]:
        return self._begin("BEGIN IMMEDIATE")

    def reader(self) -> AbstractContextManager[SqliteTransaction]:
        return self._begin("BEGIN")

    @contextmanager
    def _begin(self, begin: str) -> Iterator[SqliteTransaction]:
        conn = self.conn
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(f"SQLite database {self.path!r} is unavailable: {error}") from None
        writable = begin == "BEGIN IMMEDIATE"
        memory = self._memory if writable else None
        if memory is not None:
            (version,) = conn.execute("PRAGMA data_version").fetchone()
            if version != memory.data_version:
                memory.forget()
                memory.data_version = version
        tx = SqliteTransaction(conn, writable, memory)
        try:
            yield tx
            tx.views.flush()
            conn.execute("COMMIT")
        except BaseException as error:
            if memory is not None:
                memory.forget()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if _store_fault(error):
                raise StoreUnavailable(f"SQLite database {self.path!r} failed: {error}") from None
            raise

    def follow(self, after: int = 0, *, batch: int = 500, wait: float = 1.0, until: int | None = None,
               idle: float | None = None, stop: Callable[[], bool] | None = None,
               poll: float = 0.01) -> Iterator[RecordedEvent]:
        """Committed events with ``position > after`` in global order, as they come: reads forward
        ``batch`` at a time and, once caught up, polls every ``poll`` seconds (SQLite has no
        notifications; ``wait`` is accepted for the port's sake). Positions are assigned under the write
        lock in commit order, so reading ``position > last`` never skips an event. Runs on its own
        connection, so the caller may write through this database while iterating. Ends once ``until``
        was yielded, after ``idle`` seconds without a new event, or when ``stop()`` is true."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self.busy_timeout_s)
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open SQLite database {self.path!r}: {error}") from None

        def read(position: int, limit: int) -> list[RecordedEvent]:
            return [_decode(row) for row in conn.execute(EVENTS_AFTER, (position, limit)).fetchall()]

        try:
            yield from follow_loop(read, lambda timeout: time.sleep(min(poll, timeout)), after, batch=batch,
                                   wait=wait, until=until, idle=idle, stop=stop)
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite database {self.path!r} failed: {error}") from None
        finally:
            conn.close()

    def close(self) -> None:
        self.conn.close()


# SQLite's primary result codes for a store that cannot serve: busy or locked (another writer past the
# timeout), read-only, I/O error, damaged, full, cannot open, not a database.
STORE_FAULTS = frozenset({5, 6, 8, 10, 11, 13, 14, 26})


def _store_fault(error: BaseException) -> bool:
    """A failure of the database itself (locked, unreachable, damaged), not of osmo's use of it (an SQL or
    schema mistake is a bug: it must not pass for an unavailable store)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in STORE_FAULTS
