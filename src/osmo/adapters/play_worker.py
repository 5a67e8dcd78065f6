"""``osmo play`` on two cores: a worker process simulates and checks the next batch of games while
the parent records the previous one, through the same use case as reports from a file.

(Checking a file's reports in worker processes was tried too: shipping the checked games back costs as
much as checking them, so ``osmo record`` checks in its own process.)
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from itertools import islice
from typing import Any

from osmo.application.play import submissions
from osmo.application.recording import Outcome, check_submission
from osmo.domain.catalog import Catalog, catalog_from_data

_simulation: tuple[Catalog, Iterator[dict[str, Any]]] | None = None


def _start_simulation(catalog_data: dict[str, Any], version: int, seed: int | None, player_ids: list[str],
                      games: int, end: datetime) -> None:
    from osmo.simulation.simulator import Simulator

    global _simulation
    reports: Iterator[Any] = Simulator(seed, player_ids).games(games, end)
    _simulation = (catalog_from_data(catalog_data, version), reports)


def _simulate_batch(count: int) -> list[Outcome]:
    assert _simulation is not None, "worker not initialised"
    catalog, reports = _simulation
    return [check_submission(s, catalog) for s in submissions(islice(reports, count))]


def simulated_batches(catalog: Catalog, seed: int | None, player_ids: Sequence[str], games: int,
                      end: datetime, batch: int = 5_000) -> Iterator[list[Outcome]]:
    """Simulated games, checked, in batches: one worker process plays (a seeded simulator, so the same
    seed gives the same teams and stats) while the caller records the previous batch.

    The games go back in time from ``end`` (``osmo play`` passes now): the last one finishes at ``end``,
    none after it, so that no report is dated in the future."""
    counts = [min(batch, games - done) for done in range(0, games, batch)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_start_simulation,
                             initargs=(catalog.to_data(), catalog.version, seed, list(player_ids), games,
                                       end)) as pool:
        pending = [pool.submit(_simulate_batch, count) for count in counts[:2]]
        for index in range(len(counts)):
            outcomes = pending[index].result()
            if index + 2 < len(counts):
                pending.append(pool.submit(_simulate_batch, counts[index + 2]))
            yield outcomes
