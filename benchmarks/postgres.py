"""PostgreSQL ingest benchmark: how fast game reports reach a durable PostgreSQL event store.

In the same run and on the same server, each in a fresh schema (dropped afterwards):
- osmo on PostgreSQL: parse, check, append, project and evaluate awards, 500 games per transaction
  (what `osmo record` does, without the process start-up);
- the floor of any event store: a raw append of the same reports as GameRecorded events into a table
  shaped like osmo's `events`, 500 per transaction, with `executemany` (psycopg pipelines it) and with
  binary COPY;
- the `eventsourcing` library's PostgreSQL persistence: one aggregate per game, 500 per save;
- and, for reference, osmo doing the same work on its embedded SQLite store.

    python benchmarks/postgres.py                      # 20,000 games
    python benchmarks/postgres.py --games 2000         # smoke run
    python benchmarks/postgres.py --url postgresql://postgres@127.0.0.1:5432/postgres

The server URL comes from --url, else OSMO_BENCH_PG, else OSMO_TEST_PG, else the local default.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict

from _common import (
    MethodFailed,
    MethodUnavailable,
    batches,
    best_of,
    eventsourcing_classes,
    format_table,
    generate_reports,
    progress,
    read_lines,
)
from osmo.adapters.postgres import EVENT_COLUMNS, EVENT_TYPES

DEFAULT_GAMES = 20_000
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH_SIZE = 500

# The shape of osmo's events table (src/osmo/adapters/postgres.py), lz4 included when the server has it.
EVENTS_TABLE = """
CREATE TABLE events (
    position BIGINT PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    event_id UUID NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    UNIQUE (stream, version)
);
DO $$ BEGIN ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4; EXCEPTION WHEN others THEN NULL; END $$;
"""
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
COPY_EVENTS = f"COPY events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)"


@dataclass
class Outcome:
    method: str
    games: int
    games_per_s: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Run:
    url: str
    reports: Path
    games: int
    repeat: int


# --- schemas --------------------------------------------------------------------------------------


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@contextmanager
def fresh_schema(url: str, name: str) -> Iterator[tuple[str, str]]:
    """A new schema, dropped afterwards: (schema name, a URL whose search_path is that schema)."""
    schema = f"osmo_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema, with_params(url, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def best_on_fresh_schemas(run: Run, name: str, timed: Callable[[str, str], float]) -> float:
    def attempt(_: int) -> float:
        with fresh_schema(run.url, name) as (schema, url):
            return timed(schema, url)

    return best_of(run.repeat, attempt)


# --- osmo -----------------------------------------------------------------------------------------


def osmo_sqlite_seconds(run: Run) -> float:
    """The same work on the embedded SQLite store (synchronous=FULL), as a reference."""
    with tempfile.TemporaryDirectory(prefix="osmo-pg-bench-sqlite-") as folder:
        return osmo_seconds(run, str(Path(folder) / "osmo.db"))


def osmo_seconds(run: Run, url: str) -> float:
    """What `osmo record FILE` runs (the fast reader streaming the file, the spool, the batch path),
    without the process start-up."""
    from osmo.adapters.report_fast import FastReportParser, stream_submissions
    from osmo.adapters.spool import FileSpool
    from osmo.application.players import register_seed_players
    from osmo.application.recording import record_games
    from osmo.bootstrap import bootstrap

    app = bootstrap(url)
    try:
        register_seed_players(app.uow)
        catalog = app.uow.catalog()
        started = time.perf_counter()
        with run.reports.open("rb") as file:
            submissions = stream_submissions(file, FastReportParser(catalog, datetime.now(UTC)))
            result = record_games(app.uow, submissions, spool=FileSpool())
        elapsed = time.perf_counter() - started
    finally:
        app.close()
    if result.recorded != run.games:
        raise MethodFailed(f"recorded {result.recorded} of {run.games} (rejected {len(result.rejected)})")
    return elapsed


# --- raw append -----------------------------------------------------------------------------------


def raw_rows(lines: list[str], first: int, recorded_at: str) -> list[tuple[Any, ...]]:
    return [
        (first + i, "game-" + orjson.loads(line)["game_id"], 0, "GameRecorded", line, '{"schema":1}', uuid.uuid4(),
         recorded_at)
        for i, line in enumerate(lines, 1)
    ]


def raw_seconds(run: Run, url: str, copy: bool) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(EVENTS_TABLE)
        position = 0
        started = time.perf_counter()
        for batch in batches(read_lines(run.reports), BATCH_SIZE):
            rows = raw_rows(batch, position, datetime.now(UTC).isoformat())
            position += len(rows)
            with conn.transaction(), conn.cursor() as cursor:
                if copy:
                    with cursor.copy(COPY_EVENTS) as writer:
                        writer.set_types(EVENT_TYPES)
                        for row in rows:
                            writer.write_row(row)
                else:
                    cursor.executemany(INSERT_EVENT, rows)
        elapsed = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM events").fetchone()
    if not stored or stored[0] != run.games:
        raise MethodFailed(f"stored {stored} events, expected {run.games}")
    return elapsed


# --- eventsourcing --------------------------------------------------------------------------------


def eventsourcing_env(url: str, schema: str) -> dict[str, str]:
    """The library's settings (POSTGRES_DBNAME, _HOST, _PORT, _USER, _PASSWORD, _SCHEMA) from a URL."""
    params = conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or params.get("user") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
    }


