"""The read models on PostgreSQL: what differs from SQLite is adding career columns, writing game lines with
binary COPY (a folded block behind, from the writer thread), checkpoints buffered until commit, and scans
through server-side cursors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import orjson

from osmo.adapters.buffered_views import GAME_COLUMNS, UPSERT_CHECKPOINT, BufferedReadModels, ViewCaches, quote
from osmo.adapters.postgres.background import Background, SettledQueries, copy_data, copy_in
from osmo.adapters.postgres.connection import Connection
from osmo.adapters.sql_dialect import POSTGRES
from osmo.application.ports import GameBlock
from osmo.domain.catalog import Catalog

GAME_TYPES = ["int8", "text", "text", "int4", "bytea", "int4"]
COPY_GAMES = f"COPY game_lines ({GAME_COLUMNS}) FROM STDIN (FORMAT BINARY)"
RUN_TYPES = ["int8", "int8", "int8", "bytea"]
COPY_RUNS = "COPY player_runs FROM STDIN (FORMAT BINARY)"

if TYPE_CHECKING:
    from osmo.adapters.postgres.database import PostgresDatabase


class PostgresReadModels(SettledQueries, BufferedReadModels):
    """Projections in PostgreSQL. Careers and checkpoints are buffered and written at commit; game lines
    folded one by one too, and a folded block is written behind (``add_game_block``).

    ``game_lines`` keeps one row per game, its lines packed exactly as in SQLite (int32, or int64 when a
    value needs it; see ``osmo.adapters.packing``). ``careers`` has one BIGINT column per career stat, added
    by ``use_catalog``. What this transaction learns about the schema (columns, layouts) is shared with
    later transactions of the same ``PostgresDatabase`` once it commits.
    """

    dialect = POSTGRES
    conn: Connection

    def __init__(self, conn: Connection, database: PostgresDatabase, writable: bool, background: Background) -> None:
        super().__init__(writable, ViewCaches())
        self.conn = conn
        self.background = background
        self.database = database
        self.columns = set(database.career_columns)
        self.layouts = dict(database.layouts)
        self._checkpoints_dirty: dict[str, int] = {}

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
                    f"ADD COLUMN IF NOT EXISTS {quote(n)} BIGINT NOT NULL DEFAULT 0" for n in missing))
                self.columns.update(missing)
        stat_ids = orjson.dumps(catalog.stat_ids).decode()
        layout = self.layouts.get(stat_ids)
        if layout is None:
            layout = self._stored_layout(stat_ids)
            if layout is not None:
                self.layouts[stat_ids] = layout
        self.layout = layout or 0
        self._career_select, self._career_upsert = self._career_statements(names, self.columns)

    def set_checkpoint(self, name: str, position: int) -> None:
        self._checkpoints[name] = position
        self._checkpoints_dirty[name] = position

    def add_game_block(self, block: GameBlock) -> None:
        """Buffer the block, then write it behind: its lines are formatted now and sent by the writer thread
        while the caller goes on (the award policy evaluates the block from the buffer meanwhile)."""
        super().add_game_block(block)
        self.background.submit(self._games_sender())

    def _games_sender(self) -> Callable[[], None]:
        """What writes the buffered games (``game_lines`` and their ``player_runs``), formatted now; empties the
        buffers."""
        records, runs = self._pending_games()
        conn = self.conn
        lines, runs_data = copy_data(conn, GAME_TYPES, records), copy_data(conn, RUN_TYPES, runs)

        def send() -> None:
            copy_in(conn, COPY_GAMES, lines)
            copy_in(conn, COPY_RUNS, runs_data)

        return send

    def flush(self) -> None:
        self.background.settle()
        if self._lines or self._blocks:
            self._games_sender()()
        with self.conn.cursor() as cursor:
            if self._dirty:
                cursor.executemany(self._career_upsert, self._career_records())
                self._dirty.clear()
            if self._checkpoints_dirty:
                cursor.executemany(self.dialect.sql(UPSERT_CHECKPOINT), list(self._checkpoints_dirty.items()))
                self._checkpoints_dirty.clear()

    def _career_column(self, name: str) -> bool:
        return name in self.columns

    def players_with_games(self) -> int:
        if "games_played" not in self.columns:
            return 0
        return int(self._value("SELECT count(*) FROM careers WHERE games_played > 0"))

    def _lines_of_layout(self, layout: int) -> Generator[tuple[bytes, int], None, None]:
        self.background.settle()
        with self.conn.cursor(name=f"osmo_stat_{uuid.uuid4().hex}", binary=True) as cursor:
            cursor.itersize = 500
            cursor.execute("SELECT lines, itemsize FROM game_lines WHERE layout = %s", (layout,))
            yield from cursor

    def reset(self) -> None:
        super().reset()
        self._checkpoints_dirty.clear()
