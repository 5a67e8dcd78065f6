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
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

from osmo.adapters import packing
from osmo.adapters.buffered_views import BufferedReadModels, Row, ViewCaches, unlock_row
from osmo.application.ports import GameLineRow, PlayerRow, UnlockRow
from osmo.domain.catalog import Catalog
from osmo.domain.errors import ConcurrencyError, InvalidInput, StoreUnavailable
from osmo.domain.events import NO_STREAM, NewEvent, RecordedEvent
from osmo.domain.players import identity_key

BUSY_TIMEOUT_S = 30.0
CHUNK = 500

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
    for position, layout, blob, itemsize in conn.execute(
            "SELECT position, layout, lines, itemsize FROM game_lines").fetchall():
        conn.executemany("INSERT INTO player_games VALUES (?, ?)",
                         [(key, position) for key in packing.keys_of(blob, itemsize, layouts[layout])])


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
]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _decode(row: tuple[Any, ...]) -> RecordedEvent:
    position, stream, version, type_, data, metadata, event_id, recorded_at = row
    return RecordedEvent(position, stream, version, type_, orjson.loads(data), orjson.loads(metadata),
                         uuid.UUID(bytes=event_id), recorded_at)


class SqliteEventStore:
    """The ``events`` table. Positions are assigned under the write lock: contiguous, in commit order."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        if not events:
            return []
        fresh = self._not_yet_stored(events)
        position = self.last_position()
        now = _now()
        rows = []
        recorded = []
        versions: dict[str, int] = {}
        for event in fresh:
            version = self._next_version(event, versions)
            versions[event.stream] = version
            position += 1
            metadata = {"schema": 1, **(event.metadata or {})}
            rows.append((position, event.stream, version, event.type, orjson.dumps(event.data).decode(),
                         orjson.dumps(metadata).decode(), event.event_id.bytes, now))
            recorded.append(RecordedEvent(position, event.stream, version, event.type, event.data, metadata,
                                          event.event_id, now))
        try:
            self.conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError as error:
            raise ConcurrencyError(f"a stream was written concurrently: {error}") from None
        return recorded

    def _not_yet_stored(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        stored: set[bytes] = set()
        for start in range(0, len(events), CHUNK):
            ids = [e.event_id.bytes for e in events[start:start + CHUNK]]
            marks = ",".join("?" * len(ids))
            stored.update(r[0] for r in self.conn.execute(
                f"SELECT event_id FROM events WHERE event_id IN ({marks})", ids))
        return [e for e in events if e.event_id.bytes not in stored] if stored else list(events)

    def _next_version(self, event: NewEvent, versions: dict[str, int]) -> int:
        if event.expected_version == NO_STREAM and event.stream not in versions:
            return 0
        current = versions.get(event.stream)
        if current is None:
            (current,) = self.conn.execute(
                "SELECT coalesce(max(version), -1) FROM events WHERE stream = ?", (event.stream,)).fetchone()
        if event.expected_version is not None and current != event.expected_version:
            raise ConcurrencyError(
                f"stream {event.stream!r} is at version {current}, expected {event.expected_version}")
        return int(current) + 1

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        cursor = self.conn.execute(
            "SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?", (after, limit or -1))
        for row in cursor:
            yield _decode(row)

    def read_stream(self, stream: str) -> list[RecordedEvent]:
        rows = self.conn.execute("SELECT * FROM events WHERE stream = ? ORDER BY version", (stream,))
        return [_decode(r) for r in rows]

    def first_events(self, streams: Iterable[str]) -> dict[str, RecordedEvent]:
        names = list(streams)
        found: dict[str, RecordedEvent] = {}
        for start in range(0, len(names), CHUNK):
            part = names[start:start + CHUNK]
            marks = ",".join("?" * len(part))
            for row in self.conn.execute(
                    f"SELECT * FROM events WHERE version = 0 AND stream IN ({marks})", part):
                event = _decode(row)
                found[event.stream] = event
        return found

    def stream_version(self, stream: str) -> int:
        (version,) = self.conn.execute(
            "SELECT coalesce(max(version), -1) FROM events WHERE stream = ?", (stream,)).fetchone()
        return int(version)

    def of_type(self, event_type: str) -> list[RecordedEvent]:
        return [_decode(r) for r in self.conn.execute(
            "SELECT * FROM events WHERE type = ? ORDER BY position", (event_type,))]

    def last_position(self) -> int:
        (position,) = self.conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
        return int(position)


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
    the game vector, the career snapshot after the game; see ``osmo.domain.packing``). One row per
    game instead of one per player keeps ingest fast; backfill and explain unpack them in bulk.
    """

    def __init__(self, conn: sqlite3.Connection, writable: bool = True, memory: _Memory | None = None) -> None:
        self.conn = conn
        self.memory = memory or _Memory()
        super().__init__(writable, self.memory)

    # -- layout ------------------------------------------------------------------------------
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
        stat_ids = orjson.dumps(catalog.stat_ids).decode()
        row = self.conn.execute("SELECT id FROM layouts WHERE stat_ids = ?", (stat_ids,)).fetchone()
        if row is None and self.writable:
            row = self.conn.execute("INSERT INTO layouts (stat_ids) VALUES (?) RETURNING id", (stat_ids,)).fetchone()
        self.layout = row[0] if row else 0
        columns = ", ".join(catalog.career_names)
        selected = ", ".join(f"coalesce(c.{n}, 0)" if n in have else "0" for n in catalog.career_names)
        self._career_select = (
            f"SELECT p.player_id, p.position, c.player_id IS NOT NULL, {selected} "
            "FROM players p LEFT JOIN careers c USING (player_id) WHERE p.player_id IN ")
        updates = ", ".join(f"{n} = excluded.{n}" for n in ("position", *catalog.career_names))
        self._career_upsert = (
            f"INSERT INTO careers (player_id, position, {columns}) "
            f"VALUES ({', '.join('?' * (len(catalog.career_names) + 2))}) "
            f"ON CONFLICT (player_id) DO UPDATE SET {updates}")
        memory.catalog, memory.layout = catalog, self.layout
        memory.statements = (self._career_select, self._career_upsert)

    def _layout_rows(self) -> Iterable[tuple[int, str]]:
        return self.conn.execute("SELECT id, stat_ids FROM layouts")

    # -- checkpoints -------------------------------------------------------------------------
    def _stored_checkpoint(self, name: str) -> int:
        row = self.conn.execute("SELECT position FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def set_checkpoint(self, name: str, position: int) -> None:
        self._checkpoints[name] = position
        self.conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (name, position))

    # -- players -----------------------------------------------------------------------------
    def add_player(self, player_id: str, name: str, position: int, registered_at: str) -> None:
        self.conn.execute(
            "INSERT INTO players (player_id, name, position, registered_at, id_key, name_key) "
            "VALUES (?, ?, ?, ?, ?, ?)", (player_id, name, position, registered_at, identity_key(player_id),
                                         identity_key(name)))

    def rename_player(self, player_id: str, name: str) -> None:
        self.conn.execute("UPDATE players SET name = ?, name_key = ? WHERE player_id = ?",
                          (name, identity_key(name), player_id))

    def find_player(self, key: str) -> PlayerRow | None:
        folded = identity_key(key)
        row = self.conn.execute(
            "SELECT player_id, name, registered_at FROM ("
            " SELECT *, 0 AS rank FROM players WHERE player_id = ?"
            " UNION ALL SELECT *, 1 FROM players WHERE name = ?"
            " UNION ALL SELECT *, 2 FROM players WHERE id_key = ?"
            " UNION ALL SELECT *, 3 FROM players WHERE name_key = ?) ORDER BY rank LIMIT 1",
            (key, key, folded, folded)).fetchone()
        return PlayerRow(*row) if row else None

    def clashing_player(self, player_id: str, name: str) -> PlayerRow | None:
        keys = (identity_key(player_id), identity_key(name))
        row = self.conn.execute(
            "SELECT player_id, name, registered_at FROM players WHERE id_key IN (?, ?) OR name_key IN (?, ?) "
            "LIMIT 1", keys + keys).fetchone()
        return PlayerRow(*row) if row else None

    def players(self) -> list[PlayerRow]:
        rows = self.conn.execute("SELECT player_id, name, registered_at FROM players ORDER BY position")
        return [PlayerRow(*r) for r in rows]

    def registered(self, player_ids: Iterable[str]) -> set[str]:
        ids = list(set(player_ids))
        found: set[str] = set()
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            found.update(r[0] for r in self.conn.execute(
                f"SELECT player_id FROM players WHERE player_id IN ({','.join('?' * len(part))})", part))
        return found

    def _stored_key(self, player_id: str) -> int:
        row = self.conn.execute("SELECT position FROM players WHERE player_id = ?", (player_id,)).fetchone()
        return row[0]  # type: ignore[no-any-return]

    # -- careers and game lines --------------------------------------------------------------
    def _career_rows(self, player_ids: list[str]) -> Iterator[Row]:
        for start in range(0, len(player_ids), CHUNK):
            part = player_ids[start:start + CHUNK]
            yield from self.conn.execute(self._career_select + f"({','.join('?' * len(part))})", part)

    def flush(self) -> None:
        if self._lines:
            self.conn.executemany("INSERT INTO game_lines VALUES (?, ?, ?, ?, ?, ?)", self._game_line_records())
            self.conn.executemany("INSERT INTO player_games VALUES (?, ?)", self._player_game_records())
            self._lines.clear()
        if self._dirty:
            self.conn.executemany(self._career_upsert, self._career_records())
            self._dirty.clear()

    # -- unlocks -----------------------------------------------------------------------------
    def _active_awards(self, player_ids: list[str]) -> Iterable[tuple[str, str]]:
        return self.conn.execute(
            "SELECT player_id, award_id FROM unlocks WHERE active AND player_id IN "
            f"({','.join('?' * len(player_ids))})", player_ids)

    def _store_unlock(self, row: UnlockRow) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO unlocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row.player_id, row.award_id, row.game_id, row.game_position, row.unlocked_at, row.recorded_at,
             row.catalog_version, row.source, row.version, int(row.active), row.reason))

    def _store_revoke(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None:
        self.conn.execute(
            "UPDATE unlocks SET active = 0, version = ?, reason = ?, source = ? WHERE player_id = ? AND award_id = ?",
            (version, reason, source, player_id, award_id))

    def unlock(self, player_id: str, award_id: str) -> UnlockRow | None:
        row = self.conn.execute("SELECT * FROM unlocks WHERE player_id = ? AND award_id = ?",
                                (player_id, award_id)).fetchone()
        return unlock_row(row) if row else None

    def unlocks_of(self, player_id: str) -> list[UnlockRow]:
        rows = self.conn.execute(
            "SELECT * FROM unlocks WHERE player_id = ? AND active ORDER BY game_position, award_id", (player_id,))
        return [unlock_row(r) for r in rows]

    def holders(self) -> dict[str, int]:
        return dict(self.conn.execute(
            "SELECT award_id, count(*) FROM unlocks WHERE active GROUP BY award_id").fetchall())

    def players_with_games(self) -> int:
        (count,) = self.conn.execute("SELECT count(*) FROM careers WHERE games_played > 0").fetchone()
        return int(count)

    def _lines_of_layout(self, layout: int) -> Generator[tuple[bytes, int], None, None]:
        yield from self.conn.execute("SELECT lines, itemsize FROM game_lines WHERE layout = ?", (layout,))

    # -- history -----------------------------------------------------------------------------
    def award_holders(self, award_id: str) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT player_id FROM unlocks WHERE award_id = ? AND (active OR source = 'operator')", (award_id,))}

    def game_count(self) -> int:
        self.flush()
        (count,) = self.conn.execute("SELECT count(*) FROM game_lines").fetchone()
        return int(count)

    def player_keys(self) -> dict[int, str]:
        return {key: player_id for player_id, key in self.conn.execute("SELECT player_id, position FROM players")}

    def _game_rows(self, after: int, limit: int) -> list[Row]:
        return self.conn.execute(
            "SELECT position, game_id, finished_at, layout, lines, itemsize FROM game_lines WHERE position > ? "
            "ORDER BY position LIMIT ?", (after, limit)).fetchall()

    def _game_rows_at(self, positions: list[int]) -> list[Row]:
        return self.conn.execute(
            "SELECT position, game_id, finished_at, layout, lines, itemsize FROM game_lines WHERE position IN "
            f"({','.join('?' * len(positions))}) ORDER BY position", positions).fetchall()

    def _last_game(self, key: int, before: int) -> int | None:
        (position,) = self.conn.execute("SELECT max(position) FROM player_games WHERE player_key = ? AND position < ?",
                                        (key, before)).fetchone()
        return None if position is None else int(position)

    def _player_game_rows(self, keys: list[int], after: int, before: int | None) -> Iterable[tuple[int, int]]:
        return self.conn.execute(
            f"SELECT player_key, position FROM player_games WHERE player_key IN ({','.join('?' * len(keys))}) "
            "AND position > ? AND position < ? ORDER BY position",
            (*keys, after, before if before is not None else 2**63 - 1))

    def remove_game(self, position: int) -> None:
        self.flush()
        self.conn.execute("DELETE FROM game_lines WHERE position = ?", (position,))
        self.conn.execute("DELETE FROM player_games WHERE position = ?", (position,))

    def replace_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        self.flush()
        blob, itemsize = self._pack(rows)
        self.conn.execute("UPDATE game_lines SET layout = ?, lines = ?, itemsize = ? WHERE position = ?",
                          (self.layout, blob, itemsize, rows[0].position))

    def reset(self) -> None:
        for table in ("players", "careers", "game_lines", "player_games", "unlocks", "checkpoints"):
            self.conn.execute(f"DELETE FROM {table}")
        catalog = self.catalog
        self._forget()
        self.catalog = None
        if catalog is not None:
            self.use_catalog(catalog)


class SqliteTransaction:
    """One SQLite transaction: the event store, and the read models by role (one object serves them all)."""

    def __init__(self, conn: sqlite3.Connection, writable: bool, memory: _Memory | None = None) -> None:
        self.events = SqliteEventStore(conn)
        self.views = SqliteReadModels(conn, writable, memory)
        self.players = self.careers = self.lines = self.unlocks = self.checkpoints = self.projections = self.views


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
               idle: float | None = None, poll: float = 0.05) -> Iterator[RecordedEvent]:
        """Committed events with ``position > after`` in global order, as they come: reads forward
        ``batch`` at a time and, once caught up, polls every ``poll`` seconds (SQLite has no
        notifications; ``wait`` is accepted for the port's sake). Positions are assigned under the write
        lock in commit order, so reading ``position > last`` never skips an event. Runs on its own
        connection, so the caller may write through this database while iterating. Ends once ``until``
        was yielded, or after ``idle`` seconds without a new event."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self.busy_timeout_s)
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot open SQLite database {self.path!r}: {error}") from None
        try:
            position = after
            quiet_since = time.monotonic()
            while until is None or position < until:
                rows = conn.execute("SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?",
                                    (position, batch)).fetchall()
                for row in rows:
                    event = _decode(row)
                    position = event.position
                    yield event
                    if until is not None and position >= until:
                        return
                if len(rows) == batch:
                    continue
                now = time.monotonic()
                if rows:
                    quiet_since = now
                elif idle is not None and now - quiet_since >= idle:
                    return
                time.sleep(poll)
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite database {self.path!r} failed: {error}") from None
        finally:
            conn.close()

    def close(self) -> None:
        self.conn.close()


def _store_fault(error: BaseException) -> bool:
    """A failure of the database itself (locked, unreachable, damaged), not of osmo's use of it."""
    return isinstance(error, sqlite3.DatabaseError) and not isinstance(
        error, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError)
