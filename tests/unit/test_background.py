"""The writer thread's jobs of one PostgreSQL transaction: in order, all waited for, the first error raised once."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from osmo.adapters.postgres.background import Background


def test_jobs_run_in_order_and_settle_waits_for_all_of_them() -> None:
    done: list[int] = []
    release = threading.Event()
    with ThreadPoolExecutor(1) as executor:
        background = Background(executor)
        background.submit(lambda: (release.wait(5), done.append(1)))
        background.submit(done.append, 2)
        assert done == []
        release.set()
        background.settle()
        assert done == [1, 2]
        background.settle()  # nothing left


def test_the_first_error_is_raised_once_after_every_job_ran() -> None:
    done: list[str] = []

    def fail(message: str) -> None:
        done.append(message)
        raise ValueError(message)

    with ThreadPoolExecutor(1) as executor:
        background = Background(executor)
        background.submit(fail, "first")
        background.submit(fail, "second")
        background.submit(done.append, "third")
        with pytest.raises(ValueError, match="first"):
            background.settle()
        assert done == ["first", "second", "third"]
        background.settle()
        background.submit(fail, "again")
        error = background.failure()
        assert isinstance(error, ValueError) and str(error) == "again"
        assert background.failure() is None


def test_an_interrupt_while_waiting_still_waits_for_every_job_and_wins_over_their_errors() -> None:
    done: list[str] = []

    def slow_failure() -> None:
        time.sleep(0.3)
        done.append("job")
        raise ValueError("the job's error")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with ThreadPoolExecutor(1) as executor:
            background = Background(executor)
            background.submit(slow_failure)
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(KeyboardInterrupt):
                background.settle()
            assert done == ["job"]  # not left running after its transaction
            assert background.failure() is None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
