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
from itertools import islice
from typing import Any, Protocol, TypeVar

import numpy as np

from osmo.application.ports import Transaction
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.errors import DuplicateConflict, InvalidInput, InvalidReport
from osmo.domain.games import Game, GameReport, check_report, describe_difference, game_from_data

CHUNK_SIZE = 500
_T = TypeVar("_T")


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


Outcome = Checked | Rejection


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
    submissions: Iterable[Submission],
    *,
    skip_invalid: bool = False,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
    spool: Spool | None = None,
    checking: Callable[[int], None] | None = None,
    checked: Callable[[int], None] | None = None,
) -> RecordResult:
    """Check every submission, then record the valid new games and evaluate their awards.

    A game id already recorded with the same content (after normalisation) is a duplicate, not an
    error; with different content it is rejected. Raises BatchRejected when any report is invalid,
    unless ``skip_invalid``: then the valid ones are recorded and the invalid ones listed; NoReports when
    there is none. Reports are checked with the catalog ``uow.catalog()`` gives.
    """
    catalog = uow.catalog()
    now = datetime.now(UTC)
    return record_checked(uow, catalog, (check_submission(s, catalog, now, i) for i, s in enumerate(submissions)),
                          skip_invalid=skip_invalid, chunk_size=chunk_size, progress=progress, spool=spool,
                          checking=checking, checked=checked)


Spooled = tuple[int, dict[str, Any]]
"""A checked game waiting to be written: its line, and its stored form (``Game.to_data``)."""


class Spool(Protocol):
    """Where checked games wait between the check of the whole input and the writes (bounded memory:
    a temporary file in the CLI; a list by default). Chunks come back in the order they were added."""

    def add(self, chunk: list[Spooled]) -> None: ...

    def chunks(self) -> Iterator[list[Spooled]]: ...

    def close(self) -> None: ...


class ListSpool:
    """A Spool in memory."""

    def __init__(self) -> None:
        self._chunks: list[list[Spooled]] = []

    def add(self, chunk: list[Spooled]) -> None:
        self._chunks.append(chunk)

    def chunks(self) -> Iterator[list[Spooled]]:
        yield from self._chunks

    def close(self) -> None:
        self._chunks.clear()


CHECK_CHUNK = 2000
"""Reports looked up together (registered players, games already stored) while checking."""


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
        _write_all(uow, catalog, _kept(spool, fresh.dropped), result, chunk_size, progress)
    finally:
        spool.close()
    return result


def _kept(spool: Spool, dropped: set[int]) -> Iterator[Spooled]:
    """The spooled games in order, but those ``dropped`` (by ordinal)."""
    ordinal = 0
    for chunk in spool.chunks():
        if dropped:
            yield from (c for i, c in enumerate(chunk, ordinal) if i not in dropped)
        else:
            yield from chunk
        ordinal += len(chunk)


def _write_all(uow: UnitOfWork, catalog: Catalog, games: Iterable[Spooled], result: RecordResult,
               chunk_size: int, progress: Callable[[int], None] | None) -> None:
    for chunk in _chunked(games, chunk_size):
        with uow.write() as writer:
            fresh = _drop_recorded(writer.tx, chunk, catalog, result)
            appended = writer.append([ev.game_recorded(data, writer.catalog.version) for _, data in fresh])
        for event in appended:
            if event.type == ev.GAME_RECORDED:
                result.recorded += 1
            elif isinstance(unlocked := event.payload, ev.AwardUnlocked):
                result.unlocked.append(Unlock(unlocked.player_id, unlocked.award_id, unlocked.game_id))
        if progress:
            progress(len(chunk))


