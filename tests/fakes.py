"""An in-memory implementation of the ports (``osmo.application.ports``), for fast use-case tests.

Like cosmicpython's ``FakeRepository``/``FakeUnitOfWork``, but at the level of the ports: ``FakeDatabase``
opens ``FakeTransaction``s whose event store and read models behave as the SQL backends do (the same
contract suite, ``tests/contract/store_contract.py``, runs on all three).

Atomicity: a write transaction works on a shallow copy of the committed ``_State`` and swaps it in on
commit, so a failed ``with database.transaction()`` leaves nothing behind. Nothing stored in the state is
ever mutated in place (values are replaced), which is what makes the shallow copy safe. Event data and
metadata are kept as JSON bytes (orjson, as the SQL backends store them), so they read back as JSON would.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
import orjson

from osmo.adapters.sql_events import follow_loop
from osmo.application.ports import (
    ApiKeyRow,
    DeliveryRow,
    GameBlock,
    GameLineRow,
    LineBlock,
    PlayerRow,
    RankRow,
    UnlockRow,
    WebhookRow,
)
from osmo.domain import events as ev
from osmo.domain.career import Career
from osmo.domain.catalog import Catalog
from osmo.domain.errors import ConcurrencyError
from osmo.domain.events import NO_STREAM, NewEvent, RecordedEvent
from osmo.domain.players import identity_key


class _Event(NamedTuple):
    """A stored event: data and metadata as JSON bytes."""

    position: int
    stream: str
    version: int
    type: str
    data: bytes
    metadata: bytes
    event_id: uuid.UUID
    recorded_at: str

    def decoded(self) -> RecordedEvent:
        return RecordedEvent(self.position, self.stream, self.version, self.type, orjson.loads(self.data),
                             orjson.loads(self.metadata), self.event_id, self.recorded_at)


class _Player(NamedTuple):
    row: PlayerRow
    key: int  # the registration position


class _Line(NamedTuple):
    key: int
    team: int
    game: dict[str, int]  # by game name (stats, then "won"), as recorded
    career: dict[str, int]  # by career name


class _Game(NamedTuple):
    """One game's lines, as the ``game_lines`` table keeps them (game_id and finished_at of its first add)."""

    game_id: str
    finished_at: str
    lines: tuple[_Line, ...]


