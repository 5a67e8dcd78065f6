"""NATS benchmark: game reports end to end through JetStream, and the latency of a live unlock.

In the same run, for SQLite and PostgreSQL (each in a fresh store), with a nats-server of its own (fresh
JetStream directory per measurement):

- ``osmo record`` of N reports (the CLI process, start-up included): the reference;
- N reports published to ``osmo.reports.bench`` (one per message, ``Nats-Msg-Id`` = game id) with one and
  with two ``osmo serve`` processes consuming: reports/s from the first publish until the store holds all
  N games, and the ratio to ``osmo record``;
- latency from publishing a report to receiving its first ``AwardUnlocked`` event (and its ``GameRecorded``
  event, which every report has) on ``osmo.events.>``, p50 and p99, with reports published at a steady
  rate (200/s) to one ``osmo serve`` process.

    python benchmarks/nats.py                    # 20,000 reports, 15 s of steady load
    python benchmarks/nats.py --reports 200      # smoke run (a few seconds per backend)

PostgreSQL comes from --pg, else OSMO_BENCH_PG, else OSMO_TEST_PG, else the local default; --backends
sqlite skips it. nats-server must be on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg

from _common import generate_reports, progress, read_lines

ROOT = Path(__file__).resolve().parents[1]


def _nats_client() -> Any:
    """The nats-py package (this script is named nats.py too: look past its own folder)."""
    here = str(Path(__file__).resolve().parent)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if p not in ("", here) and Path(p or ".").resolve() != Path(here)]
    try:
        sys.modules.pop("nats", None)
        return importlib.import_module("nats")
    finally:
        sys.path[:] = saved


nats = _nats_client()
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- the pieces: nats-server, stores, osmo processes -------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def nats_server() -> Iterator[str]:
    binary = shutil.which("nats-server")
    if binary is None:
        sys.exit("nats-server is not on PATH")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="osmo-bench-js-") as store:
        process = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield f"nats://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


@contextmanager
def fresh_store(backend: str, pg_url: str, workdir: Path) -> Iterator[str]:
    """A new, initialised osmo store: a SQLite file or a PostgreSQL schema (dropped afterwards)."""
    if backend == "sqlite":
        path = workdir / f"{uuid.uuid4().hex[:8]}.db"
        osmo(str(path), "init")
        yield str(path)
        return
    schema = f"osmo_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{separator}options=-csearch_path%3D{schema}"
    try:
        osmo(url, "init")
        yield url
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def osmo(db: str, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "osmo", "--db", db, *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


class Serve:
    def __init__(self, db: str, url: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "osmo", "--db", db, "serve", "--nats", url,
                                         "--no-http"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(30):
            self.process.kill()
            raise RuntimeError("osmo serve did not start")

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if line.startswith(b"osmo serving"):
                self.ready.set()
            elif b"Traceback" in line or b"error" in line.lower():
                sys.stderr.write("serve: " + line.decode(errors="replace"))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class GameCounter:
    def __init__(self, db: str) -> None:
        from osmo.bootstrap import bootstrap

        self.app = bootstrap(db)

    def __call__(self) -> int:
        from osmo.application.backfill import total_games

        return total_games(self.app.uow)

    def close(self) -> None:
        self.app.close()


# -- measurements -------------------------------------------------------------------------------------

def osmo_record(db: str, path: Path) -> float:
    started = time.perf_counter()
    osmo(db, "record", str(path))
    return time.perf_counter() - started


async def publish_all(url: str, lines: list[bytes]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=4000)
    for line in lines:
        game_id = orjson.loads(line)["game_id"]
        await js.publish_async("osmo.reports.bench", line, headers={"Nats-Msg-Id": game_id})
    await js.publish_async_completed()
    await nc.close()


def through_jetstream(db: str, lines: list[bytes], processes: int) -> float:
    """Seconds from the first publish until the store holds every game."""
    with nats_server() as url:
        serves = [Serve(db, url) for _ in range(processes)]
        counter = GameCounter(db)
        try:
            started = time.perf_counter()
            publisher = threading.Thread(target=asyncio.run, args=(publish_all(url, lines),))
            publisher.start()
            while counter() < len(lines):
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            publisher.join()
            return elapsed
        finally:
            counter.close()
            for serve in serves:
                serve.stop()


async def steady_latency(url: str, lines: list[bytes], rate: float) -> dict[str, list[float]]:
    """Publish at ``rate`` reports/s; per event type (GameRecorded, AwardUnlocked), the delay in ms from a
    report's publish to the first such event of its game received on ``osmo.events.>``."""
    nc = await nats.connect(url)
    sent: dict[str, float] = {}
    delays: dict[str, dict[str, float]] = {"GameRecorded": {}, "AwardUnlocked": {}}

    async def received(msg: Any) -> None:
        event = orjson.loads(msg.data)
        seen = delays.get(event["type"])
        game_id = event["data"].get("game_id")
        if seen is not None and game_id in sent and game_id not in seen:
            seen[game_id] = (time.perf_counter() - sent[game_id]) * 1000

    subscription = await nc.subscribe("osmo.events.>", cb=received)
    js = nc.jetstream()
    start = time.perf_counter()
    for number, line in enumerate(lines):
        await asyncio.sleep(max(0.0, start + number / rate - time.perf_counter()))
        game_id = orjson.loads(line)["game_id"]
        sent[game_id] = time.perf_counter()
        await js.publish("osmo.reports.bench", line, headers={"Nats-Msg-Id": game_id})
    await asyncio.sleep(2)
    await subscription.unsubscribe()
    await nc.close()
    return {kind: sorted(values.values()) for kind, values in delays.items()}


