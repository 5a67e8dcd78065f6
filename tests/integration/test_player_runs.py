"""Each player's games are kept as runs of positions (``player_runs``): what ``games_of`` and ``last_games`` give
is what the earlier one-row-per-line table gave, after batch and one-game writes, after a void, and after the
migration that turns a store's ``player_games`` rows into runs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from osmo.adapters import packing
from osmo.adapters.postgres import migrations
from osmo.adapters.postgres.migrations import MIGRATIONS
from osmo.application.corrections import void_game
from osmo.application.players import register_seed_players
from osmo.application.recording import record_games
from osmo.bootstrap import App, bootstrap
from tests.builders import SEED_IDS, submissions, wire_report
from tests.conftest import PgSchema, pg_admin_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "osmo.db")
        return
    schema = PgSchema(pg_admin_url())
    try:
        yield "postgres", schema.url
    finally:
        schema.drop()


def history(app: App) -> tuple[dict[str, list[int]], dict[str, int]]:
    with app.uow.read() as reader:
        games = reader.tx.lines.games_of(SEED_IDS)
        last = reader.tx.lines.last_games(SEED_IDS, before=30)
    return games, last


def expected(reports: list[dict[str, object]], voided: set[str]) -> dict[str, list[int]]:
    """Each player's game positions, counted from the store's events (players registered first)."""
    found: dict[str, list[int]] = {p: [] for p in SEED_IDS}
    for position, report in enumerate(reports, len(SEED_IDS) + 2):  # after the catalog and the players
        if report["game_id"] in voided:
            continue
        for team in report["teams"]:  # type: ignore[attr-defined]
            for line in team:
                found[line["player_id"]].append(position)
    return found


@contextmanager
def recorded(url: str) -> Iterator[tuple[App, list[dict[str, object]]]]:
    """A store of ``url`` with 40 games recorded: a run of 30 in one transaction, then one game a transaction."""
    app = bootstrap(url)
    try:
        register_seed_players(app.uow)
        reports = [wire_report(f"g{i}", players=tuple(SEED_IDS[(i + k) % 10] for k in range(6))) for i in range(40)]
        record_games(app.uow, submissions(*reports[:30]))
        for report in reports[30:]:
            record_games(app.uow, submissions(report))
        yield app, reports
    finally:
        app.close()


def test_games_of_after_runs_single_games_and_a_void(store: tuple[str, str]) -> None:
    with recorded(store[1]) as (app, reports):
        games, last = history(app)
        assert games == expected(reports, set())
        assert last == {p: max(q for q in positions if q < 30) for p, positions in games.items()}
        void_game(app.uow, "g3", "a test")
        games, _ = history(app)
        assert games == expected(reports, {"g3"})


def test_the_migration_turns_player_games_into_runs(store: tuple[str, str]) -> None:
    """A store of the previous schema (one ``player_games`` row per line) reads the same once migrated."""
    backend, url = store
    with recorded(url) as (app, reports):
        before = history(app)
    if backend == "sqlite":
        with sqlite3.connect(url) as conn:
            downgrade(conn, "player_key INTEGER NOT NULL, position INTEGER NOT NULL")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            conn.execute(f"PRAGMA user_version={version - 1}")
    else:
        with psycopg.connect(url) as conn:
            downgrade(conn, "player_key BIGINT NOT NULL, position BIGINT NOT NULL")
            conn.execute("DELETE FROM schema_migrations WHERE version > %s",
                         (MIGRATIONS.index(migrations._runs_of_player_games),))
    app = bootstrap(url)
    try:
        assert history(app) == before
        assert before[0] == expected(reports, set())
    finally:
        app.close()


def downgrade(conn: sqlite3.Connection | psycopg.Connection[tuple[object, ...]], columns: str) -> None:
    """``player_runs`` back to the previous schema's ``player_games``."""
    runs: list[Any] = conn.execute("SELECT player_key, positions FROM player_runs").fetchall()
    conn.execute(f"CREATE TABLE player_games ({columns}, PRIMARY KEY (player_key, position))")
    pairs = [(key, position) for key, blob in runs for position in packing.run_positions(bytes(blob)).tolist()]
    insert = "INSERT INTO player_games VALUES (?, ?)" if isinstance(conn, sqlite3.Connection) else \
        "INSERT INTO player_games VALUES (%s, %s)"
    conn.cursor().executemany(insert, pairs)
    conn.execute("DROP TABLE player_runs")
