"""The history commands run as a real process: backfill, rebuild, explain, void, grant, revoke.

Outputs, JSON shapes and exit codes (0 success, 2 bad input); ``backfill --dry-run`` writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from osmo.application.corrections import grant, revoke, void_game
from osmo.application.players import register_seed_players
from osmo.application.recording import record_games
from osmo.bootstrap import bootstrap
from tests.builders import submissions, wire_report
from tests.cli.test_cli import Osmo

BRUISER = {"attempted_attacks": 40, "hits": 20, "damage_done": 501, "time_played": 600}
MILD = {"attempted_attacks": 40, "hits": 20, "damage_done": 500, "time_played": 600}
BRAWLER = ('[awards.brawler]\nname = "Brawler"\ndescription = "Kill 3 in one game"\n'
           'rule = "game.kills >= 3"\ntier = "bronze"\n')
GRANT_KEYS = ("player_id", "award", "game_id", "unlocked_at")
EXPLAIN_KEYS = {"award", "player_id", "held", "rule", "catalog_version", "game_id", "unlocked_at", "source",
                "values", "closest", "progress", "history"}


class Runner(Osmo):
    """``Osmo`` (the CLI as a subprocess) that can also run several commands at once (to keep the tests fast:
    only for commands whose order does not matter)."""

    def run_all(self, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
        prefix = [sys.executable, "-m", "osmo", "--db", str(self.db)]
        running = [subprocess.Popen([*prefix, *c], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for c in commands]
        done = []
        for command, process in zip(commands, running, strict=True):
            out, err = process.communicate(timeout=120)
            done.append(subprocess.CompletedProcess([*prefix, *command], process.returncode, out, err))
        return done

    def json_all(self, *commands: tuple[str, ...]) -> list[Any]:
        done = self.run_all(*[(*c, "--json") for c in commands])
        assert all(d.returncode == 0 for d in done), [d.stderr for d in done]
        return [json.loads(d.stdout) for d in done]


@pytest.fixture
def osmo(tmp_path: Path) -> Runner:
    """A store with the seed players (set up in-process: the commands under test run as subprocesses)."""
    runner = Runner(tmp_path / "osmo.db")
    app = bootstrap(str(runner.db))
    register_seed_players(app.uow)
    app.close()
    return runner


def record(osmo: Runner, *reports: dict[str, Any]) -> dict[str, dict[str, Any]]:
    app = bootstrap(str(osmo.db))
    try:
        record_games(app.uow, submissions(*reports))
    finally:
        app.close()
    return {r["game_id"]: r for r in reports}


def bruiser_history(osmo: Runner) -> dict[str, dict[str, Any]]:
    """Thrall deals more than 500 damage at g2 and g5 only; rexxar at g3 only."""
    return record(osmo, *[
        wire_report(f"g{i}", stats={"thrall": BRUISER if i in (2, 5) else MILD, "rexxar": BRUISER if i == 3 else MILD})
        for i in range(1, 7)
    ])


def award(osmo: Runner, award_id: str, player: str) -> dict[str, Any]:
    awards: list[dict[str, Any]] = osmo.json("profile", player)["awards"]
    return next(a for a in awards if a["id"] == award_id)


def last_position(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        (position,) = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
    return int(position)


def stored(db: Path) -> tuple[Any, ...]:
    """Everything a command could have written: events, table definitions, stat layouts."""
    with closing(sqlite3.connect(db)) as conn:
        return (conn.execute("SELECT max(position) FROM events").fetchone(),
                conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall(),
                conn.execute("SELECT * FROM layouts ORDER BY id").fetchall())


class TestBackfill:
    def test_a_dry_run_lists_the_grants_and_writes_nothing_then_backfill_grants_them(self, osmo: Runner,
                                                                                      tmp_path: Path) -> None:
        games = record(osmo, wire_report("g1", stats={"rexxar": {"kills": 3}}),
                       wire_report("g2", stats={"thrall": {"kills": 4}, "rexxar": {"kills": 5}}))
        catalog = tmp_path / "brawler.toml"
        catalog.write_text(BRAWLER)
        before = last_position(osmo.db)
        dry = osmo("backfill", "brawler", "--dry-run", "--json", catalog=catalog)
        assert dry.returncode == 0, dry.stderr
        out = json.loads(dry.stdout)
        assert (out["dry_run"], out["granted"]) == (True, {"brawler": 2})
        assert [{k: g[k] for k in GRANT_KEYS} for g in out["grants"]] == [
            {"player_id": "rexxar", "award": "brawler", "game_id": "g1", "unlocked_at": games["g1"]["finished_at"]},
            {"player_id": "thrall", "award": "brawler", "game_id": "g2", "unlocked_at": games["g2"]["finished_at"]},
        ]
        assert last_position(osmo.db) == before  # not even the catalog is stored

        human = osmo("backfill", catalog=catalog)
        assert human.returncode == 0, human.stderr
        assert "granted 2 award(s)" in human.stdout and "brawler" in human.stdout
        after = last_position(osmo.db)
        again, profile = osmo.json_all(("backfill",), ("profile", "rexxar"))
        assert again == {"dry_run": False, "granted": {}, "grants": []}
        assert last_position(osmo.db) == after
        rexxar = next(a for a in profile["awards"] if a["id"] == "brawler")
        assert rexxar["unlocked"] and rexxar["backfilled"] is True and rexxar["source"] == "backfill"
        assert (rexxar["game_id"], rexxar["unlocked_at"]) == ("g1", games["g1"]["finished_at"])

    def test_a_dry_run_with_a_catalog_that_adds_a_stat_writes_nothing(self, osmo: Runner, tmp_path: Path) -> None:
        record(osmo, wire_report("g1", stats={"rexxar": {"kills": 3}}))
        catalog = tmp_path / "medic.toml"
        catalog.write_text('[stats.revives]\ndescription = "Allies revived"\n\n[awards.medic]\nname = "Medic"\n'
                           'description = "x"\nrule = "game.kills >= 3 and game.revives == 0"\n')
        before = stored(osmo.db)
        dry = osmo("backfill", "--dry-run", "--json", catalog=catalog)
        assert dry.returncode == 0 and json.loads(dry.stdout)["granted"] == {"medic": 1}
        assert stored(osmo.db) == before

    def test_an_unknown_award_is_bad_input(self, osmo: Runner) -> None:
        done = osmo("backfill", "nope")
        assert done.returncode == 2 and "'nope'" in done.stderr


class TestVoid:
    def test_void_moves_an_award_then_revokes_it_and_refuses_bad_game_ids(self, osmo: Runner) -> None:
        games = bruiser_history(osmo)
        moved = osmo("void", "g2", "--reason", "stat padding")
        assert moved.returncode == 0, moved.stderr
        assert moved.stdout.splitlines()[0] == "voided g2" and "bruiser of thrall: moved to game g5" in moved.stdout
        profile = osmo.json("profile", "thrall")
        bruiser = next(a for a in profile["awards"] if a["id"] == "bruiser")
        assert (bruiser["game_id"], bruiser["source"], bruiser["unlocked_at"]) == (
            "g5", "correction", games["g5"]["finished_at"])
        assert profile["career"]["games_played"] == 5

        twice, unknown, no_reason = osmo.run_all(("void", "g2", "--reason", "again"),
                                                 ("void", "nope", "--reason", "typo"), ("void", "g3"))
        assert twice.returncode == 2 and "already voided" in twice.stderr
        assert unknown.returncode == 2 and "'nope'" in unknown.stderr
        assert no_reason.returncode == 2 and "--reason" in no_reason.stderr

        revoked = osmo("void", "g5", "--reason", "smurf account")
        assert revoked.returncode == 0 and revoked.stdout.splitlines() == ["voided g5", "  bruiser of thrall: revoked"]
        out = osmo.json("explain", "bruiser", "thrall")
        assert out["held"] is False
        assert [h["type"] for h in out["history"]] == ["AwardUnlocked", "AwardRevoked", "AwardUnlocked", "AwardRevoked"]
        assert "smurf account" in out["history"][-1]["reason"]


class TestGrantAndRevoke:
    def test_an_operator_grants_and_revokes_with_a_reason_shown_by_explain(self, osmo: Runner) -> None:
        granted = osmo("grant", "veteran", "Thrall", "--reason", "founding player")
        assert granted.returncode == 0 and granted.stdout.strip() == "granted veteran to Thrall"
        again = osmo("grant", "veteran", "thrall", "--reason", "twice")
        assert again.returncode == 2 and "already holds" in again.stderr

        revoked = osmo("revoke", "veteran", "thrall", "--reason", "not a founder")
        assert revoked.returncode == 0 and revoked.stdout.strip() == "revoked veteran from thrall"
        not_held = osmo("revoke", "veteran", "thrall", "--reason", "twice")
        assert not_held.returncode == 2 and "does not hold" in not_held.stderr

        out = osmo.json("explain", "veteran", "thrall")
        assert out["held"] is False
        assert [(h["type"], h["reason"]) for h in out["history"]] == [
            ("AwardGranted", "founding player"), ("AwardRevoked", "not a founder")]
        assert out["history"][0]["source"] == "operator"

    def test_an_unknown_award_or_player_or_a_blank_reason_exits_2(self, osmo: Runner) -> None:
        unknown_award, unknown_player, blank = osmo.run_all(
            ("grant", "nope", "thrall", "--reason", "x"), ("revoke", "bruiser", "nobody", "--reason", "x"),
            ("grant", "veteran", "thrall", "--reason", " "))
        assert unknown_award.returncode == 2 and "'nope'" in unknown_award.stderr
        assert unknown_player.returncode == 2 and "'nobody'" in unknown_player.stderr
        assert blank.returncode == 2 and "reason" in blank.stderr

    def test_a_revoked_award_is_earned_again_by_playing(self, osmo: Runner) -> None:
        record(osmo, wire_report("g1", stats={"thrall": BRUISER}))
        assert osmo("revoke", "bruiser", "thrall", "--reason", "exploit").returncode == 0
        record(osmo, wire_report("g2", stats={"thrall": BRUISER}))
        bruiser = award(osmo, "bruiser", "thrall")
        assert bruiser["unlocked"] and (bruiser["game_id"], bruiser["source"]) == ("g2", "live")


class TestExplain:
    def test_a_held_award_keeps_the_rule_of_the_catalog_version_that_granted_it(self, osmo: Runner,
                                                                               tmp_path: Path) -> None:
        games = bruiser_history(osmo)
        harder = tmp_path / "harder.toml"
        harder.write_text('[awards.bruiser]\nname = "Bruiser"\ndescription = "harder"\n'
                          'rule = "game.damage_done > 900"\n')
        done = osmo("explain", "bruiser", "thrall", "--json", catalog=harder)  # stores catalog v2
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert set(out) == EXPLAIN_KEYS
        assert out["held"] is True and out["rule"] == "game.damage_done > 500" and out["catalog_version"] == 1
        assert (out["game_id"], out["unlocked_at"], out["source"]) == ("g2", games["g2"]["finished_at"], "live")
        assert out["values"] == {"game.damage_done": 501} and out["closest"] is None
        human = osmo("explain", "bruiser", "thrall")
        assert "thrall holds bruiser" in human.stdout and "game g2" in human.stdout
        assert "rule (catalog v1): game.damage_done > 500" in human.stdout
        assert "game.damage_done = 501" in human.stdout

    def test_a_locked_award_shows_the_closest_game_and_the_progress(self, osmo: Runner) -> None:
        # deadeye: game.headshots >= 8 and game.headshots >= 0.5 * game.hits; only g2 meets one of the two
        record(osmo, wire_report("g1", stats={"thrall": {"attempted_attacks": 10, "hits": 10, "headshots": 2}}),
               wire_report("g2", stats={"thrall": {"attempted_attacks": 10, "hits": 4, "headshots": 3}}),
               wire_report("g3", stats={"thrall": {"attempted_attacks": 10, "hits": 10, "headshots": 0}}))
        deadeye, veteran = osmo.json_all(("explain", "deadeye", "thrall"), ("explain", "veteran", "thrall"))
        assert deadeye["held"] is False and deadeye["game_id"] is None
        assert deadeye["closest"] == {"game_id": "g2", "conditions_met": "1 of 2"}
        assert deadeye["values"] == {"game.headshots": 3, "game.hits": 4}
        assert veteran["progress"] == {"current": 3, "target": 1001, "ratio": 0.003}
        human, unknown = osmo.run_all(("explain", "deadeye", "thrall"), ("explain", "nope", "thrall"))
        assert "thrall does not hold deadeye" in human.stdout and "closest: game g2 met 1 of 2" in human.stdout
        assert unknown.returncode == 2 and "'nope'" in unknown.stderr

    def test_an_operator_grant_is_explained_without_a_catalog_version(self, osmo: Runner) -> None:
        app = bootstrap(str(osmo.db))
        grant(app.uow, "veteran", "thrall", "founding player")
        app.close()
        done = osmo("explain", "veteran", "thrall")
        assert done.returncode == 0 and "founding player" in done.stdout
        assert "None" not in done.stdout


class TestRebuild:
    def test_rebuild_leaves_profiles_and_awards_identical(self, osmo: Runner) -> None:
        bruiser_history(osmo)
        app = bootstrap(str(osmo.db))
        void_game(app.uow, "g2", "stat padding")
        grant(app.uow, "veteran", "guldan", "prize")
        revoke(app.uow, "bruiser", "rexxar", "exploit")
        app.close()
        reads = [("profile", p) for p in ("thrall", "rexxar", "guldan")] + [("awards",)]
        live = osmo.json_all(*reads)
        done = osmo("rebuild")
        assert done.returncode == 0 and done.stdout.startswith("rebuilt the projections from ")
        assert osmo.json_all(*reads) == live
