"""Helpers shared by the osmo benchmarks: synthetic game reports, timing, machine description."""

from __future__ import annotations

import importlib
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson

PLAYERS = (
    "thrall",
    "rexxar",
    "guldan",
    "malfurion",
    "garrosh",
    "uther",
    "anduin",
    "valeera",
    "morgl",
    "medivh",
)
GAMES_END = datetime(2026, 1, 1, tzinfo=UTC)
"""Every generated game finishes before this moment: osmo refuses reports dated in the future."""
LONGEST_GAP = timedelta(seconds=30 * 60 + 300)
"""The most a generated game moves the clock: its longest duration plus the longest break after it."""
MODES = ("ranked", "casual")
GAME_NAMESPACE = uuid.UUID("3f0c5a56-5b8e-4c61-9d3e-0b6f4f1d2a77")

T = TypeVar("T")


class MethodUnavailable(Exception):
    """The method cannot run here (missing package or command)."""


class MethodFailed(Exception):
    """The method ran but its result is wrong."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _player_stats(rng: random.Random, duration: int) -> dict[str, int]:
    attempted_attacks = rng.randint(10, 80)
    hits = rng.randint(0, attempted_attacks)
    kills = rng.randint(0, 12)
    spells_cast = rng.randint(0, 20)
    return {
        "attempted_attacks": attempted_attacks,
        "hits": hits,
        "damage_done": hits * rng.randint(5, 20),
        "kills": kills,
        "first_hit_kills": rng.randint(0, kills),
        "assists": rng.randint(0, 10),
        "spells_cast": spells_cast,
        "spell_damage": spells_cast * rng.randint(0, 40),
        "time_played": rng.randint(duration // 2, duration),
        "headshots": rng.randint(0, hits),
        "deaths": rng.randint(0, 10),
    }


def game_report(rng: random.Random, number: int, started: datetime, duration: int) -> dict[str, Any]:
    """A valid report for game `g-<number>`, two teams of 3 to 5 distinct players."""
    team_size = rng.randint(3, 5)
    players = rng.sample(PLAYERS, 2 * team_size)
    teams = [
        [{"player_id": player, "stats": _player_stats(rng, duration)} for player in side]
        for side in (players[:team_size], players[team_size:])
    ]
    return {
        "game_id": f"g-{number}",
        "started_at": _timestamp(started),
        "finished_at": _timestamp(started + timedelta(seconds=duration)),
        "winner": rng.randint(0, 1),
        "teams": teams,
        "metadata": {"mode": rng.choice(MODES)},
    }


def generate_reports(path: Path, games: int, seed: int) -> None:
    """Write `games` reports as JSON Lines; games are played back to back, so both timestamps increase.

    The first game starts early enough for the last one to finish before `GAMES_END`, in the past.
    """
    rng = random.Random(seed)
    started = GAMES_END - games * LONGEST_GAP
    with path.open("wb") as out:
        for number in range(1, games + 1):
            duration = rng.randint(15 * 60, 30 * 60)
            out.write(orjson.dumps(game_report(rng, number, started, duration)) + b"\n")
            started += timedelta(seconds=duration + rng.randint(1, 300))


def read_lines(path: Path) -> Iterator[str]:
    """The report lines of a JSON Lines file, without line terminators."""
    with path.open(encoding="utf-8") as reports:
        for line in reports:
            yield line.rstrip("\n")


def count_lines(path: Path) -> int:
    with path.open("rb") as reports:
        return sum(1 for _ in reports)


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def best_of(repeat: int, run: Callable[[int], float]) -> float:
    """The shortest of `repeat` timings; `run` receives the attempt number and returns seconds."""
    return min(run(attempt) for attempt in range(repeat))


def latency_percentiles(append_one: Callable[[str], None], lines: Iterable[str]) -> tuple[float, float]:
    """p50 and p99 wall-clock latency in milliseconds of `append_one`, called once per report line."""
    latencies_ms = []
    for line in lines:
        started = time.perf_counter_ns()
        append_one(line)
        latencies_ms.append((time.perf_counter_ns() - started) / 1e6)
    if len(latencies_ms) < 2:
        raise ValueError("latency_percentiles needs at least two reports")
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return cuts[49], cuts[98]


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _filesystem(path: Path) -> str:
    """Type and device of the mount holding `path` (fsync cost depends on it)."""
    target = str(path.resolve())
    best = ("", "unknown", "unknown")
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                device, mount_point, fs_type = line.split()[:3]
                inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= len(best[0]):
                    best = (mount_point, fs_type, device)
    except OSError:
        pass
    return f"{best[1]} ({best[2]})"


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_info(workdir: Path, synchronous: str) -> dict[str, str]:
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": _package_version("eventsourcing"),
        "filesystem": _filesystem(workdir),
        "synchronous": synchronous,
    }


def format_table(headers: list[str], rows: list[list[str]], right_aligned: set[int]) -> str:
    widths = [max(len(row[column]) for row in [headers, *rows]) for column in range(len(headers))]

    def render(row: list[str]) -> str:
        cells = (
            cell.rjust(width) if column in right_aligned else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(headers), rule, *(render(row) for row in rows)])


def eventsourcing_classes(install_hint: str, *requires: str) -> tuple[type[Any], type[Any]]:
    """The `eventsourcing` model of the benchmarks, one `Game` aggregate per game: (Game, GameArchive).

    Imported lazily because eventsourcing is an optional extra; `requires` names further modules the
    persistence needs. Raises MethodUnavailable, with `install_hint`, when one is missing.
    """
    try:
        for module in requires:
            importlib.import_module(module)
        return _eventsourcing_classes()
    except ImportError as error:
        raise MethodUnavailable(f"{error}; {install_hint}") from error


@cache
def _eventsourcing_classes() -> tuple[type[Any], type[Any]]:
    """Defined once: the library registers classes by topic."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate

    class Game(Aggregate):
        @staticmethod
        def create_id(report: dict[str, Any]) -> uuid.UUID:
            return uuid.uuid5(GAME_NAMESPACE, report["game_id"])

        def __init__(self, report: dict[str, Any]) -> None:
            self.report = report

    class GameArchive(Application[uuid.UUID]):
        pass

    return Game, GameArchive
