"""``osmo stress`` end to end: a short run per driver (http and nats against real ``osmo serve`` processes,
direct on a SQLite file), the report folder, the JSON summary, and the consistency check catching a
problem."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osmo.bootstrap import bootstrap
from osmo.entrypoints.cli import cli
from osmo.stress import Plan, check_consistency, run_stress
from osmo.stress.drivers import DirectDriver
from tests.nats.conftest import NatsServer, free_port, nats_test_url
from tests.serve_process import ServeProcess

ROOT = Path(__file__).resolve().parents[2]
REPORT_FILES = ("report.md", "report.html", "throughput.png", "latency.png", "rarity.png")


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "osmo.db")
    result = CliRunner().invoke(cli, ["--db", path, "init"])
    assert result.exit_code == 0, result.output
    return path


def stress(db: str, report: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--db", db, "stress", "--report", str(report), "--json", "--drain", "15",
                                      "--players", "30", "--seed", "7", "--warmup", "0", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def check_run(summary: dict[str, Any], report: Path, sent: int) -> None:
    assert {"sent", "recorded", "rate", "latency_ms", "errors", "consistent", "unlock_latency_ms"} <= set(summary)
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert summary["sent"] == summary["recorded"] == sent
    assert summary["errors"] == 0
    assert summary["consistent"] is True
    assert summary["unlocks_seen"] == summary["unlocks_stored"]
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p99"] <= summary["latency_ms"]["max"]
    for name in REPORT_FILES:
        assert (report / name).stat().st_size > 0, name
    text = (report / "report.md").read_text()
    assert f"{sent} of {sent} games sent are recorded exactly once" in text
    assert "equal to an offline `record`" in text
    assert "(throughput.png)" in text and 'src="latency.png"' in (report / "report.html").read_text()


def test_direct(db: str, tmp_path: Path) -> None:
    summary = stress(db, tmp_path / "report", "--via", "direct", "--rate", "40", "-n", "60", "--servers", "2")
    check_run(summary, tmp_path / "report", 60)


@pytest.fixture
def http_serve(db: str) -> Iterator[str]:
    port = free_port()
    serve = ServeProcess(db, "--http", f"127.0.0.1:{port}")
    yield f"http://127.0.0.1:{port}"
    serve.stop()


def test_http(db: str, http_serve: str, tmp_path: Path) -> None:
    summary = stress(db, tmp_path / "report", "--via", "http", "--url", http_serve, "--rate", "30", "-n", "45",
                     "--servers", "3")
    check_run(summary, tmp_path / "report", 45)


def test_nats(db: str, tmp_path: Path) -> None:
    # The shared server (OSMO_TEST_NATS) must be there; the run itself uses a nats-server of its own, since a
    # fresh store's relay resumes after whatever a shared OSMO_EVENTS stream already holds.
    nats_test_url()
    server = NatsServer(tmp_path / "jetstream")
    serve = ServeProcess(db, "--nats", server.url, "--no-http")
    try:
        summary = stress(db, tmp_path / "report", "--via", "nats", "--nats", server.url, "--rate", "30", "-n", "45",
                         "--servers", "2")
    finally:
        serve.stop()
        server.stop()
    check_run(summary, tmp_path / "report", 45)


def test_ramp_finds_a_knee(db: str, tmp_path: Path) -> None:
    summary = stress(db, tmp_path / "report", "--via", "direct", "--ramp", "--rate", "20", "--step-s", "1",
                     "--max-rate", "90", "--p99-ms", "10000", "--servers", "2", "--warmup", "0.5")
    steps = summary["ramp"]["steps"]
    assert [s["rate"] for s in steps] == [20.0, 30.0, 45.0, 67.5]
    assert all(s["passed"] for s in steps) and summary["ramp"]["knee_rate"] == 67.5
    assert summary["consistent"] is True and summary["warmup_games"] == 10
    assert summary["sent"] == summary["recorded"] == 10 + sum(s["sent"] for s in steps)
    assert (tmp_path / "report" / "knee.png").stat().st_size > 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Highest rate sustained with p99 under 10000 ms: **67.5 games/s**" in text


def test_the_check_catches_a_lost_game_and_a_missing_one(db: str) -> None:
    app = bootstrap(db)
    try:
        plan = Plan(via="direct", rate=50, servers=1, n=40, players=12, seed=3)
        result = asyncio.run(run_stress(plan, app, DirectDriver.on(db, None, 1)))
        assert result.consistency is not None and result.consistency.consistent
        sent = {g.game_id: g.body for g in result.games}
        lost = dict(list(sent.items())[:-1])  # the store holds a game the comparison does not: careers differ
        found = check_consistency(app, lost, result.players)
        assert not found.consistent and found.career_mismatches
        assert any("DIFFERENT" in line for line in found.lines())
        phantom = {**sent, "never-sent": b"{}"}  # a game "sent" that the store never recorded
        found = check_consistency(app, phantom, result.players)
        assert not found.consistent and found.missing == ["never-sent"]
        assert found.recorded_once == len(sent)
    finally:
        app.close()
