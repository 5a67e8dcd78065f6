"""PostgreSQL faults: an unreachable server, and a connection killed in the middle of a batch.

The server is never stopped: the batch's backend is terminated with ``pg_terminate_backend`` while it
waits for the append lock, which another connection holds for the moment (so the kill lands between
two chunks, deterministically, and the chunks before it are committed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from osmo.adapters.postgres import PostgresDatabase, conninfo_password, lock_key
from osmo.application.play import submissions
from osmo.application.players import register_seed_players
from osmo.application.recording import record_games
from osmo.bootstrap import App, bootstrap
from osmo.domain import events as ev
from osmo.domain.errors import StoreUnavailable
from tests.builders import SEED_IDS
from tests.conftest import PgSchema, schema_url
from tests.pg_proxy import PgProxy
from tests.postgres.workers import reports

SECRET = "hunter2-not-a-real-password"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def osmo(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osmo", *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_an_unreachable_server_is_store_unavailable_naming_the_server_not_the_password() -> None:
    port = closed_port()
    with pytest.raises(StoreUnavailable) as raised:
        PostgresDatabase(f"postgresql://osmo:{SECRET}@127.0.0.1:{port}/osmo")
    message = str(raised.value)
    assert f"PostgreSQL server 127.0.0.1:{port}/osmo is unavailable" in message
    assert "refused" in message.lower() and SECRET not in message


def test_the_cli_exits_3_when_the_server_is_unreachable() -> None:
    port = closed_port()
    done = osmo("--db", f"postgresql://osmo:{SECRET}@127.0.0.1:{port}/osmo", "players", "list")
    assert done.returncode == 3
    assert done.stderr.startswith(f"osmo: error: PostgreSQL server 127.0.0.1:{port}/osmo is unavailable")
    assert "Traceback" not in done.stderr and SECRET not in done.stderr + done.stdout


class Blocker:
    """Holds a store's append lock from another connection, then terminates the backend waiting for it."""

    def __init__(self, admin_url: str, schema: str) -> None:
        self.key = lock_key(schema)
        self.holder = psycopg.connect(admin_url, autocommit=True)
        self.admin = psycopg.connect(admin_url, autocommit=True)
        self.killed: list[int] = []

    def hold(self) -> None:
        self.holder.execute("SELECT pg_advisory_lock(%s)", (self.key,))

    def kill_waiter(self, condition: str, param: Any, timeout: float = 20) -> int:
        """Terminate the backend (``condition`` on pg_stat_activity) once it waits for the lock."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                row = self.admin.execute(
                    f"SELECT pid FROM pg_stat_activity WHERE {condition} AND wait_event_type = 'Lock' "
                    "AND wait_event = 'advisory'", (param,)).fetchone()
                if row:
                    self.admin.execute("SELECT pg_terminate_backend(%s)", (row[0],))
                    self.killed.append(row[0])
                    return int(row[0])
                time.sleep(0.005)
            raise AssertionError("no backend waited for the append lock: the batch ended before the kill")
        finally:
            self.holder.execute("SELECT pg_advisory_unlock(%s)", (self.key,))

    def close(self) -> None:
        self.holder.close()
        self.admin.close()


def stored_state(app: App) -> dict[str, Any]:
    with app.uow.read() as reader:
        tx = reader.tx
        events = list(tx.events.read_all())
        careers = tx.careers.careers(SEED_IDS)
        unlocks = {(u.player_id, u.award_id, u.game_id) for p in SEED_IDS for u in tx.unlocks.unlocks_of(p)}
        holders = tx.unlocks.holders()
    games = [e.data["game_id"] for e in events if e.type == ev.GAME_RECORDED]
    awards = Counter(e.stream for e in events if e.type == ev.AWARD_UNLOCKED)
    return {"games": games, "awards": awards, "careers": careers, "unlocks": unlocks,
            "holders": sum(holders.values()), "last": events[-1].position if events else 0}


def check_complete(state: dict[str, Any], game_ids: list[str]) -> None:
    assert sorted(state["games"]) == sorted(game_ids), "a game is missing or recorded twice"
    assert state["awards"] and max(state["awards"].values()) == 1, "an award was granted twice"
    assert len(state["unlocks"]) == sum(state["awards"].values()) == state["holders"]


@pytest.mark.postgres
def test_a_batch_whose_connection_is_killed_fails_keeps_its_committed_chunks_and_completes_on_rerun(
        pg_schema: PgSchema) -> None:
    app = bootstrap(pg_schema.url)
    register_seed_players(app.uow)
    database = app.database
    assert isinstance(database, PostgresDatabase)
    games = reports("k", 300, seed=7)
    blocker = Blocker(pg_schema.admin_url, database.schema)
    chunks: list[int] = []
    threads: list[threading.Thread] = []

    def progress(done: int) -> None:
        chunks.append(done)
        if len(chunks) == 2:  # two chunks committed: block the third at its BEGIN, and kill it there
            blocker.hold()
            pid = database.conn.info.backend_pid
            threads.append(threading.Thread(target=blocker.kill_waiter, args=("pid = %s", pid)))
            threads[0].start()

    try:
        with pytest.raises(StoreUnavailable, match=r"PostgreSQL server .* is unavailable: .*terminat"):
            record_games(app.uow, submissions(games), chunk_size=50, progress=progress)
        threads[0].join(10)
        assert chunks == [50, 50] and len(blocker.killed) == 1

        partial = stored_state(app)  # the same PostgresDatabase reconnects
        assert partial["games"] == [g["game_id"] for g in games[:100]], "the committed chunks are intact"
        assert sum(c[0] for c in partial["careers"].values()) == sum(len(t) for g in games[:100] for t in g["teams"])
        assert partial["awards"] and max(partial["awards"].values()) == 1

        again = record_games(app.uow, submissions(games), chunk_size=50)
        assert (again.recorded, again.duplicates, again.rejected) == (200, 100, [])
        final = stored_state(app)
        check_complete(final, [g["game_id"] for g in games])
    finally:
        blocker.close()
        app.close()

    # The interrupted and resumed batch ends exactly where one uninterrupted run does.
    reference = PgSchema(pg_schema.admin_url)
    try:
        clean = bootstrap(reference.url)
        register_seed_players(clean.uow)
        record_games(clean.uow, submissions(games), chunk_size=50)
        expected = stored_state(clean)
        clean.close()
    finally:
        reference.drop()
    assert final["careers"] == expected["careers"] and final["unlocks"] == expected["unlocks"]
    assert final["games"] == expected["games"]


@pytest.mark.postgres
def test_the_cli_exits_3_when_its_connection_is_killed_mid_batch_and_a_rerun_completes_it(
        pg_schema: PgSchema, tmp_path: Path) -> None:
    application = f"osmo-fault-{uuid.uuid4().hex[:10]}"
    url = schema_url(pg_schema.admin_url, pg_schema.name, application_name=application)
    app = bootstrap(url)
    register_seed_players(app.uow)
    games = reports("c", 3000, seed=11)  # 6 chunks of 500
    batch = tmp_path / "games.jsonl"
    batch.write_bytes(b"".join(orjson.dumps(g) + b"\n" for g in games))
    blocker = Blocker(pg_schema.admin_url, pg_schema.name)
    watcher = psycopg.connect(pg_schema.url, autocommit=True)
    command = [sys.executable, "-m", "osmo", "--db", url, "record", str(batch), "--json"]
    recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not watcher.execute("SELECT count(*) > 0 FROM game_lines").fetchone()[0]:  # type: ignore[index]
            assert recorder.poll() is None, recorder.communicate()
            assert time.monotonic() < deadline, "the first chunk was never committed"
            time.sleep(0.005)
        blocker.hold()  # granted once the chunk in flight commits: the next one waits at BEGIN
        blocker.kill_waiter("application_name = %s", application)
        out, err = recorder.communicate(timeout=30)
    finally:
        if recorder.poll() is None:
            recorder.kill()
        blocker.close()
        watcher.close()
    assert recorder.returncode == 3, err
    assert err.startswith("osmo: error: PostgreSQL server ") and "is unavailable" in err
    assert "terminat" in err and "Traceback" not in err and out == ""
    password = conninfo_password(url)
    assert password is None or password not in err

    committed = stored_state(app)["games"]
    assert 0 < len(committed) < len(games) and len(committed) % 500 == 0, "whole chunks only"
    assert committed == [g["game_id"] for g in games[:len(committed)]]

    done = osmo("--db", url, "record", str(batch), "--json")
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert (summary["recorded"], summary["duplicates"]) == (len(games) - len(committed), len(committed))
    check_complete(stored_state(app), [g["game_id"] for g in games])
    app.close()


@pytest.mark.postgres
def test_a_server_that_stops_answering_is_store_unavailable_after_the_timeout(pg_schema: PgSchema) -> None:
    proxy = PgProxy()
    app = bootstrap(proxy.url(pg_schema.name), environ={"OSMO_PG_TIMEOUT": "1.5"})
    try:
        register_seed_players(app.uow)
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"no answer from the server within 1\.5 s"):
            record_games(app.uow, submissions(reports("frozen", 3, seed=3)))
        assert time.monotonic() - started < 10
    finally:
        app.close()
        proxy.close()


@pytest.mark.postgres
def test_the_cli_exits_3_when_the_server_stops_answering(pg_schema: PgSchema, tmp_path: Path) -> None:
    proxy = PgProxy()
    url = proxy.url(pg_schema.name)
    try:
        assert subprocess.run([sys.executable, "-m", "osmo", "--db", url, "init"], capture_output=True,
                              timeout=60, check=False).returncode == 0
        proxy.freeze()
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "osmo", "--db", url, "players", "list"], capture_output=True,
                              text=True, timeout=60, check=False, env={**os.environ, "OSMO_PG_TIMEOUT": "1"})
        assert done.returncode == 3 and "unavailable" in done.stderr and "Traceback" not in done.stderr
        assert time.monotonic() - started < 15
    finally:
        proxy.close()


@pytest.mark.postgres
def test_a_game_id_with_a_nul_character_is_rejected_before_the_database(pg_schema: PgSchema, tmp_path: Path) -> None:
    games = reports("nul", 2, seed=5)
    games[1]["game_id"] = "bad\x00id"
    file = tmp_path / "games.jsonl"
    file.write_bytes(b"".join(orjson.dumps(g) + b"\n" for g in games))
    assert osmo("--db", pg_schema.url, "init").returncode == 0
    done = osmo("--db", pg_schema.url, "record", str(file), "--skip-invalid", "--json")
    assert done.returncode == 0, done.stderr
    out = orjson.loads(done.stdout)
    assert out["recorded"] == 1 and len(out["rejected"]) == 1 and "game_id" in out["rejected"][0]["error"]
