"""Ingest benchmark: how fast game reports reach a durable SQLite event store.

Compares, on fresh database files, a bare SQLite append of the report text (the floor any
event store pays), the `eventsourcing` library on SQLite, and the `osmo record` CLI; plus the
latency of appending one game per transaction.

    python benchmarks/ingest.py                  # 100,000 games
    python benchmarks/ingest.py --games 2000     # smoke run
    python benchmarks/ingest.py --big-reports /tmp/osmo-1m.jsonl   # + peak RSS of 1,000,000 reports

The table gives each method against the raw append and against eventsourcing, then the issue's targets
(osmo record >= 1.0x eventsourcing, >= 1/3 of raw, >= 12,000 games/s); `memory` records the reports with
peak RSS, then re-records them (all duplicates).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from _common import (
    MethodFailed,
    MethodUnavailable,
    batches,
    best_of,
    count_lines,
    eventsourcing_classes,
    format_table,
    generate_reports,
    latency_percentiles,
    machine_info,
    progress,
    read_lines,
    remove_database,
)

DEFAULT_GAMES = 100_000
BATCH_SIZE = 500
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    UNIQUE (stream, version)
)
"""
INSERT_EVENT = (
    "INSERT INTO events (stream, version, type, data, metadata, event_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


@dataclass
class Outcome:
    method: str
    games: int
    games_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""


# --- raw SQLite append -------------------------------------------------------------------------


def open_raw_store(path: Path, synchronous: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute(EVENTS_TABLE)
    return connection


def raw_event_row(line: str) -> tuple[str, int, str, str, str, str, str]:
    stream = "game-" + orjson.loads(line)["game_id"]
    recorded_at = datetime.now(UTC).isoformat()
    return (stream, 1, "GameRecorded", line, "{}", str(uuid.uuid4()), recorded_at)


def raw_append_seconds(reports: Path, db: Path, synchronous: str) -> float:
    connection = open_raw_store(db, synchronous)
    try:
        started = time.perf_counter()
        for batch in batches(read_lines(reports), BATCH_SIZE):
            connection.execute("BEGIN")
            connection.executemany(INSERT_EVENT, [raw_event_row(line) for line in batch])
            connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


def raw_latency(reports: Path, db: Path, synchronous: str, games: int) -> tuple[float, float, float]:
    """p50 ms, p99 ms and games/s when every game is its own transaction."""
    connection = open_raw_store(db, synchronous)

    def append_one(line: str) -> None:
        connection.execute("BEGIN")
        connection.execute(INSERT_EVENT, raw_event_row(line))
        connection.execute("COMMIT")

    try:
        started = time.perf_counter()
        p50, p99 = latency_percentiles(append_one, islice(read_lines(reports), games))
        return p50, p99, games / (time.perf_counter() - started)
    finally:
        connection.close()


# --- eventsourcing library -----------------------------------------------------------------------


def _on_pooled_connections(app: Any, *statements: str) -> set[tuple[Any, ...]]:
    """Run statements on every pooled connection (the pool hands them out in rotation).

    Returns the distinct combinations of the statements' first result columns across connections.
    """
    pool = app.factory.datastore.pool
    results = set()
    for _ in range(max(pool.num_in_pool, 1)):
        connection = pool.get_connection(is_writer=True)
        try:
            cursor = connection.cursor()
            row = []
            for sql in statements:
                cursor.execute(sql)
                row.append((cursor.fetchone() or [None])[0])
            results.add(tuple(row))
        finally:
            pool.put_connection(connection)
    return results


def eventsourcing_seconds(reports: Path, db: Path, synchronous: str) -> tuple[float, str]:
    """Seconds to save every report as a new `Game` aggregate, and the SQLite settings it ran with.

    The library opens SQLite in WAL mode itself but leaves `synchronous` at SQLite's default,
    so it is set to the benchmark's mode on its pooled connections to compare like with like.
    """
    game_class, app_class = eventsourcing_classes("install the 'bench' extra")
    app = app_class(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)})
    try:
        _on_pooled_connections(app, f"PRAGMA synchronous={synchronous}")
        started = time.perf_counter()
        for batch in batches(read_lines(reports), BATCH_SIZE):
            app.save(*(game_class(orjson.loads(line)) for line in batch))
        elapsed = time.perf_counter() - started
        settings = _on_pooled_connections(app, "PRAGMA journal_mode", "PRAGMA synchronous")
        described = sorted(f"journal={journal}, synchronous={SYNCHRONOUS_MODES[level]}" for journal, level in settings)
        return elapsed, "; ".join(described)
    finally:
        app.close()


