"""Test data builders: game reports in the wire format and as domain objects."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from osmo.application import catalogs
from osmo.application.recording import Submission
from osmo.application.unit_of_work import UnitOfWork
from osmo.domain.catalog import Catalog
from osmo.domain.games import GameReport, PlayerLine

SEED_IDS = ("thrall", "rexxar", "guldan", "malfurion", "garrosh", "uther", "anduin", "valeera", "morgl", "medivh")
_clock = itertools.count()


def wire_report(game_id: str, *, winner: int = 0, players: tuple[str, ...] = SEED_IDS[:6],
                stats: dict[str, dict[str, int]] | None = None, minutes: int = 20,
                started_at: datetime | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid report: the first half of ``players`` is team 0. ``stats`` overrides lines by player id."""
    start = started_at or datetime(2020, 1, 1, 10, 0, tzinfo=UTC) + timedelta(hours=next(_clock))
    half = len(players) // 2
    default = {"attempted_attacks": 10, "hits": 5, "damage_done": 100, "kills": 1, "time_played": 600}
    lines = [{"player_id": p, "stats": (stats or {}).get(p, default)} for p in players]
    report: dict[str, Any] = {
        "game_id": game_id,
        "started_at": start.isoformat().replace("+00:00", "Z"),
        "finished_at": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "winner": winner,
        "teams": [lines[:half], lines[half:]],
    }
    if metadata is not None:
        report["metadata"] = metadata
    return report


def as_report(data: dict[str, Any]) -> GameReport:
    teams = [[PlayerLine(p["player_id"], p["stats"]) for p in team] for team in data["teams"]]
    return GameReport(data["game_id"], datetime.fromisoformat(data["started_at"]),
                      datetime.fromisoformat(data["finished_at"]), data["winner"], teams, data.get("metadata", {}))


def submissions(*reports: dict[str, Any]) -> list[Submission]:
    return [Submission(i, r["game_id"], as_report(r)) for i, r in enumerate(reports, 1)]


def apply_catalog(uow: UnitOfWork, catalog: Catalog) -> Catalog:
    """Store ``catalog`` as the catalog in effect and return it as stored (with its version)."""
    return catalogs.apply(uow, catalog)[0]
