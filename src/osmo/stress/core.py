"""The open-loop run: simulated reports sent at scheduled times by K game servers, what came back for each,
the consistency check, and the ramp that looks for the highest rate under a latency bound.

Open loop: game ``i`` of a step at rate R is due at ``start + i / R`` whatever happened to the others, and
its latency counts from that due time, so a slow service shows as latency (coordinated omission avoided).
Server ``k`` of K sends games ``k, k + K, ...`` one after the other (as a game server would), so a server
whose previous send is still pending sends late and that delay is part of the latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from osmo.bootstrap import App
from osmo.simulation import Simulator
from osmo.stress.check import Consistency, check_consistency
from osmo.stress.drivers import Driver

PERCENTILES = (50, 90, 99)


@dataclass
class Plan:
    via: str
    rate: float
    servers: int = 4
    n: int | None = None
    duration: float | None = 10.0
    seed: int | None = None
    players: int = 100
    drain: float = 30.0
    """Seconds to wait after the last send for what is still pending."""
    ramp: bool = False
    p99_ms: float = 50.0
    step_s: float = 5.0
    ramp_factor: float = 1.5
    max_rate: float = 2000.0
    warmup: float = 1.0
    """Seconds sent at the first rate before measuring (connections, caches, JIT of the store): those games
    are checked like the others but left out of the latency figures and the ramp."""

    def games_at(self, rate: float, seconds: float | None, n: int | None) -> int:
        return n if n is not None else max(1, math.ceil(rate * (seconds or 0)))


@dataclass
class Game:
    index: int
    game_id: str
    step: int
    due: float
    body: bytes = b""
    sent: float | None = None
    recorded: float | None = None
    unlocks: list[tuple[str, str, float]] = field(default_factory=list)
    warmup: bool = False


@dataclass
class Step:
    """One rate of a run (a plain run has one; a ramp one per rate tried)."""

    rate: float
    first: int
    count: int
    start: float = 0.0
    end: float = 0.0
    sent: int = 0
    recorded: int = 0
    errors: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    achieved: float = 0.0
    warmup: bool = False

    @property
    def sustained(self) -> bool:
        return self.errors == 0 and self.recorded == self.count and self.achieved >= 0.9 * self.rate

    def passes(self, p99_ms: float) -> bool:
        return self.sustained and self.latency_ms.get("p99", math.inf) <= p99_ms


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    array = np.asarray(values, dtype=float)
    found = {f"p{p}": round(float(np.percentile(array, p)), 2) for p in PERCENTILES}
    found["max"] = round(float(array.max()), 2)
    return found


@dataclass
class StressResult:
    plan: Plan
    players: list[tuple[str, str]]
    games: list[Game]
    steps: list[Step]
    errors: Counter[str]
    started_at: datetime
    elapsed: float
    consistency: Consistency | None = None
    knee: float | None = None

    @property
    def sent(self) -> int:
        return sum(1 for g in self.games if g.sent is not None)

    @property
    def recorded(self) -> int:
        return sum(1 for g in self.games if g.recorded is not None)

    @property
    def measured(self) -> list[Game]:
        """The games of the run but the warm-up's."""
        return [g for g in self.games if not g.warmup]

    @property
    def measured_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.warmup]

    def record_latencies(self) -> list[float]:
        return [(g.recorded - g.due) * 1000 for g in self.measured if g.recorded is not None]

    def unlock_latencies(self) -> list[float]:
        return [(at - g.due) * 1000 for g in self.measured for _, _, at in g.unlocks]

    @property
    def unlocks_seen(self) -> int:
        return sum(len(g.unlocks) for g in self.games)

    def summary(self) -> dict[str, Any]:
        measured = self.measured
        first = min((g.due for g in measured), default=0.0)
        last = max((g.recorded for g in measured if g.recorded is not None), default=first)
        span = max(last - first, 1e-9)
        recorded = sum(1 for g in measured if g.recorded is not None)
        summary: dict[str, Any] = {
            "via": self.plan.via, "servers": self.plan.servers, "sent": self.sent, "recorded": self.recorded,
            "warmup_games": len(self.games) - len(measured),
            "rate": self.plan.rate, "achieved_rate": round(recorded / span, 2),
            "duration_s": round(self.elapsed, 2),
            "latency_ms": percentiles(self.record_latencies()),
            "unlock_latency_ms": percentiles(self.unlock_latencies()),
            "unlocks_seen": self.unlocks_seen,
            "unlocks_stored": self.consistency.store_unlocks if self.consistency else None,
            "errors": sum(self.errors.values()), "errors_by_kind": dict(self.errors),
            "consistent": self.consistency.consistent if self.consistency else None,
        }
        if self.plan.ramp:
            summary["ramp"] = {"p99_ms": self.plan.p99_ms, "knee_rate": self.knee,
                               "steps": [{"rate": s.rate, "achieved": s.achieved, "sent": s.sent,
                                          "recorded": s.recorded, "errors": s.errors,
                                          "latency_ms": s.latency_ms, "passed": s.passes(self.plan.p99_ms)}
                                         for s in self.measured_steps]}
        return summary