def percentiles(delays: list[float]) -> tuple[float, float, int]:
    if not delays:
        return float("nan"), float("nan"), 0
    p99 = delays[min(len(delays) - 1, round(0.99 * (len(delays) - 1)))]
    return round(statistics.median(delays), 1), round(p99, 1), len(delays)


def latency(db: str, lines: list[bytes], rate: float) -> dict[str, tuple[float, float, int]]:
    with nats_server() as url:
        serve = Serve(db, url)
        try:
            delays = asyncio.run(steady_latency(url, lines, rate))
        finally:
            serve.stop()
    return {kind: percentiles(values) for kind, values in delays.items()}


# -- the run ----------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="osmo-bench-nats-") as tmp:
        workdir = Path(tmp)
        path = workdir / "reports.jsonl"
        generate_reports(path, args.reports, args.seed)
        lines = [line.encode() for line in read_lines(path)]
        steady_count = max(1, int(args.rate * args.steady_seconds))
        steady_path = workdir / "steady.jsonl"
        generate_reports(steady_path, steady_count, args.seed + 1)
        steady = [line.encode() for line in read_lines(steady_path)]
        for backend in args.backends:
            progress(f"{backend}: osmo record of {len(lines)} reports")
            with fresh_store(backend, args.pg, workdir) as db:
                record_s = osmo_record(db, path)
            row: dict[str, Any] = {"backend": backend, "reports": len(lines),
                                   "osmo_record_per_s": round(len(lines) / record_s)}
            for processes in (1, 2):
                progress(f"{backend}: {len(lines)} reports through JetStream, {processes} serve process(es)")
                with fresh_store(backend, args.pg, workdir) as db:
                    seconds = through_jetstream(db, lines, processes)
                row[f"jetstream_{processes}_per_s"] = round(len(lines) / seconds)
                row[f"ratio_{processes}"] = round(record_s / seconds, 2)
            progress(f"{backend}: latency at {args.rate:g} reports/s for {args.steady_seconds:g} s")
            with fresh_store(backend, args.pg, workdir) as db:
                measured = latency(db, steady, args.rate)
            for kind, short in (("AwardUnlocked", "unlock"), ("GameRecorded", "game")):
                p50, p99, samples = measured[kind]
                row.update({f"{short}_p50_ms": p50, f"{short}_p99_ms": p99, f"{short}_samples": samples})
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=20_000, help="reports for the throughput runs")
    parser.add_argument("--rate", type=float, default=200.0, help="reports/s of the latency run")
    parser.add_argument("--steady-seconds", type=float, default=None,
                        help="length of the latency run (default 15 s, 2 s when --reports < 1000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--backends", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    parser.add_argument("--pg", default=os.environ.get("OSMO_BENCH_PG") or os.environ.get("OSMO_TEST_PG")
                        or DEFAULT_PG, help="PostgreSQL server (a throwaway schema is used)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.steady_seconds is None:
        args.steady_seconds = 2.0 if args.reports < 1000 else 15.0
    results = run(args)
    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"{'backend':10} {'reports':>8} {'osmo record/s':>14} {'1 serve/s':>10} {'ratio':>6} {'2 serves/s':>11} "
          f"{'ratio':>6} | publish -> AwardUnlocked p50/p99 ms (n) | publish -> GameRecorded p50/p99 ms (n)")
    for r in results:
        print(f"{r['backend']:10} {r['reports']:>8} {r['osmo_record_per_s']:>14} {r['jetstream_1_per_s']:>10} "
              f"{r['ratio_1']:>6} {r['jetstream_2_per_s']:>11} {r['ratio_2']:>6} | "
              f"{r['unlock_p50_ms']} / {r['unlock_p99_ms']} ({r['unlock_samples']}) | "
              f"{r['game_p50_ms']} / {r['game_p99_ms']} ({r['game_samples']})")

if __name__ == "__main__":
    main()
