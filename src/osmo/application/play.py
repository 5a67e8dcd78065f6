"""Use case: play simulated games, fed to the record use case like a game server's reports."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from osmo.application.players import list_players
from osmo.application.recording import Outcome, RecordResult, Submission, record_checked
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.catalog import Catalog
from osmo.domain.errors import InvalidInput
from osmo.domain.games import GameReport, PlayerLine


def report_from_wire(data: dict[str, Any]) -> GameReport:
    """A report dict produced in-process (by the simulator), in the JSON wire format."""
    teams = [[PlayerLine(p["player_id"], p["stats"]) for p in team] for team in data["teams"]]
    return GameReport(data["game_id"], datetime.fromisoformat(data["started_at"]),
                      datetime.fromisoformat(data["finished_at"]), data["winner"], teams, data.get("metadata", {}))


def submissions(reports: Iterable[dict[str, Any]]) -> Iterator[Submission]:
    for line, data in enumerate(reports, 1):
        yield Submission(line, data["game_id"], report_from_wire(data))


Simulate = Callable[[Catalog, int | None, Sequence[str], int, datetime], Iterable[list[Outcome]]]
"""``simulate(catalog, seed, player_ids, games, end)``: checked simulated games in batches, the last one
finishing at ``end`` (the composition root gives the simulator behind it)."""

MIN_PLAYERS = 6


def play_games(uow: UnitOfWork, simulate: Simulate, games: int, seed: int | None = None,
               progress: Callable[[int], None] | None = None) -> RecordResult:
    """Simulate ``games`` games between the registered players, the last one ending now, and record them
    like a game server's reports (the original's Game.Play)."""
    catalog = uow.catalog()
    player_ids = [p.player_id for p in list_players(uow)]
    if len(player_ids) < MIN_PLAYERS:
        raise InvalidInput(f"playing needs at least {MIN_PLAYERS} registered players, there are "
                           f"{len(player_ids)} (run 'osmo init' to register the seed players)")
    result = RecordResult()
    for batch in simulate(catalog, seed, player_ids, games, datetime.now(UTC)):
        part = record_checked(uow, catalog, batch, progress=progress)
        result.recorded += part.recorded
        result.duplicates += part.duplicates
        result.unlocked.extend(part.unlocked)
        result.rejected.extend(part.rejected)
    return result
