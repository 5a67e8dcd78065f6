"""Ports: what the use cases need from a database, narrow and by role. Each backend implements them in
its own module; ``tests/fakes.py`` implements them in memory.

A ``Database`` opens transactions; a ``Transaction`` gives the event store and the read models of one
database transaction, each by role, so events and the projections they feed commit together or not at
all::

    with database.transaction() as tx:
        recorded = tx.events.append([player_registered("thrall", "Thrall")])
        tx.players.add_player("thrall", "Thrall", recorded[0].position, recorded[0].recorded_at)

Use cases do not open transactions themselves: they go through the unit of work
(``osmo.application.unit_of_work``), which resolves the catalog in effect and runs the subscribers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from osmo.domain.career import Career
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent

Ints = npt.NDArray[np.int64]


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

    def stream_version(self, stream: str) -> int:
        """The version of the last event of ``stream`` (-1 when it has none)."""
        ...

    def first_events(self, streams: Iterable[str]) -> dict[str, RecordedEvent]:
        """The first event (version 0) of each of these streams that exists."""
        ...

    def first_data(self, streams: Iterable[str]) -> dict[str, str]:
        """The data of the first event of each of these streams that exists, as stored: JSON text (what
        ``orjson.dumps`` makes of the event's data, or the payload ``append_games`` was given)."""
        ...

    def of_type(self, event_type: str) -> list[RecordedEvent]:
        """Every event of one type, in global order (for replays that look ahead; rare types only)."""
        ...

    def last_position(self) -> int: ...

    def append_games(self, game_ids: Sequence[str], payloads: Sequence[str], event_ids: Sequence[bytes],
                     catalog_version: int) -> tuple[int, str]:
        """Append a GameRecorded for each game, as the first event of its stream, with ``payloads`` (its
        data, already serialised as JSON text: the stored form), ``event_ids`` (its derived id's 16 bytes:
        ``derived_id_bytes(game_stream(game_id), 0)``) and ``catalog_version`` in its metadata, as
        ``append([game_recorded(...)])`` would; returns the position of the first and the time recorded.
        A game already recorded raises ConcurrencyError: here, or (a store that writes the run in the
        background) at the next use of the store or at commit."""
        ...


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


class GameLineRow(NamedTuple):
    """One player's line in one game, with the career it produced (the snapshot after that game)."""

    position: int
    player_id: str
    game_id: str
    team: int
    finished_at: str
    game: tuple[int, ...]
    career: Career


@dataclass(frozen=True)
class LineBlock:
    """Game lines in recorded order, decoded into arrays: one row of ``matrix`` per player line.

    ``game_cols`` / ``career_cols`` map the names of the catalog in use (``Catalog.game_names``,
    ``career_names``) to columns of ``matrix`` (-1: a stat the lines were recorded without, read as 0).
    Columns are converted to int64 only when asked for, so a scan touches only what a rule reads.
    """

    matrix: npt.NDArray[np.integer[Any]]
    positions: Ints  # the game position of each line
    game_cols: list[int]
    career_cols: list[int]
    games: dict[int, tuple[str, str]]  # position -> (game_id, finished_at)

    def __len__(self) -> int:
        return len(self.positions)

    def _column(self, column: int) -> Ints:
        if column < 0:
            return np.zeros(len(self.positions), dtype=np.int64)
        return self.matrix[:, column].astype(np.int64)

    @property
    def keys(self) -> Ints:
        """The player key of each line (see ``PlayerViews.player_keys``)."""
        return self._column(0)

    @property
    def teams(self) -> Ints:
        return self._column(1)

    @property
    def game(self) -> Ints:
        return np.stack([self._column(c) for c in self.game_cols], axis=1)

    @property
    def career(self) -> Ints:
        return np.stack([self._column(c) for c in self.career_cols], axis=1)

    def game_column(self, index: int) -> Ints:
        return self._column(self.game_cols[index])

    def career_column(self, index: int) -> Ints:
        return self._column(self.career_cols[index])


@dataclass(frozen=True)
class GameRun:
    """Consecutive GameRecorded events in columns, as the subscribers' batch path takes them: game ``i`` at
    ``positions[i]`` has the player lines ``starts[i]:starts[i + 1]`` (team 0 then team 1, as reported),
    each with its player, team and stat values (``values``, in the catalog's stat order). ``events()``
    gives the run as RecordedEvents, for a subscriber that must go game by game."""

    positions: list[int]
    game_ids: list[str]
    finished_at: list[str]
    winners: list[int]
    starts: Ints
    player_ids: list[str]
    teams: Ints
    values: Ints
    events: Callable[[], Sequence[RecordedEvent]]

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class GameBlock:
    """Consecutive recorded games folded at once (the batch path of the careers projection): one row per
    player line, in recorded order (game by game, team 0 then team 1, as reported).

    ``game`` holds each line's game vector (``Catalog.game_names``: stats, then won) and ``career`` the
    career snapshot after that game (``Catalog.career_names``), as int64; ``starts[i]:starts[i + 1]`` are
    the lines of game ``i``, recorded at ``positions[i]`` with ``game_ids[i]`` and ``finished_at[i]``.
    """

    positions: list[int]
    game_ids: list[str]
    finished_at: list[str]
    starts: Ints
    player_ids: list[str]
    teams: Ints
    game: Ints
    career: Ints

    def __len__(self) -> int:
        return len(self.player_ids)

    def line_positions(self) -> Ints:
        """The game position of every line."""
        return np.repeat(np.asarray(self.positions, dtype=np.int64), np.diff(self.starts))

    def game_rows(self) -> list[list[GameLineRow]]:
        """The block as GameLineRows, game by game (for read models without a packed path)."""
        games = self.game.tolist()
        careers = self.career.tolist()
        teams = self.teams.tolist()
        starts = self.starts.tolist()
        return [[GameLineRow(position, self.player_ids[i], game_id, teams[i], finished_at, tuple(games[i]),
                             tuple(careers[i])) for i in range(starts[g], starts[g + 1])]
                for g, (position, game_id, finished_at) in enumerate(
                    zip(self.positions, self.game_ids, self.finished_at, strict=True))]


class PlayerViews(Protocol):
    """Registered players. A player's ``key`` is a small integer (its registration position) used in
    game lines instead of the id."""

    def add_player(self, player_id: str, name: str, position: int, registered_at: str) -> None: ...

    def rename_player(self, player_id: str, name: str) -> None: ...

    def find_player(self, key: str) -> PlayerRow | None:
        """A player by id, else by name, else by id or name compared as ``identity_key`` does."""
        ...

    def clashing_player(self, player_id: str, name: str) -> PlayerRow | None:
        """A player whose id or name equals ``player_id`` or ``name`` once compared as ``identity_key``."""
        ...

    def players(self) -> list[PlayerRow]: ...

    def registered(self, player_ids: Iterable[str]) -> set[str]:
        """Which of these ids are registered players."""
        ...

    def player_keys(self) -> dict[int, str]:
        """Player key -> player id."""
        ...


class CareerViews(Protocol):
    """Careers, read and written by catalog layout. Careers read and written within a transaction are
    cached and written back at commit, so folding a batch of games touches each career row once."""

    def use_catalog(self, catalog: Catalog) -> None:
        """Set the stat layout careers and game lines are read and written with (adds new stat columns)."""
        ...

    def careers(self, player_ids: Iterable[str]) -> dict[str, Career]:
        """Current careers (an empty career for a player with no game yet)."""
        ...

    def put_career(self, player_id: str, career: Career, position: int) -> None: ...

    def players_with_games(self) -> int: ...


class GameLineViews(Protocol):
    """Every recorded (not voided) game's lines, each with the career snapshot after that game."""

    def add_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        """Keep the lines of one game (all rows share a position)."""
        ...

    def game_lines(self, position: int) -> list[GameLineRow]:
        """The lines of the game at ``position`` added in this transaction."""
        ...

    def add_game_block(self, block: GameBlock) -> None:
        """Keep the lines of consecutive games folded at once (see ``GameBlock``)."""
        ...

    def game_block(self, position: int) -> GameBlock | None:
        """The block added in this transaction that holds the game at ``position``, if any."""
        ...

    def line_blocks(self, after: int = 0, games: int = 20_000) -> Iterator[LineBlock]:
        """Every game line after position ``after``, in recorded order, ``games`` games per block."""
        ...

    def lines_at(self, positions: Iterable[int]) -> LineBlock:
        """The lines of the games at these positions (those that exist), in recorded order."""
        ...

    def games_of(self, player_ids: Iterable[str], after: int = 0, before: int | None = None) -> dict[str, list[int]]:
        """The positions of each player's games in ``(after, before)``, in order."""
        ...

    def last_games(self, player_ids: Iterable[str], before: int) -> dict[str, int]:
        """The position of each player's last game before ``before`` (players without one are left out)."""
        ...

    def remove_game(self, position: int) -> None:
        """Drop the lines of a voided game."""
        ...

    def replace_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        """Rewrite the stored lines of one game (all rows share a position; the game's players stay the
        same) in the current layout."""
        ...

    def game_count(self) -> int:
        """Recorded games that are not voided."""
        ...

    def stat_in_use(self, stat_id: str) -> bool:
        """Whether any recorded game line carries a non-zero value of this stat."""
        ...


class UnlockViews(Protocol):
    """Who holds which award."""

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

    def unlock_versions(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The version of each unlock row, active or revoked, of these (player, award) pairs (absent: none)."""
        ...

    def unlocks_of(self, player_id: str) -> list[UnlockRow]:
        """Active unlocks of a player."""
        ...

    def award_holders(self, award_id: str) -> set[str]:
        """Players who hold the award, or whose award an operator revoked (backfill leaves both alone)."""
        ...

    def holders(self) -> dict[str, int]:
        """How many players hold each award."""
        ...


class Checkpoints(Protocol):
    """The position each subscriber has handled, written in the transaction of its effects."""

    def checkpoint(self, name: str) -> int: ...

    def set_checkpoint(self, name: str, position: int) -> None: ...


class Projections(Protocol):
    """All read models at once, for maintenance."""

    def flush(self) -> None:
        """Write buffered careers and game lines now (they are written at commit anyway)."""
        ...

    def reset(self) -> None:
        """Empty every projection and its checkpoint (before a rebuild)."""
        ...


class Transaction(Protocol):
    """One database transaction: the event store and the read models, by role."""

    @property
    def events(self) -> EventStore: ...

    @property
    def players(self) -> PlayerViews: ...

    @property
    def careers(self) -> CareerViews: ...

    @property
    def lines(self) -> GameLineViews: ...

    @property
    def unlocks(self) -> UnlockViews: ...

    @property
    def checkpoints(self) -> Checkpoints: ...

    @property
    def projections(self) -> Projections: ...


class Database(Protocol):
    """A backend: SQLite (embedded) or PostgreSQL. ``transaction()`` is exclusive for writers.

    >>> with database.reader() as tx:
    ...     tx.players.players()
    """

    def transaction(self) -> AbstractContextManager[Transaction]: ...

    def reader(self) -> AbstractContextManager[Transaction]:
        """A read-only transaction over a consistent snapshot."""
        ...

    def follow(self, after: int = 0, *, batch: int = 500, wait: float = 1.0, until: int | None = None,
               idle: float | None = None, stop: Callable[[], bool] | None = None) -> Iterator[RecordedEvent]:
        """Committed events with ``position > after``, in global order, as they come (a catch-up
        subscription, on a connection of its own): ends once ``until`` was reached, after ``idle`` seconds
        without a new event, or when ``stop()`` is true (asked after every batch and at least every
        ``wait`` seconds while caught up)."""
        ...

    def close(self) -> None: ...


# -- the service's own roles: API keys, webhooks, leaderboards ----------------------------------------
# They are not projections of the event log (``Projections.reset`` leaves them alone): keys and webhooks
# are the operator's configuration, kept in their own tables (see docs/http.md for why not as events).


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """An API key as stored: never the key itself, only its prefix (to show) and its SHA-256."""

    name: str
    prefix: str
    digest: str
    scope: str
    created_at: str
    revoked_at: str | None = None


class ApiKeys(Protocol):
    def add_key(self, row: ApiKeyRow) -> None: ...

    def key_by_digest(self, digest: str) -> ApiKeyRow | None:
        """The key (active or revoked) whose SHA-256 is ``digest``."""
        ...

    def key_by_name(self, name: str) -> ApiKeyRow | None: ...

    def api_keys(self) -> list[ApiKeyRow]:
        """Every key, by name."""
        ...

    def revoke_key(self, name: str, revoked_at: str) -> None: ...


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """A webhook: where events go, and where its delivery stands. ``cursor`` is the position of the last
    event handled (delivered, or not wanted); ``lease_owner`` / ``lease_until`` tell which serve process
    delivers it now; ``attempts`` counts failed tries of the event after the cursor."""

    webhook_id: int
    url: str
    secret: str
    events: tuple[str, ...]  # event types delivered (empty: every type)
    created_at: str
    cursor: int
    attempts: int = 0
    next_attempt_at: float = 0.0  # unix time
    lease_owner: str | None = None
    lease_until: float = 0.0


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One attempt to deliver one event to one webhook."""

    webhook_id: int
    position: int
    event_type: str
    attempt: int
    status: int | None  # the HTTP status answered (None: no answer)
    error: str | None
    delivered_at: str


class Webhooks(Protocol):
    def add_webhook(self, url: str, secret: str, events: Sequence[str], created_at: str, cursor: int) -> int:
        """Store a webhook that delivers events after ``cursor``; returns its id."""
        ...

    def webhooks(self) -> list[WebhookRow]: ...

    def remove_webhook(self, webhook_id: int) -> bool:
        """Remove a webhook and its delivery log; False when there was none."""
        ...

    def claim_webhook(self, webhook_id: int, owner: str, now: float, lease_until: float) -> bool:
        """Take (or extend) the lease of a webhook when it is free, expired or already ``owner``'s."""
        ...

    def advance_webhook(self, webhook_id: int, owner: str, cursor: int, attempts: int, next_attempt_at: float) -> bool:
        """Move a webhook's cursor and retry state, only while ``owner`` holds its lease."""
        ...

    def add_delivery(self, row: DeliveryRow, keep: int) -> None:
        """Log an attempt, keeping the webhook's last ``keep`` attempts."""
        ...

    def deliveries(self, webhook_id: int, limit: int) -> list[DeliveryRow]:
        """The webhook's last attempts, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class RankRow:
    player_id: str
    name: str
    value: int
    rank: int  # 1 + the number of players with a greater value (ties share a rank)
    row: int  # 0-based place in the board (ties broken by player id)


class Leaderboards(Protocol):
    def career_board(self, stat: str, limit: int, offset: int) -> tuple[list[RankRow], int]:
        """Players with at least one game ranked by the career stat ``stat`` (a column of the catalog in
        use), and how many there are."""
        ...

    def career_row(self, stat: str, player_id: str) -> int | None:
        """The player's 0-based place on the ``stat`` board (None: not on it)."""
        ...

    def lines_since(self, finished_at: str) -> LineBlock:
        """Every line of the games finished at or after ``finished_at`` (an ISO 8601 UTC instant)."""
        ...

    def recent_unlocks(self, award_id: str | None, limit: int) -> list[UnlockRow]:
        """The most recently recorded active unlocks (of one award, or of all), newest first."""
        ...


class ServiceTransaction(Transaction, Protocol):
    """A transaction with the service's roles too (every backend's transactions have them)."""

    @property
    def keys(self) -> ApiKeys: ...

    @property
    def webhooks(self) -> Webhooks: ...

    @property
    def boards(self) -> Leaderboards: ...
