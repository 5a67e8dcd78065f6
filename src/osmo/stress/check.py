"""The end-of-run consistency check: what a stress run sent against what the store holds.

Every game sent must be recorded exactly once, and the careers and unlocks of the run's players must
equal those of an offline ``osmo record`` of the same reports, in the order the store recorded them, into
a fresh store. The run registers players of its own, so their careers start from nothing in both stores.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from osmo.application.players import register_players
from osmo.application.recording import record_games
from osmo.bootstrap import App, bootstrap
from osmo.domain.events import game_stream

SHOWN = 10


@dataclass
class Consistency:
    sent: int
    recorded_once: int
    missing: list[str] = field(default_factory=list)
    """Games sent that the store does not hold (or holds as something other than a GameRecorded)."""
    career_mismatches: list[str] = field(default_factory=list)
    unlock_mismatches: list[str] = field(default_factory=list)
    store_unlocks: int = 0
    offline_unlocks: int = 0
    unlocks_by_award: dict[str, int] = field(default_factory=dict)
    """Unlocks of the run's players in the store, by award."""

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.career_mismatches or self.unlock_mismatches) \
            and self.recorded_once == self.sent

    def lines(self) -> list[str]:
        """What the check found, in words (for the report)."""
        found = [f"{self.recorded_once} of {self.sent} games sent are recorded exactly once "
                 "(one `GameRecorded` at version 0 of each game's stream)."]
        if self.missing:
            found.append(f"{len(self.missing)} game(s) missing from the store: {', '.join(self.missing[:SHOWN])}")
        found.append(f"Careers: {'equal' if not self.career_mismatches else 'DIFFERENT'} to an offline `record` of "
                     "the same reports, in the store's order, into a fresh store"
                     + (f" ({', '.join(self.career_mismatches[:SHOWN])})" if self.career_mismatches else "") + ".")
        found.append(f"Unlocks: {self.store_unlocks} in the store, {self.offline_unlocks} offline: "
                     + ("the same players, awards and games." if not self.unlock_mismatches else
                        "DIFFERENT (" + "; ".join(self.unlock_mismatches[:SHOWN]) + ")."))
        return found


def _unlocks(app: App, player_ids: Sequence[str]) -> dict[str, set[tuple[str, str | None]]]:
    with app.uow.read() as reader:
        return {pid: {(u.award_id, u.game_id) for u in reader.tx.unlocks.unlocks_of(pid) if u.active}
                for pid in player_ids}


def check_consistency(app: App, sent: Mapping[str, bytes], players: Sequence[tuple[str, str]]) -> Consistency:
    """Compare the store of ``app`` with an offline record of ``sent`` (game id -> the report as sent)."""
    player_ids = [pid for pid, _ in players]
    with app.uow.read() as reader:
        firsts = reader.tx.events.first_events([game_stream(g) for g in sent])
        careers = reader.tx.careers.careers(player_ids)
        catalog = reader.stored
    recorded = {g: firsts[game_stream(g)].position for g in sent
                if game_stream(g) in firsts and firsts[game_stream(g)].type == "GameRecorded"}
    result = Consistency(sent=len(sent), recorded_once=len(recorded),
                         missing=sorted(set(sent) - set(recorded)))
    live_unlocks = _unlocks(app, player_ids)
    with tempfile.TemporaryDirectory(prefix="osmo-stress-check-") as folder:
        offline = bootstrap(os.path.join(folder, "offline.db"), environ={"OSMO_SQLITE_SYNCHRONOUS": "OFF"})
        try:
            if catalog is not None:
                offline.uow.apply(catalog)
            register_players(offline.uow, list(players))
            ordered = sorted(recorded, key=recorded.__getitem__)
            if ordered:
                record_games(offline.uow, offline.parse_reports(b"\n".join(sent[g] for g in ordered)))
            with offline.uow.read() as reader:
                offline_careers = reader.tx.careers.careers(player_ids)
            offline_unlocks = _unlocks(offline, player_ids)
        finally:
            offline.close()
    result.career_mismatches = [pid for pid in player_ids if careers.get(pid) != offline_careers.get(pid)]
    for pid in player_ids:
        live, alone = live_unlocks[pid], offline_unlocks[pid]
        result.store_unlocks += len(live)
        result.offline_unlocks += len(alone)
        for award, _ in live:
            result.unlocks_by_award[award] = result.unlocks_by_award.get(award, 0) + 1
        if live != alone:
            only_live = ", ".join(f"{a}@{g}" for a, g in sorted(live - alone, key=str))
            only_offline = ", ".join(f"{a}@{g}" for a, g in sorted(alone - live, key=str))
            result.unlock_mismatches.append(f"{pid}: store only [{only_live}], offline only [{only_offline}]")
    return result
