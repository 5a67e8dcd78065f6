"""The osmo command line, run as a real process: output, JSON shapes and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.builders import SEED_IDS, wire_report

BRUISER = {"attempted_attacks": 40, "hits": 20, "damage_done": 501, "time_played": 600}


class Osmo:
    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(self, *args: str, stdin: str | None = None,
                 catalog: Path | None = None) -> subprocess.CompletedProcess[str]:
        prefix = ["--db", str(self.db)] + (["--catalog", str(catalog)] if catalog else [])
        return subprocess.run([sys.executable, "-m", "osmo", *prefix, *args], input=stdin, capture_output=True,
                              text=True, timeout=120, check=False)

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        assert done.returncode in (0, 1), done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def osmo(tmp_path: Path) -> Osmo:
    runner = Osmo(tmp_path / "osmo.db")
    assert runner("init").returncode == 0
    return runner


def write_lines(path: Path, *reports: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in reports))
    return path


class TestInitAndPlayers:
    def test_init_registers_the_ten_seed_players_once(self, osmo: Osmo) -> None:
        again = osmo("init")
        assert again.returncode == 0 and "registered 0 new player(s)" in again.stdout
        players = osmo.json("players", "list")
        assert [p["player_id"] for p in players] == list(SEED_IDS)
        assert players[2] == {"player_id": "guldan", "name": "Gul'Dan"}

    def test_a_taken_id_or_name_is_bad_input(self, osmo: Osmo) -> None:
        assert osmo("players", "add", "jaina", "Jaina").returncode == 0
        taken_id = osmo("players", "add", "jaina", "Someone")
        taken_name = osmo("players", "add", "proudmoore", "Jaina")
        assert taken_id.returncode == 2 and "already registered" in taken_id.stderr
        assert taken_name.returncode == 2 and "already taken" in taken_name.stderr


class TestRecord:
    def test_json_lines_are_recorded_with_a_json_summary(self, osmo: Osmo, tmp_path: Path) -> None:
        file = write_lines(tmp_path / "games.jsonl", wire_report("g1", stats={"thrall": BRUISER}), wire_report("g2"))
        out = osmo.json("record", str(file))
        assert out["recorded"] == 2 and out["duplicates"] == 0 and out["rejected"] == []
        assert {"player_id": "thrall", "award": "bruiser", "game_id": "g1"} in out["unlocked"]
        again = osmo.json("record", str(file))
        assert (again["recorded"], again["duplicates"]) == (0, 2)

    def test_one_pretty_printed_report_or_a_list_from_stdin(self, osmo: Osmo, tmp_path: Path) -> None:
        pretty = osmo("record", "-", "--json", stdin=json.dumps(wire_report("p1"), indent=2))
        assert pretty.returncode == 0 and json.loads(pretty.stdout)["recorded"] == 1
        listed = osmo("record", "-", "--json", stdin=json.dumps([wire_report("p2"), wire_report("p3")]))
        assert json.loads(listed.stdout)["recorded"] == 2

    def test_an_invalid_report_is_named_and_nothing_is_stored(self, osmo: Osmo, tmp_path: Path) -> None:
        bad = wire_report("bad", stats={"rexxar": {"hits": True}})
        file = write_lines(tmp_path / "games.jsonl", wire_report("ok"), bad)
        done = osmo("record", str(file))
        assert done.returncode == 2
        assert "line 2" in done.stderr and "'bad'" in done.stderr and "'rexxar'" in done.stderr
        assert "stats.hits" in done.stderr and "nothing was recorded" in done.stderr
        assert osmo.json("profile", "thrall")["career"]["games_played"] == 0

    def test_skip_invalid_records_the_rest_and_exits_zero(self, osmo: Osmo, tmp_path: Path) -> None:
        unknown_field = dict(wire_report("bad"), color="red")
        file = write_lines(tmp_path / "games.jsonl", wire_report("ok"), unknown_field)
        done = osmo("record", str(file), "--skip-invalid", "--json")
        assert done.returncode == 0
        out = json.loads(done.stdout)
        assert out["recorded"] == 1
        assert out["rejected"] == [{"line": 2, "game_id": "bad", "error": "game 'bad': unknown field 'color'"}]

    def test_a_large_file_is_checked_by_worker_processes_with_the_same_verdicts(self, osmo: Osmo,
                                                                                tmp_path: Path) -> None:
        """A file of PARALLEL_BYTES or more is checked by worker processes: the same rejections (line and
        message), duplicates and careers as reading it in one process."""
        from osmo.adapters.report_fast import PARALLEL_BYTES

        pad = {"notes": "x" * 2000}
        reports = [wire_report(f"g{i}", metadata=pad, stats={"thrall": {"kills": i % 7}}) for i in range(4200)]
        reports[1234] = wire_report("bad", stats={"rexxar": {"hits": -1}})
        reports[3000] = reports[17]  # a repeat: a duplicate
        file = write_lines(tmp_path / "big.jsonl", *reports)
        assert file.stat().st_size >= PARALLEL_BYTES
        out = osmo.json("record", str(file), "--skip-invalid")
        assert (out["recorded"], out["duplicates"]) == (4198, 1)
        assert out["rejected"] == [{"line": 1235, "game_id": "bad",
                                    "error": "game 'bad', team 0 player 'rexxar': stats.hits must not be negative, "
                                             "got -1"}]
        kills = sum(i % 7 for i in range(4200) if i not in (1234, 3000))
        assert osmo.json("profile", "thrall")["career"]["total_kills"] == kills

    def test_a_file_that_is_not_json_is_bad_input(self, osmo: Osmo, tmp_path: Path) -> None:
        file = tmp_path / "junk.txt"
        file.write_text("not json at all\n")
        done = osmo("record", str(file))
        assert done.returncode == 2 and "line 1" in done.stderr and "not valid JSON" in done.stderr


class TestQueries:
    def test_check_exits_0_when_held_and_1_when_not(self, osmo: Osmo, tmp_path: Path) -> None:
        osmo("record", str(write_lines(tmp_path / "g.jsonl", wire_report("g1", stats={"thrall": BRUISER}))))
        held = osmo("check", "bruiser", "Thrall")
        assert held.returncode == 0 and "g1" in held.stdout
        not_held = osmo("check", "veteran", "thrall", "--json")
        assert not_held.returncode == 1
        status = json.loads(not_held.stdout)
        assert status["unlocked"] is False and status["progress"] == {"current": 1, "target": 1001, "ratio": 0.001}

    def test_unknown_award_or_player_is_bad_input(self, osmo: Osmo) -> None:
        assert osmo("check", "nope", "thrall").returncode == 2
        missing = osmo("check", "bruiser", "nobody")
        assert missing.returncode == 2 and "nobody" in missing.stderr
        assert osmo("check").returncode == 2

    def test_profile_json_shape(self, osmo: Osmo, tmp_path: Path) -> None:
        osmo("record", str(write_lines(tmp_path / "g.jsonl", wire_report("g1", stats={"thrall": BRUISER}))))
        out = osmo.json("profile", "thrall")
        assert set(out) == {"player_id", "name", "career", "awards"} and out["name"] == "Thrall"
        awards = {a["id"]: a for a in out["awards"]}
        assert {"id", "name", "tier", "unlocked", "game_id", "unlocked_at", "progress"} <= set(awards["bruiser"])
        assert awards["bruiser"]["unlocked"] and awards["bruiser"]["game_id"] == "g1"
        assert "untouchable" not in awards and awards["???"]["name"] == "???" and awards["???"]["hidden"]
        assert awards["big_winner"]["progress"] == {"current": 1, "target": 200, "ratio": 0.005}

    def test_awards_json_lists_holders_and_rarity(self, osmo: Osmo, tmp_path: Path) -> None:
        osmo("record", str(write_lines(tmp_path / "g.jsonl", wire_report("g1", stats={"thrall": BRUISER}))))
        listing = {a["id"]: a for a in osmo.json("awards")}
        assert set(listing["bruiser"]) == {"id", "name", "description", "tier", "hidden", "retired", "holders",
                                           "rarity"}
        assert listing["bruiser"]["holders"] == 1 and listing["bruiser"]["rarity"] == pytest.approx(16.67)
        assert listing["veteran"]["rarity"] == 0


class TestPlay:
    def test_play_with_a_seed_repeats_teams_and_stats_with_fresh_game_ids(self, tmp_path: Path) -> None:
        first, second = Osmo(tmp_path / "a.db"), Osmo(tmp_path / "b.db")
        for runner in (first, second):
            runner("init")
        a = first.json("play", "-n", "200", "--seed", "5")
        b = second.json("play", "-n", "200", "--seed", "5")
        assert a["recorded"] == b["recorded"] == 200
        assert first.json("profile", "thrall")["career"] == second.json("profile", "thrall")["career"]
        assert {u["game_id"] for u in a["unlocked"]}.isdisjoint({u["game_id"] for u in b["unlocked"]})


class TestErrors:
    def test_an_unreachable_database_exits_3(self, tmp_path: Path) -> None:
        done = Osmo(tmp_path / "no" / "such" / "dir.db")("players", "list")
        assert done.returncode == 3 and "osmo: error:" in done.stderr

    def test_a_bad_catalog_names_the_file_and_the_award(self, osmo: Osmo, tmp_path: Path) -> None:
        catalog = tmp_path / "bad.toml"
        catalog.write_text('[awards.oops]\nname = "Oops"\ndescription = "x"\nrule = "game.nothing > 1"\n')
        done = osmo("awards", catalog=catalog)
        assert done.returncode == 2
        assert str(catalog) in done.stderr and "'oops'" in done.stderr and "game.nothing" in done.stderr
