"""What a new user meets first, run as real processes: the README's flows as written, settings and
database URLs, exit codes, hidden awards, error floods, names and ids, damaged files."""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.builders import wire_report

ROOT = Path(__file__).resolve().parents[2]
BRUISER = {"attempted_attacks": 40, "hits": 20, "damage_done": 501, "time_played": 600}


def run(*args: str, db: Path | str, env: dict[str, str] | None = None, stdin: str | bytes | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OSMO_")} | {"OSMO_DB": str(db)} | (env or {})
    done = subprocess.run([sys.executable, "-m", "osmo", *args], input=stdin.encode() if isinstance(stdin, str)
                          else stdin, capture_output=True, env=environ, cwd=cwd, timeout=120, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(errors="replace"),
                                       done.stderr.decode(errors="replace"))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "osmo.db"
    assert run("init", db=path).returncode == 0
    return path


def record(db: Path, tmp_path: Path, *reports: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "games.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in reports))
    return run("record", str(file), db=db)


def readme_block(after: str, language: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no {language} block after {after!r} in the README"
    return match.group(1)


class TestTheReadmeFlows:
    def test_rolling_out_a_new_award_runs_as_written(self, db: Path, tmp_path: Path) -> None:
        spree = {"kills": 7, "time_played": 600}
        assert record(db, tmp_path, wire_report("g1", stats={"thrall": spree}), wire_report("g2")).returncode == 0
        (tmp_path / "my.toml").write_text(readme_block("**Rolling out a new award.**", "toml"))
        outputs = []
        for line in readme_block("Compare, preview, store it", "sh").splitlines():
            command = shlex.split(line, comments=True)
            assert command[0] == "osmo"
            done = run(*command[1:], db=db, cwd=tmp_path)
            assert done.returncode == 0, f"{line}\n{done.stderr}"
            outputs.append(done.stdout)
        diff, dry, apply, grant = outputs
        assert "awards added: killing_spree" in diff
        assert "would grant 1 award(s)" in dry and "thrall" in dry
        assert "catalog v2 is in effect" in apply
        assert "granted 1 award(s)" in grant
        held = json.loads(run("check", "killing_spree", "thrall", "--json", db=db).stdout)
        assert held["unlocked"] and held["game_id"] == "g1" and held["backfilled"]

    def test_a_read_with_a_catalog_file_previews_it_without_storing_a_version(self, db: Path, tmp_path: Path) -> None:
        (tmp_path / "my.toml").write_text(readme_block("**Rolling out a new award.**", "toml"))
        listed = json.loads(run("--catalog", "my.toml", "awards", "--json", db=db, cwd=tmp_path).stdout)
        assert "killing_spree" in {a["id"] for a in listed}
        shown = json.loads(run("catalog", "show", "--json", db=db).stdout)
        assert shown["version"] == 1 and "killing_spree" not in shown["awards"]
        assert run("backfill", "killing_spree", db=db).returncode == 2  # not in the stored catalog

    def test_the_reporting_example_records(self, db: Path, tmp_path: Path) -> None:
        example = readme_block("## Reporting games", "json").replace(", ...]", "]").replace("[...]", "[]")
        report = json.loads(example)
        report["teams"] = [[{"player_id": p, "stats": {}} for p in team] for team in
                           (("thrall", "rexxar", "guldan"), ("uther", "anduin", "morgl"))]
        done = run("record", "-", "--json", db=db, stdin=json.dumps(report))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["recorded"] == 1


class TestSettingsAndExitCodes:
    def test_a_bad_synchronous_setting_is_bad_input(self, tmp_path: Path) -> None:
        done = run("players", "list", db=tmp_path / "x.db", env={"OSMO_SQLITE_SYNCHRONOUS": "bogus"})
        assert done.returncode == 2 and "OSMO_SQLITE_SYNCHRONOUS" in done.stderr and "Traceback" not in done.stderr

    def test_a_bad_timeout_setting_is_bad_input(self, tmp_path: Path) -> None:
        done = run("players", "list", db=tmp_path / "x.db", env={"OSMO_LOCK_TIMEOUT": "soon"})
        assert done.returncode == 2 and "OSMO_LOCK_TIMEOUT" in done.stderr

    def test_an_unsupported_database_url_is_bad_input(self, tmp_path: Path) -> None:
        done = run("players", "list", db="mysql://root@127.0.0.1/osmo", cwd=tmp_path)
        assert done.returncode == 2 and "unsupported database URL scheme 'mysql'" in done.stderr
        assert not any(tmp_path.iterdir()), "no SQLite file may be created for a URL"

    def test_an_argument_that_is_not_utf8_is_bad_input(self, db: Path) -> None:
        done = subprocess.run([sys.executable, "-m", "osmo", "--db", str(db), "profile", b"\xff\xfe".decode(
            "utf-8", "surrogateescape")], capture_output=True, timeout=60, check=False)
        assert done.returncode == 2 and b"not valid UTF-8" in done.stderr and b"Traceback" not in done.stderr

    def test_an_unexpected_error_is_one_line_with_its_own_exit_code(self, db: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
        from osmo.application import queries
        from osmo.entrypoints import cli

        def broken(*args: Any) -> Any:
            raise RuntimeError("a bug")

        monkeypatch.setattr(queries, "profile", broken)
        for debug, traceback in (([], False), (["--debug"], True)):
            with pytest.raises(SystemExit) as exited:
                cli.main(["--db", str(db), *debug, "profile", "thrall"])
            assert exited.value.code == cli.EXIT_BUG == 4
            err = capsys.readouterr().err
            assert "unexpected error (RuntimeError: a bug)" in err and ("Traceback" in err) is traceback

    def test_a_damaged_sqlite_file_is_a_store_failure(self, db: Path, tmp_path: Path) -> None:
        assert record(db, tmp_path, *[wire_report(f"g{i}") for i in range(200)]).returncode == 0
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.stat().st_size
        with db.open("r+b") as file:  # keep page 1 (the header and schema), scramble the rest
            file.seek(4096)
            file.write(os.urandom(size - 4096))
        for command in (["rebuild"], ["backfill"], ["void", "g3", "--reason", "test"]):
            done = run(*command, db=db)
            assert done.returncode == 3, (command, done.stderr)
            assert done.stderr.startswith("osmo: error:") and "SQLite database" in done.stderr
            assert "Traceback" not in done.stderr


class TestWhatUsersSee:
    def test_the_award_listing_of_a_store_nobody_initialised_is_empty_handed_not_an_error(self, tmp_path: Path) -> None:
        done = run("awards", "--json", db=tmp_path / "new.db")
        assert done.returncode == 0, done.stderr
        assert all(a["holders"] == 0 and a["rarity"] == 0 for a in json.loads(done.stdout))


    def test_a_hidden_award_hides_its_id_too(self, db: Path) -> None:
        profile = run("profile", "thrall", db=db).stdout
        listing = run("awards", db=db).stdout
        assert "???" in profile and "untouchable" not in profile
        assert "???" in listing and "untouchable" not in listing and "Untouchable" not in listing
        assert "operator" in run("explain", "--help", db=db).stdout

    def test_a_syntax_error_in_a_pretty_printed_file_is_reported_once_with_its_position(
            self, db: Path, tmp_path: Path) -> None:
        body = json.dumps([wire_report("g1"), wire_report("g2")], indent=2).splitlines()
        body[30] = body[30] + ","  # a stray comma
        file = tmp_path / "broken.json"
        file.write_text("\n".join(body))
        done = run("record", str(file), db=db)
        errors = [line for line in done.stderr.splitlines() if line.startswith("line ")]
        assert done.returncode == 2 and len(errors) == 1 and "column" in errors[0]

    def test_a_flood_of_invalid_reports_is_capped(self, db: Path, tmp_path: Path) -> None:
        file = tmp_path / "bad.jsonl"
        file.write_text("".join(json.dumps({**wire_report(f"g{i}"), "winner": 7}) + "\n" for i in range(100)))
        done = run("record", str(file), db=db)
        assert done.returncode == 2
        assert len([line for line in done.stderr.splitlines() if line.startswith("line ")]) == 20
        assert "and 80 more invalid report(s)" in done.stderr

    def test_a_conflicting_duplicate_names_the_field_that_differs(self, db: Path, tmp_path: Path) -> None:
        from datetime import UTC, datetime

        start = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
        assert record(db, tmp_path, wire_report("g1", started_at=start, stats={"thrall": BRUISER})).returncode == 0
        changed = wire_report("g1", started_at=start, stats={"thrall": {**BRUISER, "damage_done": 502}})
        done = record(db, tmp_path, changed)
        assert done.returncode == 2 and "damage_done" in done.stderr

    def test_empty_input_says_no_reports(self, db: Path) -> None:
        for content in ("", "[]", "\n\n"):
            done = run("record", "-", db=db, stdin=content)
            assert done.returncode == 2 and "no reports" in done.stderr, content

    def test_a_report_from_the_future_is_rejected(self, db: Path, tmp_path: Path) -> None:
        from datetime import UTC, datetime, timedelta

        future = wire_report("later", started_at=datetime.now(UTC) + timedelta(hours=2))
        done = record(db, tmp_path, future)
        assert done.returncode == 2 and "future" in done.stderr

    def test_play_ends_now(self, db: Path) -> None:
        from datetime import UTC, datetime

        assert run("play", "-n", "300", "--seed", "1", db=db).returncode == 0
        with sqlite3.connect(db) as conn:
            (latest,) = conn.execute("SELECT max(finished_at) FROM game_lines").fetchone()
        assert datetime.fromisoformat(latest) <= datetime.now(UTC)

    def test_a_player_id_may_not_be_another_players_name(self, db: Path) -> None:
        done = run("players", "add", "Thrall", "Shadow", db=db)
        assert done.returncode == 2
        assert json.loads(run("profile", "Thrall", "--json", db=db).stdout)["player_id"] == "thrall"

    def test_ids_with_escape_sequences_are_printed_escaped(self, db: Path) -> None:
        done = run("void", "g\x1b[31mred", "--reason", "why", db=db)
        assert done.returncode == 2 and "\x1b" not in done.stderr and "\\x1b" in done.stderr

    def test_the_profile_is_not_cut_when_piped(self, db: Path, tmp_path: Path) -> None:
        long_id = "tournament-2026-finals-game-000042"
        assert record(db, tmp_path, wire_report(long_id, stats={"thrall": BRUISER})).returncode == 0
        assert long_id in run("profile", "thrall", db=db).stdout
