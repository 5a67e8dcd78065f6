"""HTTP benchmark: ``osmo serve`` on a fresh SQLite store.

1. ``GET /v1/players/{player}`` at a steady rate (500 req/s) from a separate load process: latency p50/p99,
   measured from when each request was due (an open loop: a slow answer delays no later request).
2. ``POST /v1/games`` in batches of 100 against ``osmo record`` of the same reports (a fresh store each),
   in the same run: games per second and the ratio.
3. SSE delay: one game posted at a time while a client follows ``/v1/events``; from the POST being sent to
   its GameRecorded event being received: p50/p99.

    python benchmarks/http.py                 # 20,000 games, 20 s of reads
    python benchmarks/http.py --smoke         # a few seconds, for CI
"""

# ruff: noqa: E402 (the standard library must be imported before this folder is put back on sys.path)
from __future__ import annotations

import sys

# This file is http.py: its folder, first on sys.path, would shadow the standard library's http package.
_HERE = sys.path.pop(0)

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import subprocess
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.append(_HERE)
from _common import GAMES_END, LONGEST_GAP, PLAYERS, batches, game_report, generate_reports, progress, read_lines

BIN = Path(sys.executable).parent
OSMO = str(BIN / "osmo")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _osmo(db: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([OSMO, "--db", db, *args], input=stdin, check=True, capture_output=True)


def _key(db: str) -> str:
    code = ("from osmo.bootstrap import bootstrap; from osmo.application.api_keys import create_key; "
            f"a = bootstrap({db!r}); print(create_key(a.uow, 'bench', 'admin')[1]); a.close()")
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


class Served:
    def __init__(self, db: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([OSMO, "--db", db, "serve", "--http", f"127.0.0.1:{self.port}",
                                         "--body-limit", "50000000"], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("osmo serve did not start")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)


# -- 1. steady reads ------------------------------------------------------------------------------

def _load(url: str, rate: int, seconds: float, players: list[str], out: Any) -> None:
    """The load process: ``rate`` GETs per second, each due at its time, latencies from the due time."""

    async def run() -> list[float]:
        latencies: list[float] = []
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
            start = time.perf_counter() + 0.2
            tasks = []

            async def one(due: float, player: str) -> None:
                answer = await client.get(f"/v1/players/{player}")
                answer.raise_for_status()
                latencies.append(time.perf_counter() - due)

            for i in range(int(rate * seconds)):
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(due, players[i % len(players)])))
            await asyncio.gather(*tasks)
        return latencies

    out.put(asyncio.run(run()))


def steady_reads(url: str, rate: int, seconds: float) -> dict[str, float]:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_load, args=(url, rate, seconds, list(PLAYERS),
                                                                                queue))
    process.start()
    latencies = sorted(queue.get())
    process.join()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "rate": rate, "p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2),
            "max_ms": round(latencies[-1] * 1000, 2)}


# -- 2. posting batches vs osmo record --------------------------------------------------------------

def post_batches(url: str, key: str, reports: Path) -> float:
    lines = list(read_lines(reports))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        started = time.perf_counter()
        for batch in batches(lines, 100):
            answer = client.post("/v1/games", content="\n".join(batch).encode(),
                                 headers={"Content-Type": "application/x-ndjson"})
            if answer.status_code != 201:
                raise RuntimeError(f"POST /v1/games: {answer.status_code} {answer.text[:300]}")
        return time.perf_counter() - started


def record_cli(folder: Path, reports: Path) -> float:
    db = str(folder / "record.db")
    _osmo(db, "init")
    started = time.perf_counter()
    _osmo(db, "record", str(reports))
    return time.perf_counter() - started


# -- 3. SSE delay ---------------------------------------------------------------------------------

def sse_delay(url: str, key: str, games: int) -> dict[str, float]:
    received: dict[str, float] = {}
    ready = threading.Event()

    def follow() -> None:
        with httpx.Client(base_url=url, timeout=60) as client, client.stream(
                "GET", "/v1/events", params={"types": "GameRecorded"}) as stream:
            ready.set()
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    received[orjson.loads(line[6:])["data"]["game_id"]] = time.perf_counter()
                    if len(received) == games:
                        return

    listener = threading.Thread(target=follow, daemon=True)
    listener.start()
    ready.wait(10)
    time.sleep(0.3)
    rng = random.Random(99)
    started_at = GAMES_END - timedelta(days=400)
    sent: dict[str, float] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for number in range(games):
            report = game_report(rng, 10_000_000 + number, started_at + number * LONGEST_GAP, 20 * 60)
            sent[report["game_id"]] = time.perf_counter()
            client.post("/v1/games", json=report).raise_for_status()
            time.sleep(0.01)
    listener.join(30)
    delays = sorted((received[g] - t) * 1000 for g, t in sent.items() if g in received)
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]  # noqa: E731
    return {"games": len(delays), "p50_ms": round(pick(0.5), 2), "p99_ms": round(pick(0.99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--sse-games", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.games, args.seconds, args.sse_games = 1000, 2.0, 30
    results: dict[str, Any] = {"games": args.games}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reports = folder / "reports.jsonl"
        generate_reports(reports, args.games, seed=1)
        progress(f"osmo record of {args.games} games")
        cli_s = record_cli(folder, reports)
        db = str(folder / "serve.db")
        _osmo(db, "init")
        key = _key(db)
        served = Served(db)
        try:
            progress(f"POST /v1/games, {args.games} games in batches of 100")
            http_s = post_batches(served.url, key, reports)
            results["post_games"] = {"http_games_per_s": round(args.games / http_s), "record_games_per_s":
                                     round(args.games / cli_s), "ratio": round(cli_s / http_s, 2)}
            progress(f"GET /v1/players/{{player}} at {args.rate}/s for {args.seconds} s")
            results["get_profile"] = steady_reads(served.url, args.rate, args.seconds)
            progress(f"SSE delay over {args.sse_games} games")
            results["sse_delay"] = sse_delay(served.url, key, args.sse_games)
        finally:
            served.close()
    results["cpus"] = os.cpu_count()
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
