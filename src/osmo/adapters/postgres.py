"""PostgreSQL backend: the production store. Same tables, same behaviour as the SQLite backend.

Global order. Positions are assigned by osmo, not by a sequence: a writer transaction first takes a
transaction-level advisory lock (``pg_advisory_xact_lock``, the equivalent of SQLite's ``BEGIN
IMMEDIATE``), then reads ``max(position)`` and numbers its events ``max + 1, max + 2, ...``. Writers run
at READ COMMITTED on purpose: every statement after the lock takes a fresh snapshot, and PostgreSQL
releases a transaction's locks only after its commit is visible, so the next writer always sees the
rows of the previous one. Hence:

- positions are contiguous (a rolled-back writer leaves no hole: the next one reads the same max);
- they are in commit order: the writer of position p + 1 got the lock after the writer of p committed.

So a reader that has seen position p + 1 has necessarily seen p: following ``position > last`` can never
skip an event committed late, which a ``bigserial`` column cannot promise (numbers are taken at
INSERT, transactions commit in any order). The price is one writer at a time per schema, exactly as
with SQLite: a chunk of 500 games holds the lock while it is folded and written (about 0.1 s here). A
writer waits at most ``lock_timeout`` (10 s, like SQLite's busy timeout) and then fails with
StoreUnavailable. (Writers must not run at REPEATABLE READ: their snapshot would be taken before the
lock is granted.)

Readers. ``reader()`` is a REPEATABLE READ, READ ONLY transaction: one consistent snapshot, no lock.

Subscriptions. Writers ``NOTIFY osmo_events`` in the transaction that appended (delivered at commit,
payload ``"<schema> <last position>"``); ``PostgresDatabase.follow`` reads forward from a position and,
once caught up, blocks on ``LISTEN`` instead of polling. See its docstring.

Payloads. ``data`` and ``metadata`` are TEXT holding orjson's output, not JSONB: the bytes read back are
the bytes written (JSONB reorders object keys, and the order of a catalog's stats is its column
layout), the server does not parse JSON on the hot path (binary COPY of TEXT was about twice as fast
as JSONB here, and reads return a string orjson parses once instead of JSONB being re-serialised),
and nothing queries inside payloads: projections have their own tables. ``data::jsonb`` works in
ad-hoc SQL. Values over 2 kB (a game's packed lines, ~3 kB; catalogs) are TOAST-compressed with lz4
when the server has it: the default pglz made the COPY of packed game lines over ten times slower
(about 170 ms instead of 14 ms per 500 games here) for a size within 25 %.

Writes use binary COPY for batches (events, game lines) and pipelined ``executemany`` for the rest.
Sessions run with ``plan_cache_mode = force_custom_plan``: psycopg prepares statements executed often,
and a generic plan made while the table was small (a seq scan for ``event_id = ANY(...)``) would be
kept as the table grows, making ingest quadratic.

Timestamps are the domain's ISO 8601 strings (TEXT, as in SQLite): they read back exactly as written.

Durability: PostgreSQL's ``synchronous_commit`` (``on`` by default): a commit osmo reported survives a
crash of the server or the machine.

Errors: a unique violation on ``(stream, version)`` or ``event_id`` is a ``ConcurrencyError`` (PostgreSQL
has then aborted the transaction: leave the ``with`` block, as every use case does); a lost
or refused connection (``psycopg.OperationalError``, ``InterfaceError``) is ``StoreUnavailable``, with
a message naming the server (never the password). The next transaction reconnects.

One ``PostgresDatabase`` holds one connection (plus one per running ``follow``): use one per thread.
psycopg is imported only in this module.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from osmo.adapters import packing
from osmo.adapters.buffered_views import BufferedReadModels, Row, ViewCaches, unlock_row
from osmo.application.ports import GameLineRow, PlayerRow, UnlockRow
from osmo.domain.catalog import Catalog
from osmo.domain.errors import ConcurrencyError, InvalidInput, StoreUnavailable
from osmo.domain.events import NO_STREAM, NewEvent, RecordedEvent
from osmo.domain.players import identity_key

CHANNEL = "osmo_events"
CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT_MS = 10_000
ANSWER_TIMEOUT_S = 60.0
PAGE = 1000
COPY_FROM = 16  # rows: below this an INSERT pipeline is cheaper than COPY's extra round trip

EVENT_COLUMNS = "position, stream, version, type, data, metadata, event_id, recorded_at"
UNLOCK_COLUMNS = ("player_id, award_id, game_id, game_position, unlocked_at, recorded_at, catalog_version, "
                  "source, version, active, reason")
EVENT_TYPES = ["int8", "text", "int4", "text", "text", "text", "uuid", "text"]



class Connection(psycopg.Connection[tuple[Any, ...]]):
    """A connection that gives up on a server that stops answering: every wait for the server (a
    statement, a COPY, a commit) ends after ``answer_timeout`` seconds with an OperationalError (so
    StoreUnavailable), and the connection is dropped (the next transaction reconnects). The server
    side has the same bound as ``statement_timeout`` and ``idle_in_transaction_session_timeout``."""

    answer_timeout: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None:  # the caller's own bound (e.g. waiting for notifications): its expiry is normal
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except pg_errors._WaitTimeout:
            self.pgconn.finish()
            raise psycopg.OperationalError(
                f"no answer from the server within {self.answer_timeout:g} s (OSMO_PG_TIMEOUT)") from None

def _index_players_and_games(conn: Connection) -> None:
    """Migration 3: identity keys of players (ids and names compared case-insensitively), and the
    ``player_games`` index (each player's games, for voids and player histories) filled from game lines."""
    conn.execute("ALTER TABLE players ADD COLUMN id_key TEXT NOT NULL DEFAULT '', "
                 "ADD COLUMN name_key TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT player_id, name FROM players").fetchall()
    with conn.cursor() as cursor:
        cursor.executemany("UPDATE players SET id_key = %s, name_key = %s WHERE player_id = %s",
                           [(identity_key(p), identity_key(n), p) for p, n in rows])
    conn.execute("CREATE INDEX players_by_id_key ON players (id_key); "
                 "CREATE INDEX players_by_name_key ON players (name_key)")
    conn.execute("CREATE TABLE player_games (player_key BIGINT NOT NULL, position BIGINT NOT NULL, "
                 "PRIMARY KEY (player_key, position))")
    layouts = {i: len(orjson.loads(ids)) for i, ids in conn.execute("SELECT id, stat_ids FROM layouts")}
    games = conn.execute("SELECT position, layout, lines, itemsize FROM game_lines").fetchall()
    with conn.cursor() as cursor, cursor.copy("COPY player_games FROM STDIN") as copy:
        for position, layout, blob, itemsize in games:
            for key in packing.keys_of(blob, itemsize, layouts[layout]):
                copy.write_row((key, position))


MIGRATIONS: list[str | Callable[[Connection], None]] = [
    """
    CREATE TABLE events (
        position BIGINT PRIMARY KEY,
        stream TEXT NOT NULL,
        version INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        event_id UUID NOT NULL UNIQUE,
        recorded_at TEXT NOT NULL,
        UNIQUE (stream, version)
    );
    CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL);
    CREATE TABLE players (
        player_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        position BIGINT NOT NULL,
        registered_at TEXT NOT NULL
    );
    CREATE TABLE careers (player_id TEXT PRIMARY KEY, position BIGINT NOT NULL);
    CREATE TABLE layouts (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, stat_ids TEXT NOT NULL UNIQUE);
    CREATE TABLE game_lines (
        position BIGINT PRIMARY KEY,
        game_id TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        layout INTEGER NOT NULL,
        lines BYTEA NOT NULL
    );
    CREATE TABLE unlocks (
        player_id TEXT NOT NULL,
        award_id TEXT NOT NULL,
        game_id TEXT,
        game_position BIGINT,
        unlocked_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        catalog_version INTEGER,
        source TEXT NOT NULL,
        version INTEGER NOT NULL,
        active BOOLEAN NOT NULL,
        reason TEXT,
        PRIMARY KEY (player_id, award_id)
    );
    CREATE INDEX unlocks_by_award ON unlocks (award_id) WHERE active;
    DO $$ BEGIN
        ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
        ALTER TABLE game_lines ALTER COLUMN lines SET COMPRESSION lz4;
    EXCEPTION WHEN others THEN NULL;  -- a server built without lz4 keeps pglz
    END $$;
    """,
    "ALTER TABLE game_lines ADD COLUMN itemsize INTEGER NOT NULL DEFAULT 8",
    _index_players_and_games,
]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def lock_key(schema: str, purpose: str = "append") -> int:
    """The advisory lock key (a signed int64) of ``purpose`` in ``schema``: one lock per osmo store, so
    two stores in two schemas of one database do not serialise each other."""
    digest = hashlib.blake2b(f"osmo:{purpose}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _decode(row: tuple[Any, ...]) -> RecordedEvent:
    position, stream, version, type_, data, metadata, event_id, recorded_at = row
    return RecordedEvent(position, stream, version, type_, orjson.loads(data), orjson.loads(metadata),
                         event_id, recorded_at)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresEventStore:
    """The ``events`` table. Positions are assigned under the writer lock: contiguous, in commit order."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.tail: int | None = None  # max(position) as this transaction sees it, once read
        self.appended: int | None = None  # the last position this transaction appended

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        if not events:
            return []
        fresh = self._not_yet_stored(events)
        if not fresh:
            return []
        current = self._current_versions(fresh)
        position = self.last_position()
        now = _now()
        rows = []
        recorded = []
        versions: dict[str, int] = {}
        for event in fresh:
            version = self._next_version(event, versions, current)
            versions[event.stream] = version
            position += 1
            metadata = {"schema": 1, **(event.metadata or {})}
            rows.append((position, event.stream, version, event.type, orjson.dumps(event.data).decode(),
                         orjson.dumps(metadata).decode(), event.event_id, now))
            recorded.append(RecordedEvent(position, event.stream, version, event.type, event.data, metadata,
                                          event.event_id, now))
        try:
            self._insert(rows)
        except pg_errors.UniqueViolation as error:
            raise ConcurrencyError(f"a stream was written concurrently: {error}") from None
        self.tail = self.appended = position
        return recorded

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        with self.conn.cursor() as cursor:
            if len(rows) < COPY_FROM:
                cursor.executemany(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                   rows)
                return
            with cursor.copy(f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(EVENT_TYPES)
                for row in rows:
                    copy.write_row(row)

    def _not_yet_stored(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        stored = {r[0] for r in self.conn.execute(
            "SELECT event_id FROM events WHERE event_id = ANY(%s)", ([e.event_id for e in events],))}
        return [e for e in events if e.event_id not in stored] if stored else list(events)

    def _current_versions(self, events: Sequence[NewEvent]) -> dict[str, int]:
        """The current version of every stream the batch must check (one query for the batch)."""
        seen: set[str] = set()
        wanted: list[str] = []
        for event in events:
            if event.stream not in seen:
                seen.add(event.stream)
                if event.expected_version != NO_STREAM:
                    wanted.append(event.stream)
        if not wanted:
            return {}
        return dict(self.conn.execute(
            "SELECT stream, max(version) FROM events WHERE stream = ANY(%s) GROUP BY stream", (wanted,)))

    @staticmethod
    def _next_version(event: NewEvent, versions: dict[str, int], stored: dict[str, int]) -> int:
        if event.expected_version == NO_STREAM and event.stream not in versions:
            return 0
        current = versions.get(event.stream)
        if current is None:
            current = stored.get(event.stream, -1)
        if event.expected_version is not None and current != event.expected_version:
            raise ConcurrencyError(
                f"stream {event.stream!r} is at version {current}, expected {event.expected_version}")
        return current + 1

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        remaining = limit or None
        while True:
            page = PAGE if remaining is None else min(PAGE, remaining)
            with self.conn.cursor(binary=True) as cursor:
                rows = cursor.execute(
                    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s",
                    (after, page)).fetchall()
            for row in rows:
                yield _decode(row)
            if len(rows) < page:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)
                if remaining <= 0:
                    return

    def read_stream(self, stream: str) -> list[RecordedEvent]:
        with self.conn.cursor(binary=True) as cursor:
            rows = cursor.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE stream = %s ORDER BY version", (stream,)).fetchall()
        return [_decode(r) for r in rows]

    def first_events(self, streams: Iterable[str]) -> dict[str, RecordedEvent]:
        names = list(streams)
        if not names:
            return {}
        with self.conn.cursor(binary=True) as cursor:
            rows = cursor.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE version = 0 AND stream = ANY(%s)", (names,)).fetchall()
        return {row[1]: _decode(row) for row in rows}

    def stream_version(self, stream: str) -> int:
        row = self.conn.execute("SELECT coalesce(max(version), -1) FROM events WHERE stream = %s", (stream,)).fetchone()
        return int(row[0]) if row else -1

    def of_type(self, event_type: str) -> list[RecordedEvent]:
        with self.conn.cursor(binary=True) as cursor:
            rows = cursor.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE type = %s ORDER BY position", (event_type,)).fetchall()
        return [_decode(r) for r in rows]

    def last_position(self) -> int:
        if self.tail is None:
            row = self.conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
            self.tail = int(row[0]) if row else 0
        return self.tail


class PostgresReadModels(BufferedReadModels):
    """Projections in PostgreSQL. Careers, game lines and checkpoints are buffered and written at commit.

    ``game_lines`` keeps one row per game, its lines packed exactly as in SQLite (int32, or int64 when a
    value needs it; see ``osmo.domain.packing``). ``careers`` has one BIGINT column per career stat, added
    by ``use_catalog``. What this transaction learns about the schema (columns, layouts) is shared with
    later transactions of the same ``PostgresDatabase`` once it commits.
    """

    def __init__(self, conn: Connection, database: PostgresDatabase, writable: bool) -> None:
        super().__init__(writable, ViewCaches())
        self.conn = conn
        self.database = database
        self.columns = set(database.career_columns)
        self.layouts = dict(database.layouts)
        self._checkpoints_dirty: dict[str, int] = {}

    # -- layout ------------------------------------------------------------------------------
    def use_catalog(self, catalog: Catalog) -> None:
        if self.catalog is not None and self.catalog is not catalog:
            self.flush()  # careers buffered in the old layout are written in it
            self._careers.clear()
        self.catalog = catalog
        names = catalog.career_names
        if not self.columns.issuperset(names):
            self.columns.update(r[0] for r in self.conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'careers'::regclass AND attnum > 0 "
                "AND NOT attisdropped"))
            missing = [n for n in names if n not in self.columns]
            if missing and self.writable:
                self.conn.execute("ALTER TABLE careers " + ", ".join(
                    f"ADD COLUMN IF NOT EXISTS {_quote(n)} BIGINT NOT NULL DEFAULT 0" for n in missing))
                self.columns.update(missing)
        stat_ids = orjson.dumps(catalog.stat_ids).decode()
        layout = self.layouts.get(stat_ids)
        if layout is None:
            row = self.conn.execute("SELECT id FROM layouts WHERE stat_ids = %s", (stat_ids,)).fetchone()
            if row is None and self.writable:
                row = self.conn.execute(
                    "INSERT INTO layouts (stat_ids) VALUES (%s) RETURNING id", (stat_ids,)).fetchone()
            if row is not None:
                layout = self.layouts[stat_ids] = int(row[0])
        self.layout = layout or 0
        # A reader may run with a catalog whose columns no writer added yet: no career holds them, so 0.
        selected = ", ".join(f"c.{_quote(n)}" if n in self.columns else "0" for n in names)
        self._career_select = (
            f"SELECT p.player_id, p.position, c.player_id IS NOT NULL, {selected} "
            "FROM players p LEFT JOIN careers c USING (player_id) WHERE p.player_id = ANY(%s)")
        columns = ", ".join(_quote(n) for n in names)
        self._career_upsert = (
            f"INSERT INTO careers (player_id, position, {columns}) "
            f"VALUES ({', '.join(['%s'] * (len(names) + 2))}) ON CONFLICT (player_id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in ("position", *map(_quote, names))))

    def _layout_rows(self) -> list[tuple[int, str]]:
        return self.conn.execute("SELECT id, stat_ids FROM layouts ORDER BY id").fetchall()

    # -- checkpoints -------------------------------------------------------------------------
    def _stored_checkpoint(self, name: str) -> int:
        row = self.conn.execute("SELECT position FROM checkpoints WHERE name = %s", (name,)).fetchone()
        return int(row[0]) if row else 0

    def set_checkpoint(self, name: str, position: int) -> None:
        self._checkpoints[name] = position
        self._checkpoints_dirty[name] = position

    # -- players -----------------------------------------------------------------------------
    def add_player(self, player_id: str, name: str, position: int, registered_at: str) -> None:
        self.conn.execute(
            "INSERT INTO players (player_id, name, position, registered_at, id_key, name_key) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (player_id, name, position, registered_at, identity_key(player_id), identity_key(name)))

    def rename_player(self, player_id: str, name: str) -> None:
        self.conn.execute("UPDATE players SET name = %s, name_key = %s WHERE player_id = %s",
                          (name, identity_key(name), player_id))

    def find_player(self, key: str) -> PlayerRow | None:
        folded = identity_key(key)
        row = self.conn.execute(
            "(SELECT player_id, name, registered_at, 0 FROM players WHERE player_id = %s "
            "UNION ALL SELECT player_id, name, registered_at, 1 FROM players WHERE name = %s "
            "UNION ALL SELECT player_id, name, registered_at, 2 FROM players WHERE id_key = %s "
            "UNION ALL SELECT player_id, name, registered_at, 3 FROM players WHERE name_key = %s) ORDER BY 4 LIMIT 1",
            (key, key, folded, folded)).fetchone()
        return PlayerRow(row[0], row[1], row[2]) if row else None

    def clashing_player(self, player_id: str, name: str) -> PlayerRow | None:
        keys = [identity_key(player_id), identity_key(name)]
        row = self.conn.execute(
            "SELECT player_id, name, registered_at FROM players WHERE id_key = ANY(%s) OR name_key = ANY(%s) "
            "LIMIT 1", (keys, keys)).fetchone()
        return PlayerRow(*row) if row else None

    def players(self) -> list[PlayerRow]:
        rows = self.conn.execute("SELECT player_id, name, registered_at FROM players ORDER BY position")
        return [PlayerRow(*r) for r in rows]

    def registered(self, player_ids: Iterable[str]) -> set[str]:
        ids = list(set(player_ids))
        if not ids:
            return set()
        return {r[0] for r in self.conn.execute("SELECT player_id FROM players WHERE player_id = ANY(%s)", (ids,))}

    def _stored_key(self, player_id: str) -> int:
        row = self.conn.execute("SELECT position FROM players WHERE player_id = %s", (player_id,)).fetchone()
        if row is None:
            raise KeyError(player_id)
        return int(row[0])

    # -- careers and game lines --------------------------------------------------------------
    def _career_rows(self, player_ids: list[str]) -> Iterable[Row]:
        return self.conn.execute(self._career_select, (player_ids,))

    def flush(self) -> None:
        with self.conn.cursor() as cursor:
            if self._lines:
                records = self._game_line_records()
                with cursor.copy("COPY game_lines (position, game_id, finished_at, layout, lines, itemsize) "
                                 "FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "text", "text", "int4", "bytea", "int4"])
                    for record in records:
                        copy.write_row(record)
                with cursor.copy("COPY player_games (player_key, position) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "int8"])
                    for pair in self._player_game_records():
                        copy.write_row(pair)
                self._lines.clear()
            if self._dirty:
                cursor.executemany(self._career_upsert, self._career_records())
                self._dirty.clear()
            if self._checkpoints_dirty:
                cursor.executemany(
                    "INSERT INTO checkpoints (name, position) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
                    list(self._checkpoints_dirty.items()))
                self._checkpoints_dirty.clear()

    # -- unlocks -----------------------------------------------------------------------------
    def _active_awards(self, player_ids: list[str]) -> Iterable[tuple[str, str]]:
        return self.conn.execute(
            "SELECT player_id, award_id FROM unlocks WHERE active AND player_id = ANY(%s)", (player_ids,))

    def _store_unlock(self, row: UnlockRow) -> None:
        self.conn.execute(
            f"INSERT INTO unlocks ({UNLOCK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (player_id, award_id) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in UNLOCK_COLUMNS.split(", ")[2:]),
            (row.player_id, row.award_id, row.game_id, row.game_position, row.unlocked_at, row.recorded_at,
             row.catalog_version, row.source, row.version, bool(row.active), row.reason))

    def _store_revoke(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None:
        self.conn.execute(
            "UPDATE unlocks SET active = false, version = %s, reason = %s, source = %s "
            "WHERE player_id = %s AND award_id = %s", (version, reason, source, player_id, award_id))

    def unlock(self, player_id: str, award_id: str) -> UnlockRow | None:
        row = self.conn.execute(f"SELECT {UNLOCK_COLUMNS} FROM unlocks WHERE player_id = %s AND award_id = %s",
                                (player_id, award_id)).fetchone()
        return unlock_row(row) if row else None

    def unlocks_of(self, player_id: str) -> list[UnlockRow]:
        rows = self.conn.execute(
            f"SELECT {UNLOCK_COLUMNS} FROM unlocks WHERE player_id = %s AND active "
            "ORDER BY game_position NULLS FIRST, award_id", (player_id,))
        return [unlock_row(r) for r in rows]

    def holders(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT award_id, count(*) FROM unlocks WHERE active GROUP BY award_id")}

    def players_with_games(self) -> int:
        if "games_played" not in self.columns:
            return 0
        row = self.conn.execute("SELECT count(*) FROM careers WHERE games_played > 0").fetchone()
        return int(row[0]) if row else 0

    def _lines_of_layout(self, layout: int) -> Generator[tuple[bytes, int], None, None]:
        with self.conn.cursor(name=f"osmo_stat_{uuid.uuid4().hex}", binary=True) as cursor:
            cursor.itersize = 500
            cursor.execute("SELECT lines, itemsize FROM game_lines WHERE layout = %s", (layout,))
            yield from cursor

    # -- history -----------------------------------------------------------------------------
    def award_holders(self, award_id: str) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT player_id FROM unlocks WHERE award_id = %s AND (active OR source = 'operator')", (award_id,))}

    def game_count(self) -> int:
        self.flush()
        row = self.conn.execute("SELECT count(*) FROM game_lines").fetchone()
        return int(row[0]) if row else 0

    def player_keys(self) -> dict[int, str]:
        return {key: player_id for player_id, key in self.conn.execute("SELECT player_id, position FROM players")}

    def _game_rows(self, after: int, limit: int) -> list[Row]:
        with self.conn.cursor(binary=True) as cursor:
            return cursor.execute(
                "SELECT position, game_id, finished_at, layout, lines, itemsize FROM game_lines WHERE position > %s "
                "ORDER BY position LIMIT %s", (after, limit)).fetchall()

    def _game_rows_at(self, positions: list[int]) -> list[Row]:
        with self.conn.cursor(binary=True) as cursor:
            return cursor.execute(
                "SELECT position, game_id, finished_at, layout, lines, itemsize FROM game_lines "
                "WHERE position = ANY(%s) ORDER BY position", (positions,)).fetchall()

    def _last_game(self, key: int, before: int) -> int | None:
        row = self.conn.execute("SELECT max(position) FROM player_games WHERE player_key = %s AND position < %s",
                                (key, before)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def _player_game_rows(self, keys: list[int], after: int, before: int | None) -> Iterable[tuple[int, int]]:
        return self.conn.execute(
            "SELECT player_key, position FROM player_games WHERE player_key = ANY(%s) AND position > %s "
            "AND position < %s ORDER BY position", (keys, after, before if before is not None else 2**63 - 1))

    def remove_game(self, position: int) -> None:
        self.flush()
        self.conn.execute("DELETE FROM game_lines WHERE position = %s", (position,))
        self.conn.execute("DELETE FROM player_games WHERE position = %s", (position,))

    def replace_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        self.flush()
        blob, itemsize = self._pack(rows)
        self.conn.execute("UPDATE game_lines SET layout = %s, lines = %b, itemsize = %s WHERE position = %s",
                          (self.layout, blob, itemsize, rows[0].position))

    def reset(self) -> None:
        for table in ("players", "careers", "game_lines", "player_games", "unlocks", "checkpoints"):
            self.conn.execute(f"DELETE FROM {table}")
        self._forget()
        self._checkpoints_dirty.clear()


class PostgresTransaction:
    """One PostgreSQL transaction: the event store, and the read models by role (one object serves them all)."""

    def __init__(self, conn: Connection, database: PostgresDatabase, writable: bool) -> None:
        self.events = PostgresEventStore(conn)
        self.views = PostgresReadModels(conn, database, writable)
        self.players = self.careers = self.lines = self.unlocks = self.checkpoints = self.projections = self.views


class PostgresDatabase:
    """One PostgreSQL schema (the first on the URL's ``search_path``, or ``schema``).

    ``transaction()`` holds the writer lock until it commits; ``reader()`` is a consistent snapshot.
    """

    def __init__(self, url: str, *, schema: str | None = None, lock_timeout_ms: int = LOCK_TIMEOUT_MS,
                 timeout_s: float = ANSWER_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.server = _describe(url)
        self.requested_schema = schema
        self.lock_timeout_ms = lock_timeout_ms
        self.career_columns: set[str] = set()
        self.layouts: dict[str, int] = {}
        self.conn = self._connect()
        try:
            row = self.conn.execute("SELECT current_schema()").fetchone()
            if row is None or row[0] is None:
                raise StoreUnavailable(f"PostgreSQL server {self.server}: no schema of the search_path exists")
            self.schema: str = row[0]
            self.append_lock = lock_key(self.schema)
            self._migrate()
        except BaseException as error:
            self.conn.close()
            if isinstance(error, psycopg.Error):
                raise self._unavailable(error) from None
            raise

    # -- connections and errors ---------------------------------------------------------------
    def _connect(self) -> Connection:
        params = conninfo_to_dict(self.url)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in params:
            extra["application_name"] = "osmo"
        try:
            conn = Connection.connect(self.url, autocommit=True, **extra)
            conn.answer_timeout = self.timeout_s
        except psycopg.Error as error:
            raise self._unavailable(error) from None
        try:
            if self.requested_schema is not None:
                name = _quote(self.requested_schema)
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {name}; SET search_path TO {name}")
            # psycopg prepares statements run often; a generic plan made while a table was small (a seq
            # scan for ``event_id = ANY(...)``) would be kept as the table grows: plan for the arguments.
            timeout_ms = int(self.timeout_s * 1000)
            conn.execute(f"SET lock_timeout = {int(self.lock_timeout_ms)}; SET plan_cache_mode = force_custom_plan; "
                         f"SET statement_timeout = {timeout_ms}; "
                         f"SET idle_in_transaction_session_timeout = {timeout_ms}")
        except psycopg.Error as error:
            conn.close()
            raise self._unavailable(error) from None
        return conn

    def _connection(self) -> Connection:
        """The connection, reopened if the server dropped it."""
        if self.conn.closed or self.conn.broken:
            self.conn.close()
            self.conn = self._connect()
        return self.conn

    def _unavailable(self, error: BaseException) -> StoreUnavailable:
        reason = " ".join(str(error).split()) or type(error).__name__
        password = conninfo_password(self.url)
        if password:
            reason = reason.replace(password, "***")
        return StoreUnavailable(f"PostgreSQL server {self.server} is unavailable: {reason}")

    # -- schema ---------------------------------------------------------------------------------
    def schema_version(self) -> int:
        conn = self._connection()
        row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        """Apply the missing migrations in one transaction, under an advisory lock (taken before anything
        else, so a concurrent opener waits, then sees the migrations done and applies nothing)."""
        conn = self.conn
        if self.schema_version() >= len(MIGRATIONS):
            return
        conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({lock_key(self.schema, 'migrate')})")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                         "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            for version in range(self.schema_version(), len(MIGRATIONS)):
                step = MIGRATIONS[version]
                if callable(step):
                    step(conn)
                else:
                    conn.execute(step)
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise

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
            tx.views.flush()
            appended = tx.events.appended
            if appended is not None:
                payload = f"{self.schema} {appended}".replace("'", "''")
                conn.execute(f"NOTIFY {CHANNEL}, '{payload}'; COMMIT")
            else:
                conn.execute("COMMIT")
        except BaseException as error:
            if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with suppress(psycopg.Error):
                    conn.rollback()
            if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
                raise self._unavailable(error) from None
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
        Positions are contiguous and in commit order (see the module docstring): reading
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
        try:
            listener.execute(f"LISTEN {CHANNEL}")
            position = after
            caught_up_at: float | None = None
            while until is None or position < until:
                with listener.cursor(binary=True) as cursor:
                    rows = cursor.execute(
                        f"SELECT {EVENT_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s",
                        (position, batch)).fetchall()
                for row in rows:
                    event = _decode(row)
                    position = event.position
                    yield event
                    if until is not None and position >= until:
                        return
                if stop is not None and stop():
                    return
                if len(rows) == batch:
                    continue
                now = time.monotonic()
                if rows or caught_up_at is None:
                    caught_up_at = now
                timeout = wait
                if idle is not None:
                    left = idle - (now - caught_up_at)
                    if left <= 0:
                        return
                    timeout = min(wait, left)
                for _ in listener.notifies(timeout=timeout, stop_after=1):
                    pass  # woken by a commit (possibly of another schema: then the next read is empty)
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise self._unavailable(error) from None
        finally:
            listener.close()

    def close(self) -> None:
        self.conn.close()


def conninfo_password(url: str) -> str | None:
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = _url_password(url)
    return str(password) if password else None


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password if "://" in url else None
    except ValueError:
        return None


def _describe(url: str) -> str:
    """``host:port/dbname`` of a URL, for messages (never the password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as error:
        _bad_url(url, error)
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or params.get("user") or ""
    return f"{host}:{port}/{dbname}"


def _bad_url(url: str, error: psycopg.Error) -> NoReturn:
    reason = " ".join(str(error).split())
    password = _url_password(url)
    if password:
        reason = reason.replace(password, "***")
    raise InvalidInput(f"invalid PostgreSQL URL: {reason}") from None
