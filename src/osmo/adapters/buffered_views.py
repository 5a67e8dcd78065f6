"""What the SQL read models share: the caches and buffers in front of the tables.

Careers, player keys, checkpoints and held awards are read once and then served from memory; careers and
game lines are buffered until ``flush`` (at commit). Each backend (``sqlite``, ``postgres``) subclasses
``BufferedReadModels`` with its SQL: the hooks below, ``flush``, ``use_catalog`` and the plain queries.
No database driver is imported here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from array import array
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing
from typing import Any

import orjson

from osmo.adapters import packing
from osmo.application.ports import GameLineRow, LineBlock, UnlockRow
from osmo.domain.career import Career
from osmo.domain.catalog import Catalog

Row = tuple[Any, ...]


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
    """An ``unlocks`` row (its columns in table order) as an UnlockRow."""
    return UnlockRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9]), row[10])


class BufferedReadModels(ABC):
    """The in-memory half of a read-models adapter; subclasses supply the SQL."""

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
        self._career_select = ""
        self._career_upsert = ""

    # -- what each backend reads and writes --------------------------------------------------
    @abstractmethod
    def flush(self) -> None:
        """Write the buffered game lines and careers (see ``_game_line_records``, ``_career_records``)."""

    @abstractmethod
    def _career_rows(self, player_ids: list[str]) -> Iterable[Row]:
        """``(player_id, key, has a careers row, *career)`` of the registered players among ``player_ids``."""

    @abstractmethod
    def _active_awards(self, player_ids: list[str]) -> Iterable[tuple[str, str]]:
        """``(player_id, award_id)`` of the active unlocks of ``player_ids``."""

    @abstractmethod
    def _stored_checkpoint(self, name: str) -> int: ...

    @abstractmethod
    def _stored_key(self, player_id: str) -> int: ...

    @abstractmethod
    def _store_unlock(self, row: UnlockRow) -> None: ...

    @abstractmethod
    def _store_revoke(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None: ...

    @abstractmethod
    def _layout_rows(self) -> Iterable[tuple[int, str]]:
        """``(id, stat_ids as JSON)`` of every layout."""

    @abstractmethod
    def _game_rows(self, after: int, limit: int) -> list[Row]:
        """``(position, game_id, finished_at, layout, lines, itemsize)`` of the stored games after ``after``."""

    @abstractmethod
    def _game_rows_at(self, positions: list[int]) -> list[Row]:
        """Like ``_game_rows``, for the games at these positions, in order."""

    @abstractmethod
    def _last_game(self, key: int, before: int) -> int | None:
        """The position of the player's last game before ``before``."""

    @abstractmethod
    def _player_game_rows(self, keys: list[int], after: int, before: int | None) -> Iterable[tuple[int, int]]:
        """``(player key, position)`` of the games of these players in ``(after, before)``, by position."""

    @abstractmethod
    def _lines_of_layout(self, layout: int) -> Generator[tuple[bytes, int], None, None]:
        """``(lines, itemsize)`` of every stored game of ``layout``."""

    # -- layout ------------------------------------------------------------------------------
    def _layout(self) -> Catalog:
        if self.catalog is None:
            raise RuntimeError("use_catalog() must be called before reading or writing careers")
        return self.catalog

    def _layouts(self) -> dict[int, tuple[str, ...]]:
        return {i: tuple(orjson.loads(ids)) for i, ids in self._layout_rows()}

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint(self, name: str) -> int:
        if name not in self._checkpoints:
            self._checkpoints[name] = self._stored_checkpoint(name)
        return self._checkpoints[name]

    # -- careers and game lines --------------------------------------------------------------
    def careers(self, player_ids: Iterable[str]) -> dict[str, Career]:
        catalog = self._layout()
        cache = self._careers
        missing = [p for p in player_ids if p not in cache]
        if missing:
            empty = (0,) * len(catalog.career_names)
            keys = self._keys
            for row in self._career_rows(missing):
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
        return self._lines.get(position, [])

    def _game_line_records(self) -> list[Row]:
        """The buffered games as ``game_lines`` rows: position, game_id, finished_at, layout, lines, itemsize."""
        layout = self.layout
        pack = self._pack
        return [(position, rows[0].game_id, rows[0].finished_at, layout, *pack(rows))
                for position, rows in self._lines.items()]

    def _career_records(self) -> list[Row]:
        """The careers changed since the last flush, as ``careers`` rows: player_id, position, *career."""
        careers = self._careers
        return [(p, pos, *careers[p]) for p, pos in self._dirty.items()]

    def _pack(self, rows: Sequence[GameLineRow]) -> tuple[bytes, int]:
        key = self._key
        return packing.pack([(key(r.player_id), r.team, r.game, r.career) for r in rows])

    def _key(self, player_id: str) -> int:
        if player_id not in self._keys:
            self._keys[player_id] = self._stored_key(player_id)
        return self._keys[player_id]

    # -- unlocks -----------------------------------------------------------------------------
    def held(self, player_ids: Iterable[str]) -> dict[str, set[str]]:
        cache = self._held
        missing = [p for p in player_ids if p not in cache]
        if missing:
            for player_id in missing:
                cache[player_id] = set()
            for player_id, award_id in self._active_awards(missing):
                cache[player_id].add(award_id)
        return cache

    def add_unlock(self, row: UnlockRow) -> None:
        self._store_unlock(row)
        if row.active:
            self._held.setdefault(row.player_id, set()).add(row.award_id)

    def revoke_unlock(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None:
        self._store_revoke(player_id, award_id, version, reason, source)
        self._held.get(player_id, set()).discard(award_id)

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

    # -- history -----------------------------------------------------------------------------
    def line_blocks(self, after: int = 0, games: int = 20_000) -> Iterator[LineBlock]:
        catalog = self._layout()
        while True:
            self.flush()
            rows = self._game_rows(after, games)
            if not rows:
                return
            yield packing.decode(rows, self._layouts(), catalog)
            after = rows[-1][0]

    def lines_at(self, positions: Iterable[int]) -> LineBlock:
        self.flush()
        wanted = sorted(set(positions))
        rows: list[Row] = []
        for start in range(0, len(wanted), 500):
            rows += self._game_rows_at(wanted[start:start + 500])
        return packing.decode(rows, self._layouts(), self._layout())

    def games_of(self, player_ids: Iterable[str], after: int = 0, before: int | None = None) -> dict[str, list[int]]:
        self.flush()
        ids = list(dict.fromkeys(player_ids))
        by_key = {self._key(p): p for p in ids}
        found: dict[str, list[int]] = {p: [] for p in ids}
        keys = list(by_key)
        for start in range(0, len(keys), 500):
            for key, position in self._player_game_rows(keys[start:start + 500], after, before):
                found[by_key[key]].append(position)
        for positions in found.values():
            positions.sort()
        return found

    def last_games(self, player_ids: Iterable[str], before: int) -> dict[str, int]:
        self.flush()
        found = {}
        for player_id in dict.fromkeys(player_ids):
            position = self._last_game(self._key(player_id), before)
            if position is not None:
                found[player_id] = position
        return found

    def _player_game_records(self) -> list[tuple[int, int]]:
        """``(player key, position)`` of the buffered lines, for the ``player_games`` index."""
        key = self._key
        return [(key(r.player_id), position) for position, rows in self._lines.items() for r in rows]

    def _forget(self) -> None:
        """Drop every cache and buffer (the tables were emptied)."""
        self._caches.forget()
        self._dirty.clear()
        self._lines.clear()