@dataclass
class _State:
    """Everything a database holds. Copied (one level deep) at the start of each transaction."""

    events: list[_Event] = field(default_factory=list)  # events[i].position == i + 1
    event_ids: set[uuid.UUID] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)  # stream -> last version
    players: dict[str, _Player] = field(default_factory=dict)
    careers: dict[str, dict[str, int]] = field(default_factory=dict)  # player -> career by name
    games: dict[int, _Game] = field(default_factory=dict)  # position -> lines
    unlocks: dict[tuple[str, str], UnlockRow] = field(default_factory=dict)
    checkpoints: dict[str, int] = field(default_factory=dict)
    api_keys: dict[str, ApiKeyRow] = field(default_factory=dict)
    webhooks: dict[int, WebhookRow] = field(default_factory=dict)
    deliveries: dict[int, tuple[DeliveryRow, ...]] = field(default_factory=dict)  # newest last
    webhook_ids: list[int] = field(default_factory=list)  # ids handed out (never reused)

    def copy(self) -> _State:
        return _State(**{f.name: copy.copy(getattr(self, f.name)) for f in fields(self)})


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeEventStore:
    """The event log of one transaction, with the checks of ``SqliteEventStore.append``."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]:
        state = self.state
        fresh = [e for e in events if e.event_id not in state.event_ids]
        position, now = self.last_position(), _now()
        versions: dict[str, int] = {}
        ids: set[uuid.UUID] = set()
        stored: list[_Event] = []
        recorded: list[RecordedEvent] = []
        for event in fresh:
            if event.expected_version == NO_STREAM and event.stream not in versions:
                version = 0
            else:
                current = versions.get(event.stream, state.versions.get(event.stream, -1))
                if event.expected_version is not None and current != event.expected_version:
                    raise ConcurrencyError(
                        f"stream {event.stream!r} is at version {current}, expected {event.expected_version}")
                version = current + 1
            if version <= state.versions.get(event.stream, -1) or version <= versions.get(event.stream, -1):
                raise ConcurrencyError(f"a stream was written concurrently: {event.stream!r} version {version}")
            if event.event_id in ids:
                raise ConcurrencyError(f"a stream was written concurrently: event id {event.event_id} twice")
            versions[event.stream] = version
            ids.add(event.event_id)
            position += 1
            metadata = {"schema": 1, **(event.metadata or {})}
            stored.append(_Event(position, event.stream, version, event.type, orjson.dumps(event.data),
                                 orjson.dumps(metadata), event.event_id, now))
            recorded.append(RecordedEvent(position, event.stream, version, event.type, event.data, metadata,
                                          event.event_id, now))
        state.events.extend(stored)  # only once every event passed its checks: an append is all or nothing
        state.event_ids.update(ids)
        state.versions.update(versions)
        return recorded

    def append_games(self, game_ids: Sequence[str], payloads: Sequence[str], event_ids: Sequence[bytes],
                     catalog_version: int) -> tuple[int, str]:
        for game_id in game_ids:
            if ev.game_stream(game_id) in self.state.versions:
                raise ConcurrencyError(f"a game was recorded concurrently: {game_id!r}")
        recorded = self.append([ev.game_recorded(orjson.loads(p), catalog_version) for p in payloads])
        assert [e.event_id.bytes for e in recorded] == list(event_ids), "event ids that are not the derived ones"
        events = self.state.events
        for event, payload in zip(recorded, payloads, strict=True):  # stored as given, as the SQL stores do
            events[event.position - 1] = events[event.position - 1]._replace(data=payload.encode())
        return recorded[0].position, recorded[0].recorded_at

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        start = max(after, 0)
        for event in self.state.events[start:start + limit if limit else None]:
            yield event.decoded()

    def read_stream(self, stream: str) -> list[RecordedEvent]:
        return [e.decoded() for e in self.state.events if e.stream == stream]

    def stream_version(self, stream: str) -> int:
        return self.state.versions.get(stream, -1)

    def first_events(self, streams: Iterable[str]) -> dict[str, RecordedEvent]:
        wanted = set(streams) & self.state.versions.keys()
        return {e.stream: e.decoded() for e in self.state.events if e.version == 0 and e.stream in wanted}

    def first_data(self, streams: Iterable[str]) -> dict[str, str]:
        wanted = set(streams) & self.state.versions.keys()
        return {e.stream: e.data.decode() for e in self.state.events if e.version == 0 and e.stream in wanted}

    def of_type(self, event_type: str) -> list[RecordedEvent]:
        return [e.decoded() for e in self.state.events if e.type == event_type]

    def last_position(self) -> int:
        return len(self.state.events)


class FakeServiceViews:
    """The service's roles in memory: API keys, webhooks and their deliveries, leaderboards."""

    state: _State
    catalog: Catalog | None

    def _layout(self) -> Catalog: ...  # provided by FakeReadModels

    def _block(self, positions: Iterable[int]) -> LineBlock: ...

    def flush(self) -> None: ...

    # -- API keys ----------------------------------------------------------------------------
    def add_key(self, row: ApiKeyRow) -> None:
        if any(k.digest == row.digest and k.name != row.name for k in self.state.api_keys.values()):
            raise ValueError("UNIQUE constraint failed: api_keys.digest")
        self.state.api_keys[row.name] = row

    def key_by_digest(self, digest: str) -> ApiKeyRow | None:
        return next((k for k in self.state.api_keys.values() if k.digest == digest), None)

    def key_by_name(self, name: str) -> ApiKeyRow | None:
        return self.state.api_keys.get(name)

    def api_keys(self) -> list[ApiKeyRow]:
        return sorted(self.state.api_keys.values(), key=lambda k: k.name.encode())

    def revoke_key(self, name: str, revoked_at: str) -> None:
        key = self.state.api_keys.get(name)
        if key is not None and key.revoked_at is None:
            self.state.api_keys[name] = replace(key, revoked_at=revoked_at)

    # -- webhooks ----------------------------------------------------------------------------
    def add_webhook(self, url: str, secret: str, events: Sequence[str], created_at: str, cursor: int) -> int:
        webhook_id = len(self.state.webhook_ids) + 1
        self.state.webhook_ids = [*self.state.webhook_ids, webhook_id]  # replaced, never changed in place
        self.state.webhooks[webhook_id] = WebhookRow(webhook_id, url, secret, tuple(events), created_at, cursor)
        return webhook_id

    def webhooks(self) -> list[WebhookRow]:
        return [self.state.webhooks[i] for i in sorted(self.state.webhooks)]

    def remove_webhook(self, webhook_id: int) -> bool:
        self.state.deliveries.pop(webhook_id, None)
        return self.state.webhooks.pop(webhook_id, None) is not None

    def claim_webhook(self, webhook_id: int, owner: str, now: float, lease_until: float) -> bool:
        hook = self.state.webhooks.get(webhook_id)
        if hook is None or not (hook.lease_owner in (None, owner) or hook.lease_until < now):
            return False
        self.state.webhooks[webhook_id] = replace(hook, lease_owner=owner, lease_until=lease_until)
        return True

    def advance_webhook(self, webhook_id: int, owner: str, cursor: int, attempts: int, next_attempt_at: float) -> bool:
        hook = self.state.webhooks.get(webhook_id)
        if hook is None or hook.lease_owner != owner:
            return False
        self.state.webhooks[webhook_id] = replace(hook, cursor=cursor, attempts=attempts,
                                                  next_attempt_at=next_attempt_at)
        return True

    def add_delivery(self, row: DeliveryRow, keep: int) -> None:
        log = (*self.state.deliveries.get(row.webhook_id, ()), row)
        self.state.deliveries[row.webhook_id] = log[-keep:]

    def deliveries(self, webhook_id: int, limit: int) -> list[DeliveryRow]:
        return list(reversed(self.state.deliveries.get(webhook_id, ())))[:limit]

    # -- leaderboards ------------------------------------------------------------------------
    def _board(self, stat: str) -> list[RankRow]:
        if stat not in self._layout().career_names:
            raise KeyError(stat)
        self.flush()
        players = self.state.players
        scored = sorted(((c.get(stat, 0), p) for p, c in self.state.careers.items() if c.get("games_played", 0) > 0),
                        key=lambda vp: (-vp[0], vp[1].encode()))
        board: list[RankRow] = []
        for row, (value, player_id) in enumerate(scored):
            rank = board[-1].rank if board and board[-1].value == value else row + 1
            board.append(RankRow(player_id, players[player_id].row.name, value, rank, row))
        return board

    def career_board(self, stat: str, limit: int, offset: int) -> tuple[list[RankRow], int]:
        board = self._board(stat)
        return board[offset:offset + limit], len(board)

    def career_row(self, stat: str, player_id: str) -> int | None:
        return next((r.row for r in self._board(stat) if r.player_id == player_id), None)

    def lines_since(self, finished_at: str) -> LineBlock:
        self.flush()
        since = datetime.fromisoformat(finished_at)
        return self._block(sorted(p for p, g in self.state.games.items()
                                  if datetime.fromisoformat(g.finished_at) >= since))

    def recent_unlocks(self, award_id: str | None, limit: int) -> list[UnlockRow]:
        rows = [r for r in self.state.unlocks.values() if r.active and award_id in (None, r.award_id)]
        rows.sort(key=lambda r: (r.player_id.encode(), r.award_id.encode()))
        rows.sort(key=lambda r: (r.recorded_at.encode(), r.game_position is not None, r.game_position or 0),
                  reverse=True)
        return rows[:limit]


