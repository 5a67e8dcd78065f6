"""Use case: record finished games (one or a batch) and award what they earned.

The whole input is checked first and nothing is stored when anything is wrong (unless the caller asks
to skip invalid reports). Then games are written in chunks, each chunk one transaction in which the
games are appended, projected and evaluated, so a crash never leaves a game without its awards.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import orjson

from osmo.application.game_chunk import GameChunk
from osmo.application.ports import Transaction
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.errors import ConcurrencyError, DuplicateConflict, InvalidInput, InvalidReport
from osmo.domain.events import RecordedEvent
from osmo.domain.games import Game, GameReport, check_report, describe_difference, game_from_data

CHUNK_SIZE = 500


@dataclass(frozen=True, slots=True)
class Submission:
    """One report of a batch as the input format read it: a report, or the reason it could not be read."""

    line: int
    game_id: str | None
    report: GameReport | None = None
    error: str | None = None
    game: Game | None = None
    """The report already in normal form, when the reader ran every check of ``check_report`` itself
    (with a clock no later than the recording's) and all passed."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A report that is not recorded. ``kind``: invalid (breaks a rule of the format or the catalog),
    unregistered (names a player nobody registered), or conflict (its game id was recorded with other
    content). ``index``: the report's place in the input (0-based; -1 when not known)."""

    line: int
    game_id: str | None
    error: str
    kind: str = "invalid"
    index: int = -1


@dataclass(frozen=True, slots=True)
class Unlock:
    player_id: str
    award: str
    game_id: str


@dataclass
class RecordResult:
    recorded: int = 0
    duplicates: int = 0
    unlocked: list[Unlock] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


class BatchRejected(InvalidReport):
    """Some reports of a batch are invalid; nothing was stored."""

    def __init__(self, rejected: Sequence[Rejection]) -> None:
        self.rejected = list(rejected)
        first = rejected[0]
        more = f" (and {len(rejected) - 1} more invalid report(s))" if len(rejected) > 1 else ""
        super().__init__(f"line {first.line}: {first.error}{more}; nothing was recorded")


@dataclass(frozen=True, slots=True)
class Checked:
    """A report that passed every check of the domain: its game in normal form."""

    line: int
    game: Game
    index: int = -1

    @property
    def game_id(self) -> str:
        return self.game.game_id


Outcome = Checked | Rejection | GameChunk
"""A report checked one by one (or refused), or a run of reports checked in columns."""


def check_submission(submission: Submission, catalog: Catalog, now: datetime | None = None,
                     index: int = -1) -> Outcome:
    """The domain's verdict on one submission (pure: safe to run in worker processes). ``now`` is when
    the reports were received: a report finished later than that (beyond a small clock skew) is refused.
    ``index`` is the submission's place in its input."""
    if submission.game is not None:
        return Checked(submission.line, submission.game, index)
    if submission.report is None:
        return Rejection(submission.line, submission.game_id, submission.error or "unreadable", index=index)
    try:
        return Checked(submission.line, check_report(submission.report, catalog, now), index)
    except InvalidReport as error:
        return Rejection(submission.line, submission.report.game_id, str(error), index=index)


class NoReports(InvalidInput):
    """The input holds no report at all."""


def record_games(
    uow: UnitOfWork,
    submissions: Iterable[Submission | GameChunk],
    *,
    skip_invalid: bool = False,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    spool: Spool | None = None,
    checking: Callable[[int], None] | None = None,
    checked: Callable[[int], None] | None = None,
) -> RecordResult:
    """Check every submission, then record the valid new games and evaluate their awards.

    ``submissions`` are reports as the input format read them, or runs of reports a reader already
    checked in columns (``GameChunk``), in input order. A game id already recorded with the same content
    (after normalisation) is a duplicate, not an error; with different content it is rejected. Raises
    BatchRejected when any report is invalid, unless ``skip_invalid``: then the valid ones are recorded and
    the invalid ones listed; NoReports when there is none. Reports are checked with the catalog
    ``uow.catalog()`` gives.
    """
    catalog = uow.catalog()
    now = datetime.now(UTC)
    return record_checked(uow, catalog, _outcomes(submissions, catalog, now), skip_invalid=skip_invalid,
                          chunk_size=chunk_size, progress=progress, spool=spool, checking=checking, checked=checked)


def _outcomes(submissions: Iterable[Submission | GameChunk], catalog: Catalog, now: datetime) -> Iterator[Outcome]:
    index = 0
    for item in submissions:
        if isinstance(item, GameChunk):
            yield item.numbered(index)
            index += len(item)
        else:
            yield check_submission(item, catalog, now, index)
            index += 1


class Spool(Protocol):
    """Where checked games wait between the check of the whole input and the writes (bounded memory:
    a temporary file in the CLI; a list by default). Chunks come back in the order they were added."""

    def add(self, chunk: GameChunk) -> None: ...

    def chunks(self) -> Iterator[GameChunk]: ...

    def close(self) -> None: ...


class ListSpool:
    """A Spool in memory."""

    def __init__(self) -> None:
        self._chunks: list[GameChunk] = []

    def add(self, chunk: GameChunk) -> None:
        self._chunks.append(chunk)

    def chunks(self) -> Iterator[GameChunk]:
        yield from self._chunks

    def close(self) -> None:
        self._chunks.clear()


CHECK_CHUNK = 1000
"""Games looked up together (registered players, games already stored) while checking."""


def record_checked(
    uow: UnitOfWork,
    catalog: Catalog,
    outcomes: Iterable[Outcome],
    *,
    skip_invalid: bool = False,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    spool: Spool | None = None,
    checking: Callable[[int], None] | None = None,
    checked: Callable[[int], None] | None = None,
) -> RecordResult:
    """``record_games`` for submissions already checked with ``catalog`` (for example by worker processes).

    Two passes, so memory does not grow with the input: the first checks every outcome against the store
    (registered players, games already recorded) chunk by chunk and keeps the new games in ``spool`` (and
    only a hash of each game id in memory, to find a game repeated within the input); nothing is written
    unless all is well (or ``skip_invalid``). The second writes the spooled games, ``chunk_size`` per
    transaction. ``checking(n)`` reports outcomes checked, ``checked(n)`` the number of games to write once
    the check is done, ``progress(n)`` games written (a chunk at a time).
    """
    result = RecordResult()
    spool = spool if spool is not None else ListSpool()
    try:
        fresh = _check_all(uow, catalog, outcomes, result, spool, checking)
        if not fresh.count and not result.rejected and not result.duplicates:
            raise NoReports("no reports in the input")
        if result.rejected and not skip_invalid:
            raise BatchRejected(result.rejected)
        if checked:
            checked(fresh.count - len(fresh.dropped))
        _write_all(uow, _kept(spool, fresh.dropped), result, chunk_size, progress)
    finally:
        spool.close()
    return result


def _kept(spool: Spool, dropped: set[int]) -> Iterator[GameChunk]:
    """The spooled games in order, but those ``dropped`` (by ordinal)."""
    ordinal = 0
    for chunk in spool.chunks():
        size = len(chunk)
        if dropped:
            chunk = chunk.take([i for i in range(size) if i + ordinal not in dropped])
        ordinal += size
        yield chunk


def _slices(chunks: Iterable[GameChunk], size: int) -> Iterator[GameChunk]:
    """The games of ``chunks`` again, ``size`` at a time (a slice holds fewer at the end, or where the stats the
    games were checked with change)."""
    held: list[GameChunk] = []
    count = 0
    for chunk in chunks:
        if held and chunk.stat_ids != held[0].stat_ids:  # games checked with other stats are written apart
            yield GameChunk.concat(held)
            held, count = [], 0
        begin = 0
        while begin < len(chunk):
            end = min(len(chunk), begin + size - count)
            held.append(chunk.slice(begin, end))
            count += end - begin
            begin = end
            if count == size:
                yield GameChunk.concat(held)
                held, count = [], 0
    if held:
        yield GameChunk.concat(held)


def _write_all(uow: UnitOfWork, chunks: Iterable[GameChunk], result: RecordResult, chunk_size: int,
               progress: Callable[[int], None] | None) -> None:
    for chunk in _slices(chunks, chunk_size):
        try:
            fresh, decided = _write(uow, chunk, result, optimistic=True)
        except ConcurrencyError:  # a game was recorded by another writer since the check
            fresh, decided = _write(uow, chunk, result, optimistic=False)
        result.recorded += len(fresh)
        for event in decided:
            if event.type == ev.AWARD_UNLOCKED and isinstance(unlocked := event.payload, ev.AwardUnlocked):
                result.unlocked.append(Unlock(unlocked.player_id, unlocked.award_id, unlocked.game_id))
        if progress:
            progress(len(chunk))


def _write(uow: UnitOfWork, chunk: GameChunk, result: RecordResult, optimistic: bool
           ) -> tuple[GameChunk, list[RecordedEvent]]:
    """Record ``chunk`` in one transaction: the games written, and what the subscribers decided. Games recorded by
    another writer since the check are duplicates (or a conflict): looked up first, unless ``optimistic`` and
    the chunk is written in columns, where the store refuses a game already recorded (ConcurrencyError: the
    transaction rolls back, and the caller writes again with the look-up)."""
    with uow.write() as writer:
        if optimistic and writer.writes_in_columns(chunk):
            return chunk, writer.record_games(chunk)
        fresh = _drop_recorded(writer.tx, chunk, result)
        return fresh, writer.record_games(fresh) if len(fresh) else []


@dataclass
class _Spooled:
    """What the check keeps of the spooled games: how many, a hash of each game id (in spool order), and
    the ordinals of those that repeat an earlier one (dropped from the writes)."""

    count: int = 0
    hashes: array[int] = field(default_factory=lambda: array("q"))
    dropped: set[int] = field(default_factory=set)


def _pieces(outcomes: Iterable[Outcome], result: RecordResult, stat_ids: Sequence[str],
            checking: Callable[[int], None] | None) -> Iterator[GameChunk]:
    """The checked games of ``outcomes`` in chunks of about CHECK_CHUNK games (games checked one by one are
    put in columns here); rejections are listed in ``result`` as they come."""
    parts: list[GameChunk] = []
    singles: list[tuple[int, int, Game]] = []
    stats: tuple[str, ...] | None = None  # what the gathered games were checked with
    count = 0

    def gathered() -> GameChunk:
        nonlocal count, stats
        if singles:
            parts.append(GameChunk.of_games(singles, stats or stat_ids))
            singles.clear()
        chunk = GameChunk.concat(parts) if parts else GameChunk.empty(stat_ids)
        parts.clear()
        if checking:
            checking(count)
        count, stats = 0, None
        return chunk

    for outcome in outcomes:
        if isinstance(outcome, Rejection):
            result.rejected.append(outcome)
            count += 1
            continue
        checked_with = (outcome.game.stat_ids or tuple(stat_ids)) if isinstance(outcome, Checked) \
            else outcome.stat_ids
        if stats is not None and checked_with != stats:
            yield gathered()
        stats = checked_with
        if isinstance(outcome, Checked):
            singles.append((outcome.line, outcome.index, outcome.game))
            count += 1
        else:
            if singles:
                parts.append(GameChunk.of_games(singles, stats))
                singles.clear()
            parts.append(outcome)
            count += len(outcome)
        if count >= CHECK_CHUNK:
            yield gathered()
    if count:
        yield gathered()


def _check_all(uow: UnitOfWork, catalog: Catalog, outcomes: Iterable[Outcome], result: RecordResult,
               spool: Spool, checking: Callable[[int], None] | None) -> _Spooled:
    """Spool the outcomes that are new games of registered players; the rest are counted or rejected.
    Rejections keep the order of the one-pass check: unreadable or invalid reports first, then the
    others in input order."""
    stat_ids = catalog.stat_ids
    spooled = _Spooled()
    later: list[tuple[int, Rejection]] = []  # (ordinal among candidates, rejection)
    ordinal = 0
    spool_ordinals = array("q")  # the candidate ordinal of each spooled game
    for piece in _pieces(outcomes, result, stat_ids, checking):
        if not len(piece):
            continue
        with uow.read() as reader:
            players = set(piece.player_ids)
            registered = reader.tx.players.registered(players)
            stored = reader.tx.events.first_data(ev.game_stream(g) for g in piece.game_ids)
        refused: dict[int, Rejection] = {}
        if len(registered) < len(players):
            starts = piece.starts.tolist()
            unknown_line = np.fromiter((p not in registered for p in piece.player_ids), dtype=np.bool_,
                                       count=len(piece.player_ids))
            game_of = np.repeat(np.arange(len(piece)), np.diff(piece.starts))
            for game in np.unique(game_of[unknown_line]).tolist():
                unknown = [p for p in piece.player_ids[starts[game]:starts[game + 1]] if p not in registered]
                refused[game] = Rejection(piece.lines[game], piece.game_ids[game], (
                    f"game {piece.game_ids[game]!r}: player {unknown[0]!r} is not registered"
                    + (f" (nor {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else "")),
                    "unregistered", piece.indexes[game])
        duplicate: set[int] = set()
        if stored:
            for game, game_id in enumerate(piece.game_ids):
                previous = stored.get(ev.game_stream(game_id))
                if previous is None or game in refused:
                    continue
                difference = _difference(previous, piece, game, stat_ids)
                if difference is None:
                    result.duplicates += 1
                    duplicate.add(game)
                else:
                    refused[game] = Rejection(piece.lines[game], game_id, (
                        f"game {game_id!r} was already recorded with different content: {difference}"),
                        "conflict", piece.indexes[game])
        later.extend((ordinal + game + 1, rejection) for game, rejection in refused.items())
        kept = [g for g in range(len(piece)) if g not in refused and g not in duplicate] \
            if refused or duplicate else list(range(len(piece)))
        if kept:
            spool.add(piece.take(kept))
            spooled.count += len(kept)
            spooled.hashes.extend(map(hash, (piece.game_ids[g] for g in kept)))
            spool_ordinals.extend(ordinal + g + 1 for g in kept)
        ordinal += len(piece)
    _find_repeats(spool, spooled, spool_ordinals, result, later, stat_ids)
    later.sort(key=lambda item: item[0])
    result.rejected.extend(rejection for _, rejection in later)
    return spooled


def _find_repeats(spool: Spool, spooled: _Spooled, ordinals: array[int], result: RecordResult,
                  later: list[tuple[int, Rejection]], stat_ids: Sequence[str]) -> None:
    """Games of the input that repeat an earlier one (the same game id): a duplicate when the content is the
    same, else rejected naming the first field that differs. Only games whose id hash repeats are read
    back from the spool; the first of each game id is kept."""
    hashes = np.frombuffer(spooled.hashes, dtype=np.int64) if spooled.count else np.zeros(0, dtype=np.int64)
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    repeated = np.zeros(len(hashes), dtype=np.bool_)
    same = ordered[1:] == ordered[:-1]
    repeated[order[1:][same]] = True
    repeated[order[:-1][same]] = True
    suspects = np.flatnonzero(repeated).tolist()
    if not suspects:
        return
    first: dict[str, tuple[int, Game]] = {}
    offset = 0
    wanted = iter(suspects)
    suspect = next(wanted, None)
    for chunk in spool.chunks():
        while suspect is not None and suspect < offset + len(chunk):
            place = suspect - offset
            game, line = game_from_data(chunk.data(place), stat_ids), chunk.lines[place]
            earlier = first.get(game.game_id)
            if earlier is None:
                first[game.game_id] = (line, game)
            else:
                spooled.dropped.add(suspect)
                if earlier[1] == game:
                    result.duplicates += 1
                else:
                    later.append((ordinals[suspect], Rejection(line, game.game_id, (
                        f"game {game.game_id!r} appears again with different content (first at line "
                        f"{earlier[0]}): " + describe_difference(earlier[1], game)), "conflict",
                        chunk.indexes[place])))
            suspect = next(wanted, None)
        offset += len(chunk)


def _difference(previous: str, chunk: GameChunk, game: int, stat_ids: Sequence[str]) -> str | None:
    """How game ``game`` of ``chunk`` differs from the data of its recorded GameRecorded ``previous`` (JSON text, as
    stored), or None when it is the same game (a duplicate). The stored forms are compared first; when they
    differ, the games are compared field by field with ``stat_ids`` (one recorded with other stats, or stored
    in another form, may still be the same game)."""
    if previous == chunk.payloads[game]:
        return None
    recorded, candidate = game_from_data(orjson.loads(previous), stat_ids), chunk.game(game)
    return None if recorded == candidate else describe_difference(recorded, candidate)


def _drop_recorded(tx: Transaction, chunk: GameChunk, result: RecordResult) -> GameChunk:
    """Games recorded by a concurrent writer since the check: duplicates if identical, else a conflict."""
    stored = tx.events.first_data(ev.game_stream(game_id) for game_id in chunk.game_ids)
    if not stored:
        return chunk
    fresh = []
    for game, game_id in enumerate(chunk.game_ids):
        previous = stored.get(ev.game_stream(game_id))
        if previous is None:
            fresh.append(game)
            continue
        difference = _difference(previous, chunk, game, chunk.stat_ids)
        if difference is None:
            result.duplicates += 1
            continue
        raise DuplicateConflict(
            f"line {chunk.lines[game]}: game {game_id!r} was recorded concurrently with different "
            f"content: {difference}")
    return chunk.take(fresh)
