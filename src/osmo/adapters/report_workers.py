"""Checking a large input on every core: worker processes parse and check chunks of JSON Lines.

Reading and checking reports is most of the work of recording a big batch and every report is
independent, so the workers do it side by side; the parent keeps only the outcomes, in input order,
and writes them through the same use case.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from itertools import islice
from typing import Any

from osmo.adapters.report_json import ReportParser, json_lines
from osmo.application.play import submissions
from osmo.application.recording import Outcome, check_submission
from osmo.domain.catalog import Catalog, catalog_from_data

LINES_PER_TASK = 2_000
PARALLEL_FROM = 20_000

_worker: tuple[Catalog, ReportParser] | None = None


def _start(catalog_data: dict[str, Any], version: int) -> None:
    global _worker
    catalog = catalog_from_data(catalog_data, version)
    _worker = (catalog, ReportParser(catalog))


def _check(lines: Sequence[tuple[int, bytes]]) -> list[Outcome]:
    assert _worker is not None, "worker not initialised"
    catalog, parser = _worker
    return [check_submission(parser.parse_one(raw, number), catalog) for number, raw in lines]


def checked_outcomes(content: bytes, catalog: Catalog, workers: int | None = None,
                     parallel_from: int = PARALLEL_FROM) -> Iterator[Outcome]:
    """The outcome of every report in ``content``, in input order; large JSON Lines inputs (at least
    ``parallel_from`` reports) are checked by worker processes (one per core), the rest in this process."""
    lines = json_lines(content)
    workers = workers or os.cpu_count() or 1
    if lines is None or len(lines) < parallel_from or workers < 2:
        parser = ReportParser(catalog)
        for submission in parser.parse(content):
            yield check_submission(submission, catalog)
        return
    tasks = [lines[i:i + LINES_PER_TASK] for i in range(0, len(lines), LINES_PER_TASK)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                             initargs=(catalog.to_data(), catalog.version)) as pool:
        for outcomes in pool.map(_check, tasks):
            yield from outcomes


_simulation: tuple[Catalog, Iterator[dict[str, Any]]] | None = None


def _start_simulation(catalog_data: dict[str, Any], version: int, seed: int | None, player_ids: list[str],
                      games: int, start: datetime) -> None:
    from osmo.simulation.simulator import Simulator

    global _simulation
    reports: Iterator[Any] = Simulator(seed, player_ids).games(games, start)
    _simulation = (catalog_from_data(catalog_data, version), reports)


def _simulate_batch(count: int) -> list[Outcome]:
    assert _simulation is not None, "worker not initialised"
    catalog, reports = _simulation
    return [check_submission(s, catalog) for s in submissions(islice(reports, count))]


def simulated_batches(catalog: Catalog, seed: int | None, player_ids: Sequence[str], games: int,
                      start: datetime, batch: int = 5_000) -> Iterator[list[Outcome]]:
    """Simulated games, checked, in batches: one worker process plays (a seeded simulator, so the same
    seed gives the same games) while the caller records the previous batch."""
    counts = [min(batch, games - done) for done in range(0, games, batch)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_start_simulation,
                             initargs=(catalog.to_data(), catalog.version, seed, list(player_ids), games,
                                       start)) as pool:
        pending = [pool.submit(_simulate_batch, count) for count in counts[:2]]
        for index in range(len(counts)):
            outcomes = pending[index].result()
            if index + 2 < len(counts):
                pending.append(pool.submit(_simulate_batch, counts[index + 2]))
            yield outcomes