# --- osmo CLI --------------------------------------------------------------------------------------


def _run_osmo(executable: Path, db: Path, synchronous: str, command: str, *args: str) -> str:
    environment = {**os.environ, "OSMO_SQLITE_SYNCHRONOUS": synchronous}
    try:
        completed = subprocess.run(
            [str(executable), "--db", str(db), command, *args],
            capture_output=True,
            text=True,
            check=False,
            env=environment,
        )
    except OSError as error:
        raise MethodUnavailable(str(error)) from error
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise MethodUnavailable(f"`osmo {command}` exited {completed.returncode}: {last_line}")
    return completed.stdout


def osmo_record_seconds(executable: Path, reports: Path, db: Path, games: int, synchronous: str) -> float:
    """Seconds for `osmo record` on a freshly initialised database, process start-up included."""
    if not executable.exists():
        raise MethodUnavailable(f"no console script at {executable}")
    _run_osmo(executable, db, synchronous, "init")
    started = time.perf_counter()
    output = _run_osmo(executable, db, synchronous, "record", str(reports), "--json")
    elapsed = time.perf_counter() - started
    try:
        summary = orjson.loads(output)
    except orjson.JSONDecodeError as error:
        raise MethodFailed(f"unparseable --json output: {output[:80]!r}") from error
    if summary.get("recorded") != games:
        raise MethodFailed(
            f"recorded {summary.get('recorded')} of {games} "
            f"(duplicates {summary.get('duplicates')}, rejected {len(summary.get('rejected', []))})"
        )
    return elapsed


