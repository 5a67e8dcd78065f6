"""Helpers of the operations tests: a real ``osmo serve`` process (its stderr kept), scraping its metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.nats.conftest import NatsServer

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """``python -m osmo ARGS`` with ``env`` added; stderr lines are kept."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen([sys.executable, "-m", "osmo", *args], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, cwd=ROOT,
                                        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for raw in self.process.stderr:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"osmo serve exited ({self.process.returncode}):\n{self.stderr}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"osmo serve did not answer {url}:\n{self.stderr}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code (kill -9 if it does not stop)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(10)
        self._reader.join(10)
        return code


@pytest.fixture
def processes() -> Iterator[Callable[[list[str], dict[str, str]], Process]]:
    started: list[Process] = []

    def start(args: list[str], env: dict[str, str]) -> Process:
        process = Process(args, env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(10)


def sample_names(url: str) -> set[str]:
    """The names of the samples a /metrics page holds (``osmo_x_total``, ``osmo_y_bucket``...)."""
    text = httpx.get(url, timeout=10).text
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def sample_values(url: str) -> dict[str, float]:
    """Every sample of a /metrics page, keyed ``name{label="value",...}`` (labels sorted)."""
    text = httpx.get(url, timeout=10).text
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server with JetStream of the test's own (a fresh stream store)."""
    server = NatsServer(tmp_path / "jetstream")
    try:
        yield server
    finally:
        server.stop()
