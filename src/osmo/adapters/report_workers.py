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
from typing import Any

from osmo.adapters.report_json import ReportParser, json_lines
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


def checked_outcomes(content: bytes, catalog: Catalog, workers: int | None = None) -> Iterator[Outcome]:
    """The outcome of every report in ``content``, in input order; large JSON Lines inputs are checked
    by worker processes (one per core), anything else in this process."""
    lines = json_lines(content)
    workers = workers or os.cpu_count() or 1
    if lines is None or len(lines) < PARALLEL_FROM or workers < 2:
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