def eventsourcing_seconds(run: Run, schema: str) -> float:
    # eventsourcing.postgres needs psycopg_pool: the 'postgres' extra
    game_class, app_class = eventsourcing_classes("install eventsourcing[postgres]", "psycopg_pool")
    app = app_class(env=eventsourcing_env(run.url, schema))
    try:
        started = time.perf_counter()
        for batch in batches(read_lines(run.reports), BATCH_SIZE):
            app.save(*(game_class(orjson.loads(line)) for line in batch))
        elapsed = time.perf_counter() - started
        last = app.recorder.max_notification_id()
    finally:
        app.close()
    if last != run.games:
        raise MethodFailed(f"the last notification id is {last}, expected {run.games}")
    return elapsed


# --- orchestration --------------------------------------------------------------------------------

METHODS: dict[str, tuple[str, str, Callable[[Run], float]]] = {
    "osmo": ("osmo on PostgreSQL", "parse + check + append + project + awards, in-process",
             lambda run: best_on_fresh_schemas(run, "osmo", lambda _, url: osmo_seconds(run, url))),
    "sqlite": ("osmo on SQLite (reference)", "the same work on the embedded store, synchronous=FULL",
               lambda run: best_of(run.repeat, lambda _: osmo_sqlite_seconds(run))),
    "executemany": ("raw append, executemany", f"{BATCH_SIZE} events/transaction, pipelined INSERTs",
                    lambda run: best_on_fresh_schemas(run, "raw", lambda _, url: raw_seconds(run, url, copy=False))),
    "copy": ("raw append, COPY", f"{BATCH_SIZE} events/transaction, binary COPY",
             lambda run: best_on_fresh_schemas(run, "copy", lambda _, url: raw_seconds(run, url, copy=True))),
    "eventsourcing": ("eventsourcing (PostgreSQL)", f"1 aggregate/game, {BATCH_SIZE} aggregates/save",
                      lambda run: best_on_fresh_schemas(run, "es", lambda s, _: eventsourcing_seconds(run, s))),
}


def measure(method: str, run: Run) -> Outcome:
    label, note, seconds_of = METHODS[method]
    progress(f"{method}: measuring ...")
    try:
        outcome = Outcome(label, run.games, run.games / seconds_of(run), note)
    except MethodUnavailable as error:
        outcome = Outcome(label, run.games, note=f"not available ({error})")
    except MethodFailed as error:
        outcome = Outcome(label, run.games, note=f"failed ({error})")
    progress(f"{method}: {outcome.games_per_s:,.0f} games/s" if outcome.games_per_s else f"{method}: {outcome.note}")
    return outcome


def server_info(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        settings: dict[str, str] = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('server_version', 'synchronous_commit', 'shared_buffers', 'fsync', 'wal_level')").fetchall())
    params = conninfo_to_dict(url)
    return {
        "server": f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname') or ''}",
        "postgresql": str(settings.get("server_version")),
        "synchronous_commit": str(settings.get("synchronous_commit")),
        "fsync": str(settings.get("fsync")),
        "shared_buffers": f"{int(settings.get('shared_buffers', 0)) * 8 // 1024} MB",
        "client cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "psycopg": psycopg.__version__,
    }


def render(outcomes: list[Outcome], info: dict[str, str]) -> str:
    figures = {o.method: o.games_per_s for o in outcomes}
    floors = [("vs executemany", figures.get(METHODS["executemany"][0])), ("vs COPY", figures.get(METHODS["copy"][0]))]

    def ratio(value: float | None, floor: float | None) -> str:
        return f"{value / floor:.2f}" if value and floor else ""

    rows = [[o.method, f"{o.games:,}", f"{o.games_per_s:,.0f}" if o.games_per_s else "",
             *(ratio(o.games_per_s, floor) for _, floor in floors), o.note] for o in outcomes]
    table = format_table(["method", "games", "games/s", *(name for name, _ in floors), "notes"], rows,
                         right_aligned={1, 2, 3, 4})
    osmo = figures.get(METHODS["osmo"][0])
    lines = [table, ""]
    for label, value in figures.items():
        if osmo and value and label != METHODS["osmo"][0]:
            lines.append(f"osmo on PostgreSQL / {label}: {osmo / value:.2f}")
    es, raw = figures.get(METHODS["eventsourcing"][0]), figures.get(METHODS["executemany"][0])
    if osmo and es:
        lines.append(f"target >= 1.5x eventsourcing: {osmo / es:.2f}x, {'met' if osmo >= 1.5 * es else 'MISSED'}")
    if osmo and raw:
        lines.append(f"target >= 1/2 of executemany: {osmo / raw:.2f}, {'met' if 2 * osmo >= raw else 'MISSED'}")
    width = max(map(len, info))
    lines += ["", *(f"{key.ljust(width)}  {value}" for key, value in info.items())]
    return "\n".join(lines)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError("must be at least 2")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("OSMO_BENCH_PG") or os.environ.get("OSMO_TEST_PG")
                        or DEFAULT_URL, help="PostgreSQL server (a database where schemas can be created)")
    parser.add_argument("--games", type=positive_int, default=DEFAULT_GAMES, help="reports to generate")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the generated reports")
    parser.add_argument("--repeat", type=positive_int, default=None, help="runs per method; the best counts")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="what to measure")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        info = server_info(args.url)
    except psycopg.Error as error:
        progress(f"cannot reach PostgreSQL: {' '.join(str(error).split())}")
        return 3
    with tempfile.TemporaryDirectory(prefix="osmo-pg-bench-") as tmp:
        reports = Path(tmp) / "reports.jsonl"
        generate_reports(reports, args.games, args.seed)
        run = Run(args.url, reports, args.games, args.repeat or 1)
        outcomes = [measure(method, run) for method in args.methods]
    if args.json:
        settings = {"games": args.games, "repeat": run.repeat, "batch_size": BATCH_SIZE, "seed": args.seed}
        print(orjson.dumps({"server": info, "settings": settings, "results": [asdict(o) for o in outcomes]},
                           option=orjson.OPT_INDENT_2).decode())
    else:
        print(render(outcomes, info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
