"""Use cases that correct the record: void a game, grant or revoke an award by hand.

All of them are events, so they show in ``explain`` and survive ``rebuild``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from osmo.application import voiding
from osmo.application.lookups import known_award, known_player
from osmo.application.unit_of_work import UnitOfWork, Writer
from osmo.domain import events as ev
from osmo.domain.errors import InvalidInput, UnknownGame
from osmo.domain.events import RecordedEvent
from osmo.domain.games import format_instant

MAX_REASON = 500


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a reason is required (--reason TEXT)")
    if len(reason) > MAX_REASON or not reason.isprintable():
        raise InvalidInput(f"a reason is at most {MAX_REASON} printable characters on one line")
    return reason


def void_game(uow: UnitOfWork, game_id: str, reason: str,
              progress: Callable[[int], None] | None = None) -> list[RecordedEvent]:
    """Remove a game from every career it touched. An award its players earned at or after it stays,
    moves to the first later game where it still holds, or is revoked. Returns the corrections decided
    (revocations and moves). ``progress`` is told how many later games were rewritten, as they are."""
    reason = _reason(reason)
    token = voiding.progress.set(progress)
    try:
        with uow.write() as writer:
            stream = writer.tx.events.read_stream(ev.game_stream(game_id))
            if not stream:
                raise UnknownGame(f"no game has the id {game_id!r}")
            if any(e.type == ev.GAME_VOIDED for e in stream):
                raise InvalidInput(f"game {game_id!r} is already voided")
            appended = writer.append([ev.game_voided(game_id, stream[0].position, reason)])
    finally:
        voiding.progress.reset(token)
    return [e for e in appended if e.type != ev.GAME_VOIDED]


def later_games(uow: UnitOfWork, game_id: str) -> int:
    """How many games a void of ``game_id`` rewrites (for a progress bar); 0 for an unknown game."""
    with uow.read() as reader:
        tx = reader.tx
        recorded = tx.events.first_events([ev.game_stream(game_id)]).get(ev.game_stream(game_id))
        if recorded is None:
            return 0
        block = tx.lines.lines_at([recorded.position])
        names = tx.players.player_keys()
        players = [names[k] for k in block.keys.tolist()]
        return len({p for ps in tx.lines.games_of(players, after=recorded.position).values() for p in ps})


def _player(writer: Writer, award_id: str, player: str) -> str:
    known_award(writer.catalog, award_id)
    return known_player(writer.tx, player).player_id


def grant(uow: UnitOfWork, award_id: str, player: str, reason: str, *, force: bool = False) -> None:
    """An operator grants an award by hand. A retired award is refused unless ``force``."""
    reason = _reason(reason)
    with uow.write() as writer:
        player_id = _player(writer, award_id, player)
        award = known_award(writer.catalog, award_id)
        if award.definition.retired and not force:
            raise InvalidInput(f"award {award_id!r} is retired: it is no longer granted (--force to grant it anyway)")
        unlock = writer.tx.unlocks.unlock(player_id, award_id)
        if unlock is not None and unlock.active:
            raise InvalidInput(f"{player_id} already holds {award_id}")
        now = format_instant(datetime.now(UTC))
        version = unlock.version if unlock else ev.NO_STREAM
        writer.append([ev.award_granted(player_id, award_id, reason, now, version)])


def revoke(uow: UnitOfWork, award_id: str, player: str, reason: str) -> None:
    """An operator revokes an award. The player can earn it again by playing (the rule still applies)."""
    reason = _reason(reason)
    with uow.write() as writer:
        player_id = _player(writer, award_id, player)
        unlock = writer.tx.unlocks.unlock(player_id, award_id)
        if unlock is None or not unlock.active:
            raise InvalidInput(f"{player_id} does not hold {award_id}")
        writer.append([ev.award_revoked(player_id, award_id, reason, unlock.version, source="operator")])
