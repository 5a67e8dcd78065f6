"""What the SQL read models share: the caches and buffers in front of the tables, and the queries.

Careers, player keys, checkpoints and held awards are read once and then served from memory; careers and
game lines are buffered until ``flush`` (at commit). The queries that read the same in both backends are
written here once (``?`` placeholders, lists through ``Dialect.in_list``; see ``sql_dialect``). Each
backend (``sqlite``, ``postgres.views``) subclasses ``BufferedReadModels`` with what really differs:
``use_catalog`` (adding career columns), ``flush`` (PostgreSQL COPYs), ``set_checkpoint``, and scans.
No database driver is imported here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime

import numpy as np
import orjson

from osmo.adapters import packing
from osmo.adapters.sql_dialect import Row, SqlQueries
from osmo.application.ports import (
    ApiKeyRow,
    DeliveryRow,
    GameBlock,
    GameLineRow,
    Ints,
    LineBlock,
    PlayerRow,
    RankRow,
    UnlockRow,
    WebhookRow,
)
from osmo.domain.career import Career
from osmo.domain.catalog import Catalog
from osmo.domain.players import identity_key

PROJECTION_TABLES = ("players", "careers", "game_lines", "player_runs", "unlocks", "checkpoints")
GAME_COLUMNS = "position, game_id, finished_at, layout, lines, itemsize"
UNLOCK_COLUMNS = ("player_id, award_id, game_id, game_position, unlocked_at, recorded_at, catalog_version, "
                  "source, version, active, reason")
UPSERT_UNLOCK = (
    f"INSERT INTO unlocks ({UNLOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (player_id, award_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in UNLOCK_COLUMNS.split(", ")[2:]))
UPSERT_CHECKPOINT = ("INSERT INTO checkpoints (name, position) VALUES (?, ?) "
                     "ON CONFLICT (name) DO UPDATE SET position = excluded.position")


def quote(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


class ViewCaches:
    """What the read models remember of the tables: careers, player keys (``players.position``),
    checkpoints and held awards. A transaction's own, or kept by a backend across transactions."""

    def __init__(self) -> None:
        self.careers: dict[str, Career] = {}
        self.keys: dict[str, int] = {}
        self.checkpoints: dict[str, int] = {}
        self.held: dict[str, set[str]] = {}

    def forget(self) -> None:
        for cache in (self.careers, self.keys, self.checkpoints, self.held):
            cache.clear()


def unlock_row(row: Row) -> UnlockRow:
    """An ``unlocks`` row (columns in ``UNLOCK_COLUMNS`` order) as an UnlockRow."""
    return UnlockRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9]), row[10])


KEY_COLUMNS = "name, prefix, digest, scope, created_at, revoked_at"
WEBHOOK_COLUMNS = ("webhook_id, url, secret, events, created_at, cursor, attempts, next_attempt_at, lease_owner, "
                   "lease_until")
DELIVERY_COLUMNS = "webhook_id, position, event_type, attempt, status, error, delivered_at"


def _webhook(row: Row) -> WebhookRow:
    return WebhookRow(int(row[0]), row[1], row[2], tuple(orjson.loads(row[3])), row[4], int(row[5]), int(row[6]),
                      float(row[7]), row[8], float(row[9]))


