"""Use cases on the in-memory fake, through the real unit of work (as cosmicpython's test_handlers): fast,
no file and no server. Faults are injected by passing subscribers, not by patching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from osmo.adapters.catalog_files import load_catalog
from osmo.application.backfill import rebuild
from osmo.application.corrections import void_game
from osmo.application.players import register_seed_players
from osmo.application.ports import Transaction, UnlockRow
from osmo.application.projections import projectors
from osmo.application.recording import record_games
from osmo.application.subscribers import Subscriber
from osmo.application.unit_of_work import UnitOfWork
from osmo.bootstrap import live_subscribers
from osmo.domain import events as ev
from osmo.domain.catalog import Catalog
from osmo.domain.events import NewEvent, RecordedEvent
from tests.builders import SEED_IDS, submissions, wire_report
from tests.fakes import FakeDatabase

BRUISER = {"attempted_attacks": 40, "hits": 20, "damage_done": 501, "time_played": 600}
MILD = {"attempted_attacks": 40, "hits": 20, "damage_done": 500, "time_played": 600}
START = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)


class Exploding:
    """A subscriber that fails on every recorded game, after the others have written their effects."""

    name = "exploding"

    def handle(self, tx: Transaction, event: RecordedEvent, catalog: Catalog) -> list[NewEvent]:
        if event.type == ev.GAME_RECORDED:
            raise RuntimeError("boom")
        return []


def make_uow(database: FakeDatabase, *extra: Subscriber) -> UnitOfWork:
    subscribers = (lambda: [*live_subscribers(), *extra]) if extra else live_subscribers
    return UnitOfWork(database, builtin=load_catalog, subscribers=subscribers, projectors=projectors)


@pytest.fixture
def database() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def uow(database: FakeDatabase) -> UnitOfWork:
    unit = make_uow(database)
    register_seed_players(unit)
    return unit


def game(game_id: str, hour: int, **stats: dict[str, int]) -> dict[str, Any]:
    """A report started ``hour`` hours after START (in the past), with these players' stats overridden."""
    return wire_report(game_id, stats=stats, started_at=START + timedelta(hours=hour))


def careers(uow: UnitOfWork) -> dict[str, tuple[int, ...]]:
    with uow.read() as reader:
        return dict(reader.tx.careers.careers(SEED_IDS))


def unlocks(uow: UnitOfWork) -> dict[str, list[UnlockRow]]:
    with uow.read() as reader:
        return {p: reader.tx.unlocks.unlocks_of(p) for p in SEED_IDS}


def holds(uow: UnitOfWork, player: str, award: str) -> bool:
    with uow.read() as reader:
        return award in reader.tx.unlocks.held([player])[player]


def event_count(database: FakeDatabase) -> int:
    with database.reader() as tx:
        return tx.events.last_position()


def test_a_bruiser_line_unlocks_bruiser_once(uow: UnitOfWork) -> None:
    result = record_games(uow, submissions(game("g0", 0, thrall=MILD), game("g1", 1, thrall=BRUISER),
                                           game("g2", 2, thrall=BRUISER)))
    assert result.recorded == 3
    assert [(u.player_id, u.game_id) for u in result.unlocked if u.award == "bruiser"] == [("thrall", "g1")]
    assert holds(uow, "thrall", "bruiser") and not holds(uow, "rexxar", "bruiser")
    again = record_games(uow, submissions(game("g3", 3, thrall=BRUISER)))
    assert [u for u in again.unlocked if u.award == "bruiser"] == []


def test_recording_a_game_again_is_a_duplicate(uow: UnitOfWork, database: FakeDatabase) -> None:
    report = game("g1", 0)
    record_games(uow, submissions(report))
    before, folded = event_count(database), careers(uow)
    result = record_games(uow, submissions(report))
    assert (result.recorded, result.duplicates, result.rejected) == (0, 1, [])
    assert event_count(database) == before and careers(uow) == folded
    assert folded["thrall"][0] == 1  # games_played


def test_voiding_the_game_that_earned_an_award_revokes_it(uow: UnitOfWork) -> None:
    record_games(uow, submissions(game("g1", 0, thrall=MILD), game("g2", 1, thrall=BRUISER), game("g3", 2)))
    assert holds(uow, "thrall", "bruiser")
    corrections = void_game(uow, "g2", "scoring bug")
    assert [(e.type, e.data["player_id"], e.data["award_id"]) for e in corrections
            if e.data["award_id"] == "bruiser"] == [(ev.AWARD_REVOKED, "thrall", "bruiser")]
    assert not holds(uow, "thrall", "bruiser")
    assert careers(uow)["thrall"][0] == 2
    with uow.read() as reader:
        kept = reader.tx.events.first_events([ev.game_stream("g1"), ev.game_stream("g3")])
        assert reader.tx.lines.game_count() == 2
        assert reader.tx.lines.games_of(["thrall"]) == {"thrall": sorted(e.position for e in kept.values())}


def test_rebuild_gives_back_the_same_careers_and_unlocks(uow: UnitOfWork) -> None:
    record_games(uow, submissions(*(game(f"g{i}", i, thrall=BRUISER if i in (2, 5) else MILD,
                                         rexxar=BRUISER if i == 3 else MILD) for i in range(1, 8))))
    void_game(uow, "g3", "duplicate report")
    before = (careers(uow), unlocks(uow))
    with uow.read() as reader:
        lines_before = [b.matrix.tolist() for b in reader.tx.lines.line_blocks()]
    assert rebuild(uow) > 0
    assert (careers(uow), unlocks(uow)) == before
    with uow.read() as reader:
        assert [b.matrix.tolist() for b in reader.tx.lines.line_blocks()] == lines_before


def test_a_failing_subscriber_leaves_nothing_stored(uow: UnitOfWork, database: FakeDatabase) -> None:
    record_games(uow, submissions(game("g1", 0)))
    before = (event_count(database), careers(uow), unlocks(uow))
    with pytest.raises(RuntimeError, match="boom"):
        record_games(make_uow(database, Exploding()), submissions(game("g2", 1, thrall=BRUISER)))
    assert (event_count(database), careers(uow), unlocks(uow)) == before
    with uow.read() as reader:
        assert reader.tx.lines.game_count() == 1
        assert reader.tx.events.read_stream(ev.game_stream("g2")) == []
        assert reader.tx.checkpoints.checkpoint("exploding") == 0
    assert record_games(uow, submissions(game("g2", 1, thrall=BRUISER))).recorded == 1  # nothing half-stored
    assert holds(uow, "thrall", "bruiser")
