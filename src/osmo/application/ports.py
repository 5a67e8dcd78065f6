"""Ports: what the use cases need from a database. Each backend implements them in its own module.

A ``Database`` opens transactions; a ``Transaction`` gives the event store and the read models of one
database transaction, so events and the projections they feed commit together or not at all::

    with database.transaction() as tx:
        recorded = tx.events.append([player_registered("thrall", "Thrall")])
        tx.views.add_player("thrall", "Thrall", recorded[0].position, recorded[0].recorded_at)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from osmo.domain.career import Career
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent


class EventStore(Protocol):
    """An append-only log of events with a global order (``position``) and per-stream versions.

    >>> tx.events.append([NewEvent("game-g1", "GameRecorded", {...}, event_id, NO_STREAM)])
    [RecordedEvent(position=42, stream="game-g1", version=0, ...)]

    ``append`` checks each event's expected version (raising ConcurrencyError when the stream moved)
    and skips events whose ``event_id`` is already stored, so a retried append is a no-op.
    """

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]: ...

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        """Events with ``position > after`` in global order."""
        ...

    def read_stream(self, stream: str) -> list[RecordedEvent]: ...

    def first_events(self, streams: Iterable[str]) -> dict[str, RecordedEvent]:
        """The first event (version 0) of each of these streams that exists."""
        ...

    def last_position(self) -> int: ...


@dataclass(frozen=True, slots=True)
class PlayerRow:
    player_id: str
    name: str
    registered_at: str


@dataclass(frozen=True, slots=True)
class UnlockRow:
    """A player's award. ``source`` says how it came: live, backfill, operator (a manual grant) or
    correction (moved by a voided game). A revoked award keeps its row, inactive, with the reason."""

    player_id: str
    award_id: str
    game_id: str | None
    game_position: int | None
    unlocked_at: str
    recorded_at: str
    catalog_version: int | None
    source: str = "live"
    version: int = 0
    active: bool = True
    reason: str | None = None

    @property
    def backfilled(self) -> bool:
        return self.source == "backfill"


@dataclass(frozen=True, slots=True)
class GameLineColumns:
    """Game line rows in bulk, column by column (for scans over the whole history)."""

    positions: Sequence[int]
    game_ids: Sequence[str]
    finished_at: Sequence[str]
    layout_ids: Sequence[int]
    lines: Sequence[bytes]
    itemsizes: Sequence[int]  # 4 (int32) or 8 (int64) per row
    layouts: dict[int, tuple[str, ...]]  # layout id -> the stat ids of its records

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True, slots=True)
class StoredGame:
    """One row of the game lines projection: the packed lines of a game, in the layout of ``stat_ids``."""

    position: int
    game_id: str
    finished_at: str
    stat_ids: tuple[str, ...]
    lines: bytes
    itemsize: int = 8


class GameLineRow(NamedTuple):
    """One player's line in one game, with the career it produced (the snapshot after that game)."""

    position: int
    player_id: str
    game_id: str
    team: int
    finished_at: str
    game: tuple[int, ...]
    career: Career


class ReadModels(Protocol):
    """The projections (players, careers, game lines, unlocks) and their checkpoints.

    Careers read and written within a transaction are cached and written back at commit, so folding
    a batch of games touches each player's career row once.
    """

    def use_catalog(self, catalog: Catalog) -> None:
        """Set the stat layout careers and game lines are read and written with (adds new stat columns)."""
        ...

    def checkpoint(self, name: str) -> int: ...

    def set_checkpoint(self, name: str, position: int) -> None: ...

    def add_player(self, player_id: str, name: str, position: int, registered_at: str) -> None: ...

    def rename_player(self, player_id: str, name: str) -> None: ...

    def find_player(self, key: str) -> PlayerRow | None:
        """A player by id, or by name when no player has that id."""
        ...

    def player_named(self, name: str) -> PlayerRow | None: ...

    def players(self) -> list[PlayerRow]: ...

    def registered(self, player_ids: Iterable[str]) -> set[str]:
        """Which of these ids are registered players."""
        ...

    def careers(self, player_ids: Iterable[str]) -> dict[str, Career]:
        """Current careers (an empty career for a player with no game yet)."""
        ...

    def put_career(self, player_id: str, career: Career, position: int) -> None: ...

    def add_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        """Keep the lines of one game (all rows share a position)."""
        ...

    def game_lines(self, position: int) -> list[GameLineRow]:
        """The lines of the game at ``position`` added in this transaction."""
        ...

    def held(self, player_ids: Iterable[str]) -> dict[str, set[str]]:
        """The awards each of these players holds (active unlocks)."""
        ...

    def add_unlock(self, row: UnlockRow) -> None:
        """Insert or replace the unlock of (player, award)."""
        ...

    def revoke_unlock(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None:
        """Mark an unlock revoked; ``source`` says by whom (operator, correction)."""
        ...

    def unlock(self, player_id: str, award_id: str) -> UnlockRow | None:
        """The unlock row, active or revoked."""
        ...

    def unlocks_of(self, player_id: str) -> list[UnlockRow]:
        """Active unlocks of a player."""
        ...

    def award_holders(self, award_id: str) -> set[str]:
        """Players who hold the award, or whose award an operator revoked (backfill leaves both alone)."""
        ...

    def game_count(self) -> int:
        """Recorded games that are not voided."""
        ...

    def flush(self) -> None:
        """Write buffered careers and game lines now (they are written at commit anyway)."""
        ...

    def player_keys(self) -> dict[int, str]:
        """Player key (as packed in game lines) -> player id."""
        ...

    def stored_games(self, after: int, limit: int) -> list[StoredGame]:
        """Game line rows with ``position > after`` in order, at most ``limit``."""
        ...

    def game_line_columns(self, after: int, limit: int) -> GameLineColumns:
        """Like ``stored_games``, as columns: the fast path for scanning the whole history."""
        ...

    def remove_game(self, position: int) -> None:
        """Drop the lines of a voided game."""
        ...

    def replace_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        """Rewrite the stored lines of one game (all rows share a position) in the current layout."""
        ...

    def reset(self) -> None:
        """Empty every projection and its checkpoint (before a rebuild)."""
        ...

    def holders(self) -> dict[str, int]:
        """How many players hold each award."""
        ...

    def players_with_games(self) -> int: ...

    def stat_in_use(self, stat_id: str) -> bool:
        """Whether any recorded game line carries a non-zero value of this stat."""
        ...


class Transaction(Protocol):
    @property
    def events(self) -> EventStore: ...

    @property
    def views(self) -> ReadModels: ...


class Database(Protocol):
    """A backend: SQLite (embedded) or PostgreSQL. ``transaction()`` is exclusive for writers."""

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def reader(self) -> AbstractContextManager[Transaction]:
        """A read-only transaction over a consistent snapshot."""
        ...

    def close(self) -> None: ...


