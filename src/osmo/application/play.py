"""Simulated reports fed to the record use case like a game server's: the wire format, in process."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from osmo.application.recording import Submission
from osmo.domain.games import GameReport, PlayerLine


def report_from_wire(data: dict[str, Any]) -> GameReport:
    """A report dict produced in-process (by the simulator), in the JSON wire format."""
    teams = [[PlayerLine(p["player_id"], p["stats"]) for p in team] for team in data["teams"]]
    return GameReport(data["game_id"], datetime.fromisoformat(data["started_at"]),
                      datetime.fromisoformat(data["finished_at"]), data["winner"], teams, data.get("metadata", {}))


def submissions(reports: Iterable[dict[str, Any]]) -> Iterator[Submission]:
    for line, data in enumerate(reports, 1):
        yield Submission(line, data["game_id"], report_from_wire(data))