def _chunked(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class _Spooled:
    """What the check keeps of the spooled games: how many, a hash of each game id (in spool order), and
    the ordinals of those that repeat an earlier one (dropped from the writes)."""

    count: int = 0
    hashes: array[int] = field(default_factory=lambda: array("q"))
    dropped: set[int] = field(default_factory=set)


def _check_all(uow: UnitOfWork, catalog: Catalog, outcomes: Iterable[Outcome], result: RecordResult,
               spool: Spool, checking: Callable[[int], None] | None) -> _Spooled:
    """Spool the outcomes that are new games of registered players; the rest are counted or rejected.
    Rejections keep the order of the one-pass check: unreadable or invalid reports first, then the
    others in input order."""
    stat_ids = catalog.stat_ids
    spooled = _Spooled()
    later: list[tuple[int, Rejection]] = []  # (ordinal among candidates, rejection)
    ordinal = 0
    spool_lines = array("q")  # the candidate ordinal of each spooled game
    spool_indexes = array("q")  # and its place in the input
    for batch in _chunked(outcomes, CHECK_CHUNK):
        candidates: list[Checked] = []
        for outcome in batch:
            if isinstance(outcome, Rejection):
                result.rejected.append(outcome)
            else:
                candidates.append(outcome)
        if checking:
            checking(len(batch))
        if not candidates:
            continue
        with uow.read() as reader:
            registered = reader.tx.players.registered(p for c in candidates for p in c.game.player_ids)
            stored = reader.tx.events.first_events(ev.game_stream(c.game_id) for c in candidates)
        kept: list[Spooled] = []
        for candidate in candidates:
            ordinal += 1
            unknown = [p for p in candidate.game.player_ids if p not in registered]
            if unknown:
                later.append((ordinal, Rejection(candidate.line, candidate.game_id, (
                    f"game {candidate.game_id!r}: player {unknown[0]!r} is not registered"
                    + (f" (nor {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else "")),
                    "unregistered", candidate.index)))
                continue
            previous = stored.get(ev.game_stream(candidate.game_id))
            if previous is not None:
                recorded = game_from_data(previous.data, stat_ids)
                if recorded == candidate.game:
                    result.duplicates += 1
                else:
                    later.append((ordinal, Rejection(candidate.line, candidate.game_id, (
                        f"game {candidate.game_id!r} was already recorded with different content: "
                        + describe_difference(recorded, candidate.game)), "conflict", candidate.index)))
                continue
            kept.append((candidate.line, candidate.game.to_data(stat_ids)))
            spooled.hashes.append(hash(candidate.game_id))
            spool_lines.append(ordinal)
            spool_indexes.append(candidate.index)
        if kept:
            spool.add(kept)
            spooled.count += len(kept)
    _find_repeats(spool, spooled, spool_lines, spool_indexes, result, later, stat_ids)
    later.sort(key=lambda item: item[0])
    result.rejected.extend(rejection for _, rejection in later)
    return spooled


def _find_repeats(spool: Spool, spooled: _Spooled, ordinals: array[int], indexes: array[int],
                  result: RecordResult, later: list[tuple[int, Rejection]], stat_ids: Sequence[str]) -> None:
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
    suspects = set(np.flatnonzero(repeated).tolist())
    if not suspects:
        return
    first: dict[str, tuple[int, Game]] = {}
    index = 0
    for chunk in spool.chunks():
        for line, data in chunk:
            if index in suspects:
                game = game_from_data(data, stat_ids)
                earlier = first.get(game.game_id)
                if earlier is None:
                    first[game.game_id] = (line, game)
                else:
                    spooled.dropped.add(index)
                    if earlier[1] == game:
                        result.duplicates += 1
                    else:
                        later.append((ordinals[index], Rejection(line, game.game_id, (
                            f"game {game.game_id!r} appears again with different content (first at line "
                            f"{earlier[0]}): " + describe_difference(earlier[1], game)), "conflict",
                            indexes[index])))
            index += 1


def _drop_recorded(tx: Transaction, chunk: list[Spooled], catalog: Catalog, result: RecordResult) -> list[Spooled]:
    """Games recorded by a concurrent writer since the check: duplicates if identical, else a conflict."""
    stored = tx.events.first_events(ev.game_stream(data["game_id"]) for _, data in chunk)
    if not stored:
        return chunk
    fresh = []
    for line, data in chunk:
        previous = stored.get(ev.game_stream(data["game_id"]))
        if previous is None:
            fresh.append((line, data))
        else:
            recorded = game_from_data(previous.data, catalog.stat_ids)
            candidate = game_from_data(data, catalog.stat_ids)
            if recorded == candidate:
                result.duplicates += 1
                continue
            raise DuplicateConflict(
                f"line {line}: game {candidate.game_id!r} was recorded concurrently with different "
                f"content: {describe_difference(recorded, candidate)}")
    return fresh
