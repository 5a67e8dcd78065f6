"""A real ``osmo serve`` process and Debian's chromium driven by playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from osmo.application.api_keys import create_key
from osmo.application.players import register_seed_players
from osmo.bootstrap import bootstrap
from tests.http.conftest import free_port
from tests.serve_process import ServeProcess

CHROMIUM = os.environ.get("OSMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OSMO = str(Path(sys.executable).with_name("osmo"))


@dataclass
class Served:
    url: str
    db: str
    key: str


def serve(db: str) -> Iterator[Served]:
    """``osmo serve`` on a free port over ``db`` (seed players and a report key added), stopped with SIGTERM."""
    app = bootstrap(db)
    try:
        register_seed_players(app.uow)
        _, key = create_key(app.uow, "browser-test", "admin")
    finally:
        app.close()
    port = free_port()
    process = ServeProcess(db, "--http", f"127.0.0.1:{port}")
    try:
        yield Served(f"http://127.0.0.1:{port}", db, key)
    finally:
        code = process.stop()
    assert code == 0, f"osmo serve exited {code} on SIGTERM"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(str(tmp_path / "osmo.db"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module (playwright's sync API runs an event loop on this thread
    while it is open: closing it with the module leaves later asyncio tests their own loop)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs it (apt-get install -y chromium)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