class _Tracker:
    """The games of the run by id; what the drivers see lands here (unknown ids are other traffic)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Game] = {}
        self.errors: Counter[str] = Counter()
        self.failed: set[str] = set()
        self.changed = asyncio.Event()

    def recorded(self, game_id: str, at: float) -> None:
        game = self.by_id.get(game_id)
        if game is not None and game.recorded is None:
            game.recorded = at
            self.changed.set()

    def unlocked(self, game_id: str, player_id: str, award: str, at: float) -> None:
        game = self.by_id.get(game_id)
        if game is not None:
            game.unlocks.append((player_id, award, at))
            self.changed.set()

    def error(self, game_id: str, kind: str) -> None:
        self.errors[kind] += 1
        self.failed.add(game_id)


class _Reports:
    """Simulated reports, shifted so that each finishes the moment it is sent (keeping its duration)."""

    def __init__(self, seed: int | None, player_ids: list[str]) -> None:
        self.simulator = Simulator(seed, player_ids)

    def make(self, n: int) -> list[dict[str, Any]]:
        return list(self.simulator.games(n, datetime.now(UTC)))  # type: ignore[arg-type]

    @staticmethod
    def body(report: dict[str, Any]) -> bytes:
        started = datetime.fromisoformat(report["started_at"])
        finished = datetime.fromisoformat(report["finished_at"])
        now = datetime.now(UTC).replace(microsecond=0)
        report = {**report, "finished_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "started_at": (now - (finished - started)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        return orjson.dumps(report)


Progress = Callable[[int, int, int], None]
"""Called with (games planned so far, sent, recorded) while the run goes."""


async def _run_step(driver: Driver, tracker: _Tracker, step: Step, games: list[Game], reports: list[dict[str, Any]],
                    servers: int, drain: float, progress: Progress | None, planned: int) -> None:
    step.start = time.monotonic() + 0.05
    for game in games:
        game.due = step.start + (game.index - step.first) / step.rate

    async def server(k: int) -> None:
        for game in games[k::servers]:
            delay = game.due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            game.body = _Reports.body(reports[game.index - step.first])
            game.sent = time.monotonic()
            try:
                await driver.send(k, game.game_id, game.body)
            except Exception as error:  # every failure is counted by kind, the run goes on
                tracker.error(game.game_id, type(error).__name__)

    async def report_progress() -> None:
        while progress is not None:
            progress(planned, sum(1 for g in tracker.by_id.values() if g.sent is not None),
                     sum(1 for g in tracker.by_id.values() if g.recorded is not None))
            await asyncio.sleep(0.2)

    ticker = asyncio.create_task(report_progress())
    try:
        await asyncio.gather(*(server(k) for k in range(servers)))
        deadline = time.monotonic() + drain
        while any(g.recorded is None and g.game_id not in tracker.failed for g in games) \
                and time.monotonic() < deadline:
            tracker.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tracker.changed.wait(), 0.2)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    recorded = [g for g in games if g.recorded is not None]
    step.end = max((g.recorded for g in recorded if g.recorded is not None), default=time.monotonic())
    step.sent = sum(1 for g in games if g.sent is not None)
    step.recorded = len(recorded)
    step.errors = step.count - step.recorded
    step.latency_ms = percentiles([(g.recorded - g.due) * 1000 for g in recorded if g.recorded is not None])
    span = max(step.end - step.start, step.count / step.rate)
    step.achieved = round(step.recorded / span, 2)
    if progress is not None:
        progress(planned, sum(1 for g in tracker.by_id.values() if g.sent is not None),
                 sum(1 for g in tracker.by_id.values() if g.recorded is not None))


def _ramp_rates(plan: Plan) -> list[float]:
    rates, rate = [], plan.rate
    while rate <= plan.max_rate:
        rates.append(round(rate, 1))
        rate *= plan.ramp_factor
    return rates or [plan.max_rate]


async def run_stress(plan: Plan, app: App, driver: Driver, progress: Progress | None = None,
                     register: Callable[[list[tuple[str, str]]], None] | None = None,
                     check: bool = True) -> StressResult:
    """Register the run's players in the store of ``app``, send, drain, check. ``register`` registers the
    players elsewhere (the default: in the store of ``app``, through the use case)."""
    from osmo.application.players import register_players

    tag = f"{time.time_ns() // 1_000_000 % 10**10:010d}"[-7:]
    players = [(f"st{tag}-{i:04d}", f"Stress {tag} {i}") for i in range(plan.players)]
    (register or (lambda pairs: register_players(app.uow, pairs)))(players)
    with app.uow.read() as reader:
        after = reader.tx.events.last_position()
    source = _Reports(plan.seed, [pid for pid, _ in players])
    tracker = _Tracker()
    started_at, t0 = datetime.now(UTC), time.monotonic()
    games: list[Game] = []
    steps: list[Step] = []
    await driver.start(tracker, after)
    try:
        if plan.warmup > 0:
            warm = await _one_step(plan, driver, tracker, source, games, steps, plan.rate,
                                   max(10, math.ceil(plan.rate * plan.warmup)), progress, warmup=True)
            warm.warmup = True
        if plan.ramp:
            rates = _ramp_rates(plan)
            passed: float | None = None
            failed: float | None = None
            tried = 0
            while rates and tried < 20:
                rate = rates.pop(0)
                tried += 1
                step = await _one_step(plan, driver, tracker, source, games, steps, rate,
                                       plan.games_at(rate, plan.step_s, None), progress)
                if step.passes(plan.p99_ms):
                    passed = max(passed or 0.0, rate)
                else:
                    failed = rate if failed is None else min(failed, rate)
                    # refine once or twice between the last rate that held and the first that did not
                    rates = [] if passed is None or failed - passed < max(1.0, 0.1 * passed) \
                        else [round((passed + failed) / 2, 1)]
            knee = passed
        else:
            n = plan.games_at(plan.rate, plan.duration, plan.n)
            await _one_step(plan, driver, tracker, source, games, steps, plan.rate, n, progress)
            knee = None
    except BaseException:
        await driver.close()
        raise
    consistency = None
    if check:
        try:
            sent = {g.game_id: g.body for g in games if g.body}
            consistency = await asyncio.to_thread(check_consistency, app, sent, players)
            # unlocks arrive on the live feeds after their game: wait until every stored one was seen
            deadline = time.monotonic() + min(plan.drain, 10.0)
            while sum(len(g.unlocks) for g in games) < consistency.store_unlocks and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            await driver.close()
    else:
        await driver.close()
    result = StressResult(plan, players, games, steps, tracker.errors, started_at, time.monotonic() - t0,
                          consistency, knee)
    unrecorded = sum(1 for g in games if g.recorded is None and g.game_id not in tracker.failed)
    if unrecorded:
        result.errors["not recorded within the drain time"] += unrecorded
    return result


async def _one_step(plan: Plan, driver: Driver, tracker: _Tracker, source: _Reports, games: list[Game],
                    steps: list[Step], rate: float, n: int, progress: Progress | None, warmup: bool = False) -> Step:
    step = Step(rate, len(games), n)
    reports = source.make(n)
    fresh = [Game(len(games) + i, str(r["game_id"]), len(steps), 0.0, warmup=warmup) for i, r in enumerate(reports)]
    for game in fresh:
        tracker.by_id[game.game_id] = game
    games.extend(fresh)
    steps.append(step)
    await _run_step(driver, tracker, step, fresh, reports, plan.servers, plan.drain, progress, len(games))
    return step