class ServiceQueries(SqlQueries, ABC):
    """The service's roles (``ApiKeys``, ``Webhooks``, ``Leaderboards``), the same SQL on both backends.
    Keys and webhooks live in tables of their own, not in the event log (see docs/http.md)."""

    @abstractmethod
    def _career_column(self, name: str) -> bool:
        """Whether the ``careers`` table has this column."""

    @abstractmethod
    def _layouts(self) -> dict[int, tuple[str, ...]]: ...

    @abstractmethod
    def _layout(self) -> Catalog: ...

    @abstractmethod
    def flush(self) -> None: ...

    # -- API keys ----------------------------------------------------------------------------
    def add_key(self, row: ApiKeyRow) -> None:
        self._execute(f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                      "SET prefix = excluded.prefix, digest = excluded.digest, scope = excluded.scope, "
                      "created_at = excluded.created_at, revoked_at = excluded.revoked_at",
                      (row.name, row.prefix, row.digest, row.scope, row.created_at, row.revoked_at))

    def key_by_digest(self, digest: str) -> ApiKeyRow | None:
        row = self._execute(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE digest = ?", (digest,)).fetchone()
        return ApiKeyRow(*row) if row else None

    def key_by_name(self, name: str) -> ApiKeyRow | None:
        row = self._execute(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE name = ?", (name,)).fetchone()
        return ApiKeyRow(*row) if row else None

    def api_keys(self) -> list[ApiKeyRow]:
        order = f"name{self.dialect.bytewise}"
        return [ApiKeyRow(*r) for r in self._execute(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY {order}")]

    def revoke_key(self, name: str, revoked_at: str) -> None:
        self._execute("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (revoked_at, name))

    # -- webhooks ----------------------------------------------------------------------------
    def add_webhook(self, url: str, secret: str, events: Sequence[str], created_at: str, cursor: int) -> int:
        row = self._execute("INSERT INTO webhooks (url, secret, events, created_at, cursor) VALUES (?, ?, ?, ?, ?) "
                            "RETURNING webhook_id",
                            (url, secret, orjson.dumps(list(events)).decode(), created_at, cursor)).fetchone()
        return int(row[0])

    def webhooks(self) -> list[WebhookRow]:
        return [_webhook(r) for r in self._execute(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY webhook_id")]

    def remove_webhook(self, webhook_id: int) -> bool:
        self._execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", (webhook_id,))
        return self._execute("DELETE FROM webhooks WHERE webhook_id = ? RETURNING webhook_id",
                             (webhook_id,)).fetchone() is not None

    def claim_webhook(self, webhook_id: int, owner: str, now: float, lease_until: float) -> bool:
        return self._execute(
            "UPDATE webhooks SET lease_owner = ?, lease_until = ? WHERE webhook_id = ? "
            "AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?) RETURNING webhook_id",
            (owner, lease_until, webhook_id, owner, now)).fetchone() is not None

    def advance_webhook(self, webhook_id: int, owner: str, cursor: int, attempts: int, next_attempt_at: float) -> bool:
        return self._execute(
            "UPDATE webhooks SET cursor = ?, attempts = ?, next_attempt_at = ? WHERE webhook_id = ? "
            "AND lease_owner = ? RETURNING webhook_id",
            (cursor, attempts, next_attempt_at, webhook_id, owner)).fetchone() is not None

    def add_delivery(self, row: DeliveryRow, keep: int) -> None:
        self._execute(f"INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (row.webhook_id, row.position, row.event_type, row.attempt, row.status, row.error,
                       row.delivered_at))
        self._execute("DELETE FROM webhook_deliveries WHERE webhook_id = ? AND id <= "
                      "(SELECT id FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                      (row.webhook_id, row.webhook_id, keep))

    def deliveries(self, webhook_id: int, limit: int) -> list[DeliveryRow]:
        return [DeliveryRow(*r) for r in self._execute(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?",
            (webhook_id, limit))]

    # -- leaderboards ------------------------------------------------------------------------
    def _ranked(self, stat: str) -> str | None:
        """The board of ``stat`` as a subquery of (player_id, name, v, r, n), or None when no career has it."""
        if stat not in self._layout().career_names:
            raise KeyError(stat)
        if not (self._career_column(stat) and self._career_column("games_played")):
            return None
        column = quote(stat)
        order = f"c.{column} DESC, c.player_id{self.dialect.bytewise}"
        return (f"SELECT c.player_id, p.name, c.{column} AS v, RANK() OVER (ORDER BY c.{column} DESC) AS r, "
                f"ROW_NUMBER() OVER (ORDER BY {order}) - 1 AS n "
                "FROM careers c JOIN players p ON p.player_id = c.player_id WHERE c.games_played > 0")

    def career_board(self, stat: str, limit: int, offset: int) -> tuple[list[RankRow], int]:
        self.flush()
        ranked = self._ranked(stat)
        if ranked is None:
            return [], 0
        rows = self._execute(f"SELECT player_id, name, v, r, n FROM ({ranked}) ranked WHERE n >= ? AND n < ? "
                             "ORDER BY n", (offset, offset + limit)).fetchall()
        total = int(self._value("SELECT count(*) FROM careers WHERE games_played > 0"))
        return [RankRow(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows], total

    def career_row(self, stat: str, player_id: str) -> int | None:
        self.flush()
        ranked = self._ranked(stat)
        if ranked is None:
            return None
        found = self._value(f"SELECT n FROM ({ranked}) ranked WHERE player_id = ?", (player_id,))
        return None if found is None else int(found)

    def lines_since(self, finished_at: str) -> LineBlock:
        """Times are stored as ISO 8601 UTC text: comparing text against the second of ``finished_at``
        (an index range) finds a superset, the exact instants are then compared."""
        self.flush()
        since = datetime.fromisoformat(finished_at)
        rows = [r for r in self._rows(f"SELECT {GAME_COLUMNS} FROM game_lines WHERE finished_at"
                                      f"{self.dialect.bytewise} >= ? ORDER BY position", (finished_at[:19],))
                if datetime.fromisoformat(r[2]) >= since]
        return packing.decode(rows, self._layouts(), self._layout())

    def recent_unlocks(self, award_id: str | None, limit: int) -> list[UnlockRow]:
        where = "active AND award_id = ?" if award_id is not None else "active"
        params: list[object] = [award_id] if award_id is not None else []
        text = self.dialect.bytewise
        rows = self._execute(f"SELECT {UNLOCK_COLUMNS} FROM unlocks WHERE {where} ORDER BY recorded_at{text} DESC, "
                             f"game_position DESC NULLS LAST, player_id{text}, award_id{text} LIMIT ?",
                             [*params, limit])
        return [unlock_row(r) for r in rows]


class BufferedReadModels(ServiceQueries, ABC):
    """The read models over SQL tables, with their caches and buffers; subclasses supply ``conn``,
    ``dialect`` and what their backend does differently."""

    def __init__(self, writable: bool, caches: ViewCaches) -> None:
        self.writable = writable
        self.catalog: Catalog | None = None
        self.layout = 0
        self._caches = caches
        self._careers = caches.careers
        self._keys = caches.keys
        self._checkpoints = caches.checkpoints
        self._held = caches.held
        self._dirty: dict[str, int] = {}
        self._lines: dict[int, list[GameLineRow]] = {}
        self._blocks: list[GameBlock] = []  # folded at once, packed at flush (after ``_lines``: later games)
        self._last_block: GameBlock | None = None
        self._career_select = ""
        self._career_upsert = ""

    # -- what each backend does differently --------------------------------------------------
    @abstractmethod
    def use_catalog(self, catalog: Catalog) -> None:
        """Adopt the catalog's layout (see ``_adopt_layout``, ``_career_statements``)."""

    @abstractmethod
    def flush(self) -> None:
        """Write the buffered game lines and careers (see ``_game_line_records``, ``_career_records``)."""

    @abstractmethod
    def set_checkpoint(self, name: str, position: int) -> None: ...

    @abstractmethod
    def players_with_games(self) -> int: ...

    @abstractmethod
    def _lines_of_layout(self, layout: int) -> Generator[tuple[bytes, int], None, None]:
        """``(lines, itemsize)`` of every stored game of ``layout``."""

    # -- layout ------------------------------------------------------------------------------
    def _layout(self) -> Catalog:
        if self.catalog is None:
            raise RuntimeError("use_catalog() must be called before reading or writing careers")
        return self.catalog

    def _layout_rows(self) -> list[tuple[int, str]]:
        """``(id, stat_ids as JSON)`` of every layout."""
        return self._execute("SELECT id, stat_ids FROM layouts ORDER BY id").fetchall()

    def _layouts(self) -> dict[int, tuple[str, ...]]:
        return {i: tuple(orjson.loads(ids)) for i, ids in self._layout_rows()}

    def _stored_layout(self, stat_ids: str) -> int | None:
        """The id of the layout of ``stat_ids`` (JSON); a writer adds it when missing, a reader may find none."""
        row = self._execute("SELECT id FROM layouts WHERE stat_ids = ?", (stat_ids,)).fetchone()
        if row is None and self.writable:
            row = self._execute("INSERT INTO layouts (stat_ids) VALUES (?) RETURNING id", (stat_ids,)).fetchone()
        return None if row is None else int(row[0])

    def _career_statements(self, names: Sequence[str], columns: set[str]) -> tuple[str, str]:
        """The career select (its ``{in_list}`` on ``p.player_id``) and upsert for the career stats ``names``,
        of which the ``careers`` table has ``columns`` (a reader may run with a catalog whose columns no
        writer added yet: no career holds them, so they read as 0)."""
        selected = ", ".join(f"c.{quote(n)}" if n in columns else "0" for n in names)
        select = (f"SELECT p.player_id, p.position, c.player_id IS NOT NULL, {selected} "
                  "FROM players p LEFT JOIN careers c USING (player_id) WHERE {in_list}")
        quoted = [quote(n) for n in names]
        upsert = (f"INSERT INTO careers (player_id, position, {', '.join(quoted)}) "
                  f"VALUES ({', '.join('?' * (len(names) + 2))}) ON CONFLICT (player_id) DO UPDATE SET "
                  + ", ".join(f"{c} = excluded.{c}" for c in ("position", *quoted)))
        return select, self.dialect.sql(upsert)

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint(self, name: str) -> int:
        if name not in self._checkpoints:  # read every subscriber's at once: each write asks for all of them
            for stored, position in self._rows("SELECT name, position FROM checkpoints"):
                self._checkpoints.setdefault(stored, int(position))  # not over one set in this transaction
            self._checkpoints.setdefault(name, 0)
        return self._checkpoints[name]

    # -- players -----------------------------------------------------------------------------
    def add_player(self, player_id: str, name: str, position: int, registered_at: str) -> None:
        self._execute(
            "INSERT INTO players (player_id, name, position, registered_at, id_key, name_key) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (player_id, name, position, registered_at, identity_key(player_id), identity_key(name)))

    def rename_player(self, player_id: str, name: str) -> None:
        self._execute("UPDATE players SET name = ?, name_key = ? WHERE player_id = ?",
                      (name, identity_key(name), player_id))

    def find_player(self, key: str) -> PlayerRow | None:
        folded = identity_key(key)
        row = self._execute(
            "SELECT player_id, name, registered_at, 0 FROM players WHERE player_id = ? "
            "UNION ALL SELECT player_id, name, registered_at, 1 FROM players WHERE name = ? "
            "UNION ALL SELECT player_id, name, registered_at, 2 FROM players WHERE id_key = ? "
            "UNION ALL SELECT player_id, name, registered_at, 3 FROM players WHERE name_key = ? ORDER BY 4 LIMIT 1",
            (key, key, folded, folded)).fetchone()
        return PlayerRow(row[0], row[1], row[2]) if row else None

    def clashing_player(self, player_id: str, name: str) -> PlayerRow | None:
        keys = (identity_key(player_id), identity_key(name))
        row = self._execute(
            "SELECT player_id, name, registered_at FROM players WHERE id_key IN (?, ?) OR name_key IN (?, ?) "
            "LIMIT 1", keys + keys).fetchone()
        return PlayerRow(*row) if row else None

    def players(self) -> list[PlayerRow]:
        rows = self._execute("SELECT player_id, name, registered_at FROM players ORDER BY position")
        return [PlayerRow(*r) for r in rows]

    def registered(self, player_ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self._in_rows(
            "SELECT player_id FROM players WHERE {in_list}", "player_id", list(set(player_ids)))}

    def player_keys(self) -> dict[int, str]:
        return {key: player_id for player_id, key in self._execute("SELECT player_id, position FROM players")}

    def _key(self, player_id: str) -> int:
        if player_id not in self._keys:
            key = self._value("SELECT position FROM players WHERE player_id = ?", (player_id,))
            if key is None:
                raise KeyError(player_id)
            self._keys[player_id] = int(key)
        return self._keys[player_id]

    # -- careers and game lines --------------------------------------------------------------
    def careers(self, player_ids: Iterable[str]) -> dict[str, Career]:
        catalog = self._layout()
        cache = self._careers
        missing = [p for p in player_ids if p not in cache]
        if missing:
            empty = (0,) * len(catalog.career_names)
            keys = self._keys
            for row in self._in_rows(self._career_select, "p.player_id", missing):
                keys[row[0]] = row[1]
                cache[row[0]] = tuple(row[3:]) if row[2] else empty
            for player_id in missing:
                cache.setdefault(player_id, empty)
        return cache

    def put_career(self, player_id: str, career: Career, position: int) -> None:
        self._careers[player_id] = career
        self._dirty[player_id] = position

    def add_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        if rows:
            self._lines[rows[0].position] = list(rows)

    def game_lines(self, position: int) -> list[GameLineRow]:
        block = self.game_block(position)
        if block is not None:
            return block.game_rows()[block.positions.index(position)]
        return self._lines.get(position, [])

    def add_game_block(self, block: GameBlock) -> None:
        if self._lines:
            self.flush()  # keep rows in position order
        self._blocks.append(block)
        self._last_block = block

    def game_block(self, position: int) -> GameBlock | None:
        block = self._last_block
        if block is not None and block.positions[0] <= position <= block.positions[-1]:
            return block
        return None

    def _block_records(self) -> tuple[list[Row], list[Ints], list[Ints]]:
        """The buffered blocks as ``game_lines`` rows, with the player key and game position of each line; each
        game is packed as ``packing.pack`` packs it (int32 when every value of the game fits, else int64)."""
        records: list[Row] = []
        keys_of: list[Ints] = []
        positions_of: list[Ints] = []
        layout = self.layout
        key = self._key
        for block in self._blocks:
            names = list(dict.fromkeys(block.player_ids))
            index = {p: i for i, p in enumerate(names)}
            codes = np.fromiter(map(index.__getitem__, block.player_ids), dtype=np.int64, count=len(block))
            keys = np.array([key(p) for p in names], dtype=np.int64)[codes]
            matrix = np.column_stack([keys, block.teams, block.game, block.career])
            blobs = packing.pack_games(matrix, block.starts)
            records.extend((position, game_id, finished_at, layout, blob, itemsize) for position, game_id, finished_at,
                           (blob, itemsize) in zip(block.positions, block.game_ids, block.finished_at, blobs,
                                                   strict=True))
            keys_of.append(keys)
            positions_of.append(block.line_positions())
        self._blocks.clear()
        return records, keys_of, positions_of

    def _game_line_records(self) -> list[Row]:
        """The buffered games as ``game_lines`` rows (columns in ``GAME_COLUMNS`` order)."""
        layout = self.layout
        pack = self._pack
        return [(position, rows[0].game_id, rows[0].finished_at, layout, *pack(rows))
                for position, rows in self._lines.items()]

    def _pending_games(self) -> tuple[list[Row], list[tuple[int, int, int, bytes]]]:
        """Every buffered game (lines, then blocks) as ``game_lines`` rows, and the ``player_runs`` rows of
        their players; empties the buffers."""
        records = self._game_line_records()
        key = self._key
        pairs = [(key(r.player_id), position) for position, rows in self._lines.items() for r in rows]
        self._lines.clear()
        keys_of = [np.array([k for k, _ in pairs], dtype=np.int64)]
        positions_of = [np.array([p for _, p in pairs], dtype=np.int64)]
        if self._blocks:
            more, more_keys, more_positions = self._block_records()
            records += more
            keys_of += more_keys
            positions_of += more_positions
        return records, packing.position_runs(np.concatenate(keys_of), np.concatenate(positions_of))

    def _career_records(self) -> list[Row]:
        """The careers changed since the last flush, as ``careers`` rows: player_id, position, *career."""
        careers = self._careers
        return [(p, pos, *careers[p]) for p, pos in self._dirty.items()]

    def _pack(self, rows: Sequence[GameLineRow]) -> tuple[bytes, int]:
        key = self._key
        return packing.pack([(key(r.player_id), r.team, r.game, r.career) for r in rows])

    def remove_game(self, position: int) -> None:
        self.flush()
        keys = sorted(set(self.lines_at([position]).keys.tolist()))
        for key, first, blob in list(self._in_rows(
                "SELECT player_key, first_position, positions FROM player_runs WHERE {in_list} "
                "AND first_position <= ? AND last_position >= ?", "player_key", keys, (position, position))):
            positions = packing.run_positions(blob)
            rest = positions[positions != position]
            self._execute("DELETE FROM player_runs WHERE player_key = ? AND first_position = ?", (key, first))
            if len(rest):
                self._execute("INSERT INTO player_runs VALUES (?, ?, ?, ?)",
                              (key, int(rest[0]), int(rest[-1]), rest.astype("<i8").tobytes()))
        self._execute("DELETE FROM game_lines WHERE position = ?", (position,))

    def replace_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        self.flush()
        blob, itemsize = self._pack(rows)
        self._execute("UPDATE game_lines SET layout = ?, lines = ?, itemsize = ? WHERE position = ?",
                      (self.layout, blob, itemsize, rows[0].position))

    def game_count(self) -> int:
        self.flush()
        return int(self._value("SELECT count(*) FROM game_lines"))

    def stat_in_use(self, stat_id: str) -> bool:
        for layout, stat_ids in self._layout_rows():
            ids = orjson.loads(stat_ids)
            if stat_id not in ids:
                continue
            column = 2 + ids.index(stat_id)
            size = packing.width(len(ids))
            with closing(self._lines_of_layout(layout)) as lines:
                for blob, itemsize in lines:
                    if any(array("i" if itemsize == 4 else "q", blob)[column::size]):
                        return True
        return False

    # -- unlocks -----------------------------------------------------------------------------
    def held(self, player_ids: Iterable[str]) -> dict[str, set[str]]:
        cache = self._held
        missing = [p for p in player_ids if p not in cache]
        if missing:
            for player_id in missing:
                cache[player_id] = set()
            for player_id, award_id in self._in_rows(
                    "SELECT player_id, award_id FROM unlocks WHERE active AND {in_list}", "player_id", missing):
                cache[player_id].add(award_id)
        return cache

    def add_unlock(self, row: UnlockRow) -> None:
        self._execute(UPSERT_UNLOCK, (row.player_id, row.award_id, row.game_id, row.game_position, row.unlocked_at,
                                      row.recorded_at, row.catalog_version, row.source, row.version,
                                      bool(row.active), row.reason))
        if row.active:
            self._held.setdefault(row.player_id, set()).add(row.award_id)

    def revoke_unlock(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None:
        self._execute("UPDATE unlocks SET active = false, version = ?, reason = ?, source = ? "
                      "WHERE player_id = ? AND award_id = ?", (version, reason, source, player_id, award_id))
        self._held.get(player_id, set()).discard(award_id)

    def unlock(self, player_id: str, award_id: str) -> UnlockRow | None:
        row = self._execute(f"SELECT {UNLOCK_COLUMNS} FROM unlocks WHERE player_id = ? AND award_id = ?",
                            (player_id, award_id)).fetchone()
        return unlock_row(row) if row else None

    def unlock_versions(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        wanted = set(pairs)
        return {(player_id, award_id): int(version) for player_id, award_id, version in self._in_rows(
            "SELECT player_id, award_id, version FROM unlocks WHERE {in_list}", "player_id",
            sorted({p for p, _ in wanted})) if (player_id, award_id) in wanted}

    def unlocks_of(self, player_id: str) -> list[UnlockRow]:
        rows = self._execute(f"SELECT {UNLOCK_COLUMNS} FROM unlocks WHERE player_id = ? AND active "
                             "ORDER BY game_position NULLS FIRST, award_id", (player_id,))
        return [unlock_row(r) for r in rows]

    def award_holders(self, award_id: str) -> set[str]:
        return {r[0] for r in self._execute(
            "SELECT player_id FROM unlocks WHERE award_id = ? AND (active OR source = 'operator')", (award_id,))}

    def holders(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._execute(
            "SELECT award_id, count(*) FROM unlocks WHERE active GROUP BY award_id")}

    # -- history -----------------------------------------------------------------------------
    def line_blocks(self, after: int = 0, games: int = 20_000) -> Iterator[LineBlock]:
        catalog = self._layout()
        while True:
            self.flush()
            rows = self._rows(f"SELECT {GAME_COLUMNS} FROM game_lines WHERE position > ? ORDER BY position LIMIT ?",
                              (after, games))
            if not rows:
                return
            yield packing.decode(rows, self._layouts(), catalog)
            after = rows[-1][0]

    def lines_at(self, positions: Iterable[int]) -> LineBlock:
        self.flush()
        rows = list(self._in_rows(f"SELECT {GAME_COLUMNS} FROM game_lines WHERE {{in_list}} ORDER BY position",
                                  "position", sorted(set(positions))))
        return packing.decode(rows, self._layouts(), self._layout())

    def games_of(self, player_ids: Iterable[str], after: int = 0, before: int | None = None) -> dict[str, list[int]]:
        self.flush()
        ids = list(dict.fromkeys(player_ids))
        by_key = {self._key(p): p for p in ids}
        found: dict[str, list[int]] = {p: [] for p in ids}
        below = before if before is not None else 2**63 - 1
        for key, blob in self._in_rows(
                "SELECT player_key, positions FROM player_runs WHERE {in_list} AND last_position > ? "
                "AND first_position < ?", "player_key", list(by_key), (after, below)):
            run = packing.run_positions(blob)
            found[by_key[key]] += run[(run > after) & (run < below)].tolist()
        for positions in found.values():
            positions.sort()
        return found

    def last_games(self, player_ids: Iterable[str], before: int) -> dict[str, int]:
        self.flush()
        found = {}
        for player_id in dict.fromkeys(player_ids):
            blob = self._value("SELECT positions FROM player_runs WHERE player_key = ? AND first_position < ? "
                               "ORDER BY first_position DESC LIMIT 1", (self._key(player_id), before))
            if blob is not None:  # runs do not overlap: the last one begun before ``before`` holds the answer
                positions = packing.run_positions(blob)
                found[player_id] = int(positions[positions < before].max())
        return found

    # -- maintenance -------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty every projection table, and forget what was cached and buffered."""
        for table in PROJECTION_TABLES:
            self._execute(f"DELETE FROM {table}")
        self._caches.forget()
        self._dirty.clear()
        self._lines.clear()
        self._blocks.clear()
        self._last_block = None
