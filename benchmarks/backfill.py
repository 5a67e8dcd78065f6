"""Backfill benchmark: a new career award over a long history, next to the database's own window scan.

Builds (or reuses) a store of N games recorded through osmo from the simulator, adds an award on a
career stat, and measures backfill in player-game lines per second (median of three dry runs: the scan
is the work; then one real run), next to, in the same run, SQLite's window-function scan of the same
lines (a cumulative sum per player ordered by position, in a plain table built for the comparison).

    python benchmarks/backfill.py --games 1000000 --db /tmp/osmo-1m.db   # build once, then reuse
    python benchmarks/backfill.py --games 2000                           # smoke run
    python benchmarks/backfill.py --games 1000000 --db postgresql://postgres@127.0.0.1/osmo_bench
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from osmo.adapters.catalog_files import load_catalog
from osmo.adapters.play_worker import simulated_batches
from osmo.application import catalogs
from osmo.application.backfill import backfill, total_games
from osmo.application.players import list_players, register_seed_players
from osmo.application.recording import record_checked
from osmo.bootstrap import App, bootstrap

AWARD = """
[awards.centurion]
name = "Centurion"
description = "Kill 2,000 enemies"
rule = "career.total_kills >= 2000"
tier = "gold"
"""
BUILD_BATCH = 50_000


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(app: App, games: int, seed: int) -> None:
    """Record ``games`` simulated games through osmo (as ``osmo play`` does: the last one finishes now)."""
    register_seed_players(app.uow)
    players = [p.player_id for p in list_players(app.uow)]
    catalog = app.uow.catalog()
    started = time.perf_counter()
    done = 0
    end = datetime.now(UTC)
    for batch in simulated_batches(catalog, seed, players, games, end, batch=BUILD_BATCH):
        record_checked(app.uow, catalog, batch)
        done += len(batch)
        say(f"  recorded {done:,} games ({done / (time.perf_counter() - started):,.0f}/s)")


def line_count(app: App) -> int:
    with app.uow.read() as reader:
        return sum(len(block) for block in reader.tx.lines.line_blocks())


def _lines(app: App) -> Iterator[list[list[int]]]:
    """(player key, position, kills) of every line, a block at a time."""
    with app.uow.read() as reader:
        kills = reader.catalog.game_names.index("kills")
        for block in reader.tx.lines.line_blocks():
            yield np.stack([block.keys, block.positions, block.game_column(kills)], axis=1).tolist()


def sqlite_window(app: App, path: str) -> Callable[[], list[tuple[int, int]]]:
    """The same lines as a plain (player, position, kills) SQLite table; returns its window scan."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE lines (player INTEGER NOT NULL, position INTEGER NOT NULL, kills INTEGER NOT NULL)")
    conn.execute("BEGIN")
    for rows in _lines(app):
        conn.executemany("INSERT INTO lines VALUES (?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.execute("CREATE INDEX lines_by_player ON lines (player, position)")
    conn.execute("ANALYZE")
    return lambda: conn.execute(WINDOW_SCAN).fetchall()


def postgres_window(app: App, url: str) -> Callable[[], list[tuple[int, int]]]:
    """The same lines as a plain PostgreSQL table next to the store; returns its window scan."""
    import psycopg

    conn = psycopg.connect(url, autocommit=True)
    conn.execute("DROP TABLE IF EXISTS bench_lines")
    conn.execute("CREATE TABLE bench_lines (player BIGINT NOT NULL, position BIGINT NOT NULL, kills BIGINT NOT NULL)")
    with conn.cursor() as cursor, cursor.copy("COPY bench_lines FROM STDIN") as copy:
        for rows in _lines(app):
            for row in rows:
                copy.write_row(row)
    conn.execute("CREATE INDEX bench_lines_by_player ON bench_lines (player, position)")
    conn.execute("VACUUM ANALYZE bench_lines")
    query = WINDOW_SCAN.replace("FROM lines", "FROM bench_lines")
    return lambda: [tuple(r) for r in conn.execute(query).fetchall()]


WINDOW_SCAN = """
SELECT player, min(position) FROM (
    SELECT player, position, sum(kills) OVER (PARTITION BY player ORDER BY position) AS total_kills
    FROM lines
) AS running WHERE total_kills >= 2000 GROUP BY player
"""


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=1_000_000)
    parser.add_argument("--db", help="osmo store to build or reuse: a SQLite file or a postgresql:// URL "
                                     "(default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    folder = tempfile.TemporaryDirectory()
    db = args.db or str(Path(folder.name) / "osmo.db")
    app = bootstrap(db)
    recorded = total_games(app.uow)
    if recorded < args.games:
        say(f"building a store of {args.games:,} games in {db}")
        build(app, args.games - recorded, args.seed + recorded)
    catalog_file = Path(folder.name) / "award.toml"
    catalog_file.write_text(AWARD)
    catalogs.apply(app.uow, load_catalog(str(catalog_file)))
    lines = line_count(app)
    say(f"{lines:,} player-game lines; building the comparison table")
    postgres = db.startswith("postgresql://")
    scan = postgres_window(app, db) if postgres else sqlite_window(app, str(Path(folder.name) / "window.db"))
    engine = "PostgreSQL" if postgres else "SQLite"
    backfill_times, window_times = [], []
    for attempt in range(args.repeat):
        backfill_times.append(timed(lambda: backfill(app.uow, ["centurion"], dry_run=True)))
        window_times.append(timed(scan))
        say(f"  run {attempt + 1}: backfill {backfill_times[-1]:.2f} s, window scan {window_times[-1]:.2f} s")
    preview = backfill(app.uow, ["centurion"], dry_run=True)
    expected = {(r[0], r[1]) for r in scan()}
    with app.uow.read() as reader:
        keys = {p: k for k, p in reader.tx.players.player_keys().items()}
    found = {(keys[g.player_id], g.game_position) for g in preview.grants}
    if found != expected:
        say(f"MISMATCH: backfill found {sorted(found)}, the window scan {sorted(expected)}")
        return 1
    real = timed(lambda: backfill(app.uow, ["centurion"]))
    b, w = statistics.median(backfill_times), statistics.median(window_times)
    print(f"lines                 {lines:,}")
    print(f"backfill (dry run)    {b:.3f} s median  {lines / b:,.0f} lines/s")
    print(f"window scan ({engine}) {w:.3f} s median  {lines / w:,.0f} lines/s")
    print(f"ratio                 {w / b:.2f}x the window scan")
    print(f"real backfill         {real:.3f} s, granted {len(preview.grants)} (the same players and games as the scan)")
    app.close()
    folder.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