class FakeReadModels(FakeServiceViews):
    """Every read model of one transaction: players, careers, game lines, unlocks, checkpoints.

    Game lines are buffered until ``flush`` as in the SQL backends: ``game_lines`` sees only the buffer,
    and the reads of stored lines flush first.
    """

    def __init__(self, state: _State) -> None:
        self.state = state
        self.catalog: Catalog | None = None
        self._buffer: dict[int, list[GameLineRow]] = {}

    def _layout(self) -> Catalog:
        if self.catalog is None:
            raise RuntimeError("use_catalog() must be called before reading or writing careers")
        return self.catalog

    # -- players -----------------------------------------------------------------------------
    def add_player(self, player_id: str, name: str, position: int, registered_at: str) -> None:
        players = self.state.players
        if player_id in players or any(p.row.name == name for p in players.values()):
            raise ValueError(f"UNIQUE constraint failed: player {player_id!r} or name {name!r} exists")
        players[player_id] = _Player(PlayerRow(player_id, name, registered_at), position)

    def rename_player(self, player_id: str, name: str) -> None:
        players = self.state.players
        if player_id not in players:
            return
        if any(p.row.name == name and p.row.player_id != player_id for p in players.values()):
            raise ValueError(f"UNIQUE constraint failed: name {name!r} exists")
        old = players[player_id]
        players[player_id] = _Player(PlayerRow(player_id, name, old.row.registered_at), old.key)

    def _by_position(self) -> list[PlayerRow]:
        return [p.row for p in sorted(self.state.players.values(), key=lambda p: p.key)]

    def find_player(self, key: str) -> PlayerRow | None:
        rows, folded = self._by_position(), identity_key(key)
        for matches in (lambda r: r.player_id == key, lambda r: r.name == key,
                        lambda r: identity_key(r.player_id) == folded, lambda r: identity_key(r.name) == folded):
            found = next((r for r in rows if matches(r)), None)
            if found is not None:
                return found
        return None

    def clashing_player(self, player_id: str, name: str) -> PlayerRow | None:
        keys = {identity_key(player_id), identity_key(name)}
        return next((r for r in self._by_position()
                     if identity_key(r.player_id) in keys or identity_key(r.name) in keys), None)

    def players(self) -> list[PlayerRow]:
        return self._by_position()

    def registered(self, player_ids: Iterable[str]) -> set[str]:
        return set(player_ids) & self.state.players.keys()

    def player_keys(self) -> dict[int, str]:
        return {p.key: player_id for player_id, p in self.state.players.items()}

    def _key(self, player_id: str) -> int:
        return self.state.players[player_id].key  # KeyError for an unregistered player, as in the SQL backends

    # -- careers -----------------------------------------------------------------------------
    def use_catalog(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def careers(self, player_ids: Iterable[str]) -> dict[str, Career]:
        names = self._layout().career_names
        stored = self.state.careers
        return {p: tuple(stored.get(p, {}).get(n, 0) for n in names) for p in player_ids}

    def put_career(self, player_id: str, career: Career, position: int) -> None:
        # Stats the catalog no longer has keep their stored values, as the SQL columns do.
        named = dict(zip(self._layout().career_names, career, strict=True))
        self.state.careers[player_id] = {**self.state.careers.get(player_id, {}), **named}

    def players_with_games(self) -> int:
        return sum(1 for c in self.state.careers.values() if c.get("games_played", 0) > 0)

    # -- game lines --------------------------------------------------------------------------
    def add_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        if rows:
            self._buffer[rows[0].position] = list(rows)

    def game_lines(self, position: int) -> list[GameLineRow]:
        return self._buffer.get(position, [])

    def add_game_block(self, block: GameBlock) -> None:
        for rows in block.game_rows():
            self.add_game_lines(rows)
        self._block = block

    def game_block(self, position: int) -> GameBlock | None:
        block = getattr(self, "_block", None)
        if block is not None and block.positions[0] <= position <= block.positions[-1]:
            return block
        return None

    def _stored_lines(self, rows: Sequence[GameLineRow]) -> tuple[_Line, ...]:
        catalog = self._layout()
        return tuple(_Line(self._key(r.player_id), r.team, dict(zip(catalog.game_names, r.game, strict=True)),
                           dict(zip(catalog.career_names, r.career, strict=True))) for r in rows)

    def _block(self, positions: Iterable[int]) -> LineBlock:
        """The stored games at these positions (in order) as the SQL backends decode them."""
        catalog = self._layout()
        game_names, career_names = catalog.game_names, catalog.career_names
        records: list[list[int]] = []
        line_positions: list[int] = []
        games: dict[int, tuple[str, str]] = {}
        for position in positions:
            game = self.state.games[position]
            games[position] = (game.game_id, game.finished_at)
            for line in game.lines:
                records.append([line.key, line.team, *(line.game.get(n, 0) for n in game_names),
                                *(line.career.get(n, 0) for n in career_names)])
                line_positions.append(position)
        g, c = len(game_names), len(career_names)
        matrix = np.array(records, dtype=np.int64).reshape(-1, 2 + g + c)
        return LineBlock(matrix, np.array(line_positions, dtype=np.int64), list(range(2, 2 + g)),
                         list(range(2 + g, 2 + g + c)), games)

    def line_blocks(self, after: int = 0, games: int = 20_000) -> Iterator[LineBlock]:
        self._layout()
        while True:
            self.flush()
            positions = sorted(p for p in self.state.games if p > after)[:games]
            if not positions:
                return
            yield self._block(positions)
            after = positions[-1]

    def lines_at(self, positions: Iterable[int]) -> LineBlock:
        self.flush()
        return self._block(sorted(set(positions) & self.state.games.keys()))

    def games_of(self, player_ids: Iterable[str], after: int = 0, before: int | None = None) -> dict[str, list[int]]:
        self.flush()
        ids = list(dict.fromkeys(player_ids))
        by_key = {self._key(p): p for p in ids}
        found: dict[str, list[int]] = {p: [] for p in ids}
        for position in sorted(self.state.games):
            if position > after and (before is None or position < before):
                for line in self.state.games[position].lines:
                    if line.key in by_key:
                        found[by_key[line.key]].append(position)
        return found

    def last_games(self, player_ids: Iterable[str], before: int) -> dict[str, int]:
        found = self.games_of(player_ids, before=before)
        return {p: positions[-1] for p, positions in found.items() if positions}

    def remove_game(self, position: int) -> None:
        self.flush()
        self.state.games.pop(position, None)

    def replace_game_lines(self, rows: Sequence[GameLineRow]) -> None:
        self.flush()
        position = rows[0].position
        old = self.state.games.get(position)
        if old is not None:  # an UPDATE: game_id and finished_at stay as first recorded
            self.state.games[position] = old._replace(lines=self._stored_lines(rows))

    def game_count(self) -> int:
        self.flush()
        return len(self.state.games)

    def stat_in_use(self, stat_id: str) -> bool:
        return any(line.game.get(stat_id, 0) != 0 for game in self.state.games.values() for line in game.lines)

    # -- unlocks -----------------------------------------------------------------------------
    def held(self, player_ids: Iterable[str]) -> dict[str, set[str]]:
        held: dict[str, set[str]] = {p: set() for p in player_ids}
        for (player_id, award_id), row in self.state.unlocks.items():
            if row.active and player_id in held:
                held[player_id].add(award_id)
        return held

    def add_unlock(self, row: UnlockRow) -> None:
        self.state.unlocks[row.player_id, row.award_id] = row

    def revoke_unlock(self, player_id: str, award_id: str, version: int, reason: str, source: str) -> None:
        row = self.state.unlocks.get((player_id, award_id))
        if row is not None:
            self.state.unlocks[player_id, award_id] = UnlockRow(
                row.player_id, row.award_id, row.game_id, row.game_position, row.unlocked_at, row.recorded_at,
                row.catalog_version, source, version, False, reason)

    def unlock(self, player_id: str, award_id: str) -> UnlockRow | None:
        return self.state.unlocks.get((player_id, award_id))

    def unlock_versions(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        unlocks = self.state.unlocks
        return {pair: unlocks[pair].version for pair in pairs if pair in unlocks}

    def unlocks_of(self, player_id: str) -> list[UnlockRow]:
        # ORDER BY game_position, award_id with NULLs first, as SQLite sorts them.
        rows = [r for r in self.state.unlocks.values() if r.player_id == player_id and r.active]
        return sorted(rows, key=lambda r: (r.game_position is not None, r.game_position or 0, r.award_id))

    def award_holders(self, award_id: str) -> set[str]:
        return {r.player_id for r in self.state.unlocks.values()
                if r.award_id == award_id and (r.active or r.source == "operator")}

    def holders(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.state.unlocks.values():
            if row.active:
                counts[row.award_id] = counts.get(row.award_id, 0) + 1
        return counts

    # -- checkpoints and maintenance ---------------------------------------------------------
    def checkpoint(self, name: str) -> int:
        return self.state.checkpoints.get(name, 0)

    def set_checkpoint(self, name: str, position: int) -> None:
        self.state.checkpoints[name] = position

    def flush(self) -> None:
        """Store the buffered game lines (a position stored twice is an error, as its primary key is)."""
        for position, rows in self._buffer.items():
            if position in self.state.games:
                raise ValueError(f"UNIQUE constraint failed: game lines at position {position}")
            self.state.games[position] = _Game(rows[0].game_id, rows[0].finished_at, self._stored_lines(rows))
        self._buffer.clear()

    def reset(self) -> None:
        state = self.state
        for table in (state.players, state.careers, state.games, state.unlocks, state.checkpoints):
            table.clear()
        self._buffer.clear()


class FakeTransaction:
    """One transaction: the event store, and the read models by role (one object serves them all)."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.events = FakeEventStore(state)
        self.views = FakeReadModels(state)
        self.players = self.careers = self.lines = self.unlocks = self.checkpoints = self.projections = self.views
        self.keys = self.webhooks = self.boards = self.views


class FakeDatabase:
    """A database in memory. Writers are exclusive (one lock); readers get a snapshot of the last commit."""

    def __init__(self) -> None:
        self._state = _State()  # the committed state: replaced on commit, never changed in place
        self._lock = threading.Lock()
        self._writer: int | None = None  # the thread holding the lock
        self.closed = False

    @contextmanager
    def transaction(self) -> Iterator[FakeTransaction]:
        if self._writer == threading.get_ident():
            raise RuntimeError("a transaction is already open in this thread")
        with self._lock:
            self._writer = threading.get_ident()
            try:
                tx = FakeTransaction(self._state.copy())
                yield tx
                tx.views.flush()
                self._state = tx.state
            finally:
                self._writer = None

    @contextmanager
    def reader(self) -> Iterator[FakeTransaction]:
        """A snapshot of the last commit; anything written through it is dropped."""
        yield FakeTransaction(self._state.copy())

    def follow(self, after: int = 0, *, batch: int = 500, wait: float = 1.0, until: int | None = None,
               idle: float | None = None, stop: Callable[[], bool] | None = None,
               poll: float = 0.02) -> Iterator[RecordedEvent]:
        """Committed events after ``after``, polling every ``poll`` seconds once caught up (like SQLite)."""

        def read(position: int, limit: int) -> list[RecordedEvent]:
            return [e.decoded() for e in self._state.events[max(position, 0):max(position, 0) + limit]]

        yield from follow_loop(read, lambda timeout: time.sleep(min(poll, timeout)), after, batch=batch, wait=wait,
                               until=until, idle=idle, stop=stop)

    def close(self) -> None:
        self.closed = True

