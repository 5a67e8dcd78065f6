"""Use case: record finished games (one or a batch) and award what they earned.

The whole input is checked first and nothing is stored when anything is wrong (unless the caller asks
to skip invalid reports). Then games are written in chunks, each chunk one transaction in which the
games are appended, projected and evaluated, so a crash never leaves a game without its awards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from osmo.application.ports import Transaction
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.errors import DuplicateConflict, InvalidInput, InvalidReport
from osmo.domain.games import Game, GameReport, check_report, describe_difference, game_from_data

CHUNK_SIZE = 500


@dataclass(frozen=True, slots=True)
class Submission:
    """One report of a batch as the input format read it: a report, or the reason it could not be read."""

    line: int
    game_id: str | None
    report: GameReport | None = None
    error: str | None = None


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
                          skip_invalid=skip_invalid, chunk_size=chunk_size, progress=progress)


def record_checked(
    uow: UnitOfWork,
    catalog: Catalog,
    outcomes: Iterable[Outcome],
    *,
    skip_invalid: bool = False,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> RecordResult:
    """``record_games`` for submissions already checked with ``catalog`` (for example by worker processes)."""
    result = RecordResult()
    checked = _check_all(uow, catalog, outcomes, result)
    if not checked and not result.rejected and not result.duplicates:
        raise NoReports("no reports in the input")
    if result.rejected and not skip_invalid:
        raise BatchRejected(result.rejected)
    stat_ids = catalog.stat_ids  # the order of the checked games' values
    for start in range(0, len(checked), chunk_size):
        chunk = checked[start:start + chunk_size]
        with uow.write() as writer:
            fresh = _drop_recorded(writer.tx, chunk, catalog, result)
            appended = writer.append(
                [ev.game_recorded(c.game.to_data(stat_ids), writer.catalog.version) for c in fresh])
        for event in appended:
            if event.type == ev.GAME_RECORDED:
                result.recorded += 1
            elif isinstance(unlocked := event.payload, ev.AwardUnlocked):
                result.unlocked.append(Unlock(unlocked.player_id, unlocked.award_id, unlocked.game_id))
        if progress:
            progress(len(chunk))
    return result


def _check_all(uow: UnitOfWork, catalog: Catalog, outcomes: Iterable[Outcome],
               result: RecordResult) -> list[Checked]:
    """The outcomes that are new games of registered players; the rest are counted or rejected."""
    stat_ids = catalog.stat_ids
    candidates: list[Checked] = []
    for outcome in outcomes:
        if isinstance(outcome, Rejection):
            result.rejected.append(outcome)
        else:
            candidates.append(outcome)

    with uow.read() as reader:
        registered = reader.tx.players.registered(p for c in candidates for p in c.game.player_ids)
        stored = reader.tx.events.first_events(ev.game_stream(c.game_id) for c in candidates)
    seen: dict[str, Checked] = {}
    checked: list[Checked] = []
    for candidate in candidates:
        unknown = [p for p in candidate.game.player_ids if p not in registered]
        if unknown:
            result.rejected.append(Rejection(candidate.line, candidate.game_id, (
                f"game {candidate.game_id!r}: player {unknown[0]!r} is not registered"
                + (f" (nor {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else "")),
                "unregistered", candidate.index))
            continue
        earlier = seen.get(candidate.game_id)
        if earlier is not None:
            if earlier.game == candidate.game:
                result.duplicates += 1
            else:
                result.rejected.append(Rejection(candidate.line, candidate.game_id, (
                    f"game {candidate.game_id!r} appears again with different content (first at line {earlier.line}): "
                    + describe_difference(earlier.game, candidate.game)), "conflict", candidate.index))
            continue
        previous = stored.get(ev.game_stream(candidate.game_id))
        if previous is not None:
            recorded = game_from_data(previous.data, stat_ids)
            if recorded == candidate.game:
                result.duplicates += 1
            else:
                result.rejected.append(Rejection(candidate.line, candidate.game_id, (
                    f"game {candidate.game_id!r} was already recorded with different content: "
                    + describe_difference(recorded, candidate.game)), "conflict", candidate.index))
            continue
        seen[candidate.game_id] = candidate
        checked.append(candidate)
    return checked


def _drop_recorded(tx: Transaction, chunk: list[Checked], catalog: Catalog, result: RecordResult) -> list[Checked]:
    """Games recorded by a concurrent writer since the check: duplicates if identical, else a conflict."""
    stored = tx.events.first_events(ev.game_stream(c.game_id) for c in chunk)
    if not stored:
        return chunk
    fresh = []
    for candidate in chunk:
        previous = stored.get(ev.game_stream(candidate.game_id))
        if previous is None:
            fresh.append(candidate)
        else:
            recorded = game_from_data(previous.data, catalog.stat_ids)
            if recorded == candidate.game:
                result.duplicates += 1
                continue
            raise DuplicateConflict(
                f"line {candidate.line}: game {candidate.game_id!r} was recorded concurrently with different "
                f"content: {describe_difference(recorded, candidate.game)}")
    return fresh