def osmo_record_rusage(executable: Path, reports: Path, db: Path, synchronous: str
                       ) -> tuple[float, int, dict[str, Any]]:
    """Seconds, peak memory (bytes) and the --json summary of one `osmo record` of `reports` into `db`. The peak
    is the most the process and its worker processes held together (``tree_rss``, every 20 ms), or the process's
    own peak RSS when that is more."""
    environment = {**os.environ, "OSMO_SQLITE_SYNCHRONOUS": synchronous}
    started = time.perf_counter()
    peak = 0
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen([str(executable), "--db", str(db), "record", str(reports), "--json"],
                                   stdout=out, stderr=subprocess.DEVNULL, env=environment)
        while True:
            done, status, usage = os.wait4(process.pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if process.returncode != 0:
        raise MethodFailed(f"`osmo record` exited {process.returncode}")
    peak = max(peak, usage.ru_maxrss * 1024)
    summary = orjson.loads(output)
    summary["unlocked"] = len(summary.get("unlocked", []))
    return elapsed, peak, summary


def tree_rss(pid: int) -> int:
    """The memory (bytes) a process and its children hold together: the sum of their proportional set sizes
    (each page shared between them counted once, split between its sharers), from /proc; 0 where it cannot be
    read."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for process in (pid, *map(int, children)):
        try:
            rollup = Path(f"/proc/{process}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total


def measure_memory_of(run: Run, reports: Path, games: int) -> list[Outcome]:
    """Recording `reports` on a fresh store, then again (every report a duplicate): time and peak RSS."""
    if not run.osmo.exists():
        raise MethodUnavailable(f"no console script at {run.osmo}")
    db = run.workdir / "memory.db"
    try:
        _run_osmo(run.osmo, db, run.synchronous, "init")
        first, first_rss, summary = osmo_record_rusage(run.osmo, reports, db, run.synchronous)
        if summary.get("recorded") != games:
            raise MethodFailed(f"recorded {summary.get('recorded')} of {games}")
        again, again_rss, summary = osmo_record_rusage(run.osmo, reports, db, run.synchronous)
        if summary.get("duplicates") != games:
            raise MethodFailed(f"re-record found {summary.get('duplicates')} duplicates of {games}")
    finally:
        remove_database(db)
    mib = 2**20
    return [
        Outcome(f"osmo record, {games:,} reports", games, games / first,
                note=f"peak RSS {first_rss / mib:,.0f} MiB with its workers, {first:.1f} s, "
                     f"input {reports.stat().st_size / mib:,.0f} MiB"),
        Outcome(f"osmo re-record (all duplicates), {games:,}", games, games / again,
                note=f"peak RSS {again_rss / mib:,.0f} MiB, {again:.1f} s ({again / first:.2f}x the first record)"),
    ]


# --- orchestration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    reports: Path
    games: int
    workdir: Path
    synchronous: str
    repeat: int
    latency_games: int
    osmo: Path
    big_reports: Path | None = None


def best_on_fresh_databases(run: Run, name: str, timed: Callable[[Path], float]) -> float:
    """Best of `run.repeat` timings, each on a new database file that is deleted afterwards."""

    def attempt(number: int) -> float:
        db = run.workdir / f"{name}-{number}.db"
        try:
            return timed(db)
        finally:
            remove_database(db)

    return best_of(run.repeat, attempt)


def measure_raw(run: Run) -> Outcome:
    seconds = best_on_fresh_databases(run, "raw", lambda db: raw_append_seconds(run.reports, db, run.synchronous))
    return Outcome("raw SQLite append", run.games, run.games / seconds, note=f"{BATCH_SIZE} games/transaction")


def measure_eventsourcing(run: Run) -> Outcome:
    settings = ""

    def timed(db: Path) -> float:
        nonlocal settings
        seconds, settings = eventsourcing_seconds(run.reports, db, run.synchronous)
        return seconds

    seconds = best_on_fresh_databases(run, "eventsourcing", timed)
    note = f"{BATCH_SIZE} aggregates/save, {settings}"
    return Outcome("eventsourcing (SQLite)", run.games, run.games / seconds, note=note)


def measure_osmo(run: Run) -> Outcome:
    seconds = best_on_fresh_databases(
        run, "osmo", lambda db: osmo_record_seconds(run.osmo, run.reports, db, run.games, run.synchronous)
    )
    return Outcome(
        "osmo record (CLI)",
        run.games,
        run.games / seconds,
        note=f"includes process start-up, OSMO_SQLITE_SYNCHRONOUS={run.synchronous}",
    )


def measure_latency(run: Run) -> Outcome:
    db = run.workdir / "latency.db"
    try:
        p50, p99, games_per_s = raw_latency(run.reports, db, run.synchronous, run.latency_games)
    finally:
        remove_database(db)
    return Outcome(
        "raw SQLite append, 1 game/txn", run.latency_games, games_per_s, p50, p99, note="one commit per game"
    )


def _osmo_in_process(db: Path, synchronous: str) -> Any:
    from osmo.application.players import register_seed_players
    from osmo.bootstrap import bootstrap

    app = bootstrap(str(db), environ={**os.environ, "OSMO_SQLITE_SYNCHRONOUS": synchronous})
    register_seed_players(app.uow)
    return app


def measure_osmo_latency(run: Run) -> Outcome:
    """osmo's own path for one game per transaction: parse, check, append, project, evaluate, commit."""
    from osmo.adapters.report_fast import FastReportParser
    from osmo.application.recording import check_submission, record_checked

    db = run.workdir / "osmo-latency.db"
    try:
        app = _osmo_in_process(db, run.synchronous)
        catalog = app.uow.catalog()
        parser = FastReportParser(catalog, datetime.now(UTC))

        def append_one(line: str) -> None:
            outcome = check_submission(parser.parse_one(line, 1), catalog)
            record_checked(app.uow, catalog, [outcome])

        lines = list(islice(read_lines(run.reports), run.latency_games))
        started = time.perf_counter()
        p50, p99 = latency_percentiles(append_one, lines)
        games_per_s = len(lines) / (time.perf_counter() - started)
        app.close()
    finally:
        remove_database(db)
    return Outcome("osmo, 1 game/txn", len(lines), games_per_s, p50, p99, note="in-process, one commit per game")


def measure_phases(run: Run) -> Outcome:
    """Where osmo's time goes on the whole file, in one process: parse (JSON + format), validate (domain
    checks), fold/evaluate (careers projection and award policy), write (event append, SQL, commit)."""
    from osmo.adapters.report_json import ReportParser
    from osmo.application import award_policy, projections
    from osmo.application.recording import check_submission, record_checked

    db = run.workdir / "osmo-phases.db"
    spent = {"fold/evaluate": 0.0}
    originals = {cls: cls.handle for cls in (projections.CareersProjection, award_policy.AwardPolicy)}

    def timed(original: Callable[..., Any]) -> Callable[..., Any]:
        def handle(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args)
            finally:
                spent["fold/evaluate"] += time.perf_counter() - started
        return handle

    try:
        app = _osmo_in_process(db, run.synchronous)
        catalog = app.uow.catalog()
        parser = ReportParser(catalog)
        lines = list(read_lines(run.reports))
        started = time.perf_counter()
        parsed = [parser.parse_one(line, number) for number, line in enumerate(lines, 1)]
        spent["parse"] = time.perf_counter() - started
        started = time.perf_counter()
        outcomes = [check_submission(submission, catalog) for submission in parsed]
        spent["validate"] = time.perf_counter() - started
        for cls, original in originals.items():
            cls.handle = timed(original)  # type: ignore[method-assign]
        started = time.perf_counter()
        record_checked(app.uow, catalog, outcomes)
        spent["write"] = time.perf_counter() - started - spent["fold/evaluate"]
        app.close()
    finally:
        for cls, original in originals.items():
            cls.handle = original  # type: ignore[method-assign]
        remove_database(db)
    total = sum(spent.values())
    breakdown = ", ".join(f"{name} {seconds / run.games * 1e6:.0f} us" for name, seconds in spent.items())
    return Outcome("osmo phases (1 process)", run.games, run.games / total, note=f"per game: {breakdown}")


def measure_memory(run: Run) -> list[Outcome]:
    """Peak RSS and time of recording the run's reports and re-recording them (all duplicates), and the
    same for `--big-reports` (generated once if missing: `--big-games`, default 1,000,000)."""
    outcomes = measure_memory_of(run, run.reports, run.games)
    if run.big_reports is not None:
        outcomes += measure_memory_of(run, run.big_reports, count_lines(run.big_reports))
    return outcomes


METHODS: dict[str, tuple[str, Callable[[Run], Outcome | list[Outcome]]]] = {
    "raw": ("raw SQLite append", measure_raw),
    "eventsourcing": ("eventsourcing (SQLite)", measure_eventsourcing),
    "osmo": ("osmo record (CLI)", measure_osmo),
    "latency": ("raw SQLite append, 1 game/txn", measure_latency),
    "osmo-latency": ("osmo, 1 game/txn", measure_osmo_latency),
    "phases": ("osmo phases (1 process)", measure_phases),
    "memory": ("osmo record: peak RSS, duplicates", measure_memory),
}


def measure(method: str, run: Run) -> list[Outcome]:
    label, measure_method = METHODS[method]
    progress(f"{method}: measuring ...")
    try:
        measured = measure_method(run)
        outcomes = measured if isinstance(measured, list) else [measured]
    except MethodUnavailable as error:
        outcomes = [Outcome(label, run.games, note=f"not available ({error})")]
    except MethodFailed as error:
        outcomes = [Outcome(label, run.games, note=f"failed ({error})")]
    for outcome in outcomes:
        figure = f"{outcome.games_per_s:,.0f} games/s" if outcome.games_per_s else ""
        progress(f"{method}: {outcome.method}: {figure} {outcome.note}")
    return outcomes


# --- reports and output ----------------------------------------------------------------------------


def prepare_reports(path: Path | None, games: int | None, seed: int, workdir: Path) -> tuple[Path, int]:
    """An existing `path` is reused as is; otherwise reports are generated (into `path` if given)."""
    if path is not None and path.exists():
        found = count_lines(path)
        if games is not None and games != found:
            progress(f"--games {games} ignored: {path} holds {found} reports")
        return path, found
    target = path or workdir / "reports.jsonl"
    games = games or DEFAULT_GAMES
    started = time.perf_counter()
    generate_reports(target, games, seed)
    progress(f"generated {games:,} reports into {target} in {time.perf_counter() - started:.1f}s")
    return target, games


def _optional(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return value / baseline if value and baseline else None


def targets(outcomes: list[Outcome]) -> str:
    """The issue's SQLite targets, from this run: osmo record >= 1.0x eventsourcing and >= 1/3 of raw."""
    rate = {o.method: o.games_per_s for o in outcomes}
    osmo, es, raw = rate.get(METHODS["osmo"][0]), rate.get(METHODS["eventsourcing"][0]), rate.get(METHODS["raw"][0])
    if not osmo:
        return ""
    lines = ["targets (osmo record, same run):"]
    if es:
        verdict = "met" if osmo >= es else "MISSED"
        lines.append(f"  vs eventsourcing: {osmo / es:.2f}x (target >= 1.00x): {verdict}")
    if raw:
        verdict = "met" if 3 * osmo >= raw else "MISSED"
        lines.append(f"  vs raw executemany: {osmo / raw:.2f} (target >= 0.33): {verdict}")
    lines.append(f"  floor 12,000 games/s: {osmo:,.0f} {'met' if osmo >= 12_000 else 'MISSED'}")
    return "\n".join(lines) + "\n\n"


def render_table(outcomes: list[Outcome], machine: dict[str, str]) -> str:
    baseline = next((o.games_per_s for o in outcomes if o.method == METHODS["raw"][0]), None)
    es = next((o.games_per_s for o in outcomes if o.method == METHODS["eventsourcing"][0]), None)
    rows = [
        [
            outcome.method,
            f"{outcome.games:,}",
            _optional(outcome.games_per_s, ",.0f"),
            _optional(_ratio(outcome.games_per_s, baseline), ".2f"),
            _optional(_ratio(outcome.games_per_s, es), ".2f"),
            _optional(outcome.p50_ms, ".3f"),
            _optional(outcome.p99_ms, ".3f"),
            outcome.note,
        ]
        for outcome in outcomes
    ]
    headers = ["method", "games", "games/s", "vs raw", "vs es", "p50 ms", "p99 ms", "notes"]
    table = format_table(headers, rows, right_aligned={1, 2, 3, 4, 5, 6})
    width = max(map(len, machine))
    details = "\n".join(f"{key.ljust(width)}  {value}" for key, value in machine.items())
    return f"{table}\n\n{targets(outcomes)}{details}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=at_least(2), help=f"reports to generate (default {DEFAULT_GAMES:,})")
    parser.add_argument("--reports", type=Path, help="JSON Lines file to reuse, or to generate if missing")
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the generated reports")
    parser.add_argument("--repeat", type=at_least(1), default=1, help="runs per method; the best counts")
    parser.add_argument(
        "--synchronous", type=str.upper, choices=SYNCHRONOUS_MODES, default="FULL", help="SQLite synchronous"
    )
    parser.add_argument("--latency-games", type=at_least(2), default=2000, help="games appended one per transaction")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="what to measure")
    parser.add_argument("--workdir", type=Path, help="where the temporary databases go (default: system temp)")
    parser.add_argument("--osmo", type=Path, default=Path(sys.executable).with_name("osmo"), help="osmo console script")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--big-reports", type=Path,
                        help="a large JSON Lines file for the memory method (generated there once if missing)")
    parser.add_argument("--big-games", type=at_least(2), default=1_000_000,
                        help="reports in --big-reports if generated")
    return parser.parse_args(argv)


def at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="osmo-bench-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        reports, games = prepare_reports(args.reports, args.games, args.seed, workdir)
        run = Run(
            reports=reports,
            games=games,
            workdir=workdir,
            synchronous=args.synchronous,
            repeat=args.repeat,
            latency_games=min(args.latency_games, games),
            osmo=args.osmo,
            big_reports=prepare_reports(args.big_reports, args.big_games, args.seed, workdir)[0]
            if args.big_reports is not None and "memory" in args.methods else None,
        )
        outcomes = [outcome for method in args.methods for outcome in measure(method, run)]
        machine = machine_info(workdir, args.synchronous)
    if args.json:
        settings = {
            "games": games,
            "repeat": args.repeat,
            "batch_size": BATCH_SIZE,
            "latency_games": run.latency_games,
            "seed": args.seed,
        }
        figures = {"machine": machine, "settings": settings, "results": [asdict(o) for o in outcomes]}
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    else:
        print(render_table(outcomes, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
