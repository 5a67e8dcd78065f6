"""``osmo --db DB serve ARGS`` as a real process for the tests: ready once it announces itself on stderr,
whose lines are kept; stopped with SIGTERM (its exit code returned) or killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ServeProcess:
    def __init__(self, db: str, *args: str, env: dict[str, str] | None = None, timeout: float = 30) -> None:
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "osmo", "--db", db, "serve", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(timeout):
            self.kill()
            raise AssertionError("osmo serve did not start:\n" + self.log)

    def _read(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for raw in self.process.stderr:
                line = raw.decode(errors="replace").rstrip()
                self.lines.append(line)
                if line.startswith("osmo serving"):
                    self.ready.set()

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        """kill -9."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM if still running, kill -9 if it does not stop in ``timeout``; the exit code."""
        if self.process.poll() is None:
            try:
                return self.terminate(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.reader.join(10)
        return self.process.wait(10)
