"""Regenerate the screenshots of docs/http.md (and the README): ``.venv/bin/python -m tests.browser.screenshots``.

A demo store (60 players, 3,000 simulated games), a real ``osmo serve``, Debian's chromium."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, OSMO, serve

DOCS = Path(__file__).resolve().parents[2] / "docs"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "demo.db")
        subprocess.run([OSMO, "--db", db, "init", "--players", "60"], check=True, capture_output=True)
        subprocess.run([OSMO, "--db", db, "play", "-n", "3000", "--seed", "7"], check=True, capture_output=True)
        served = serve(db)
        running = next(served)
        try:
            board = httpx.get(running.url + "/v1/leaderboards/wins", params={"limit": 1, "offset": 25}).json()
            star = board["entries"][0]["player_id"]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.goto(running.url + "/")
                page.wait_for_timeout(500)
                subprocess.run([OSMO, "--db", db, "play", "-n", "40", "--seed", "8"], check=True, capture_output=True)
                page.wait_for_timeout(1500)  # the feed updates live
                page.screenshot(path=str(DOCS / "home.png"), full_page=True)
                page.goto(running.url + f"/players/{star}")
                page.screenshot(path=str(DOCS / "profile.png"), full_page=True)
                page.goto(running.url + "/awards")
                page.screenshot(path=str(DOCS / "awards.png"), full_page=True)
                browser.close()
        finally:
            next(served, None)
    time.sleep(0)
    print(f"wrote {DOCS}/home.png, profile.png, awards.png", file=sys.stderr)


if __name__ == "__main__":
    main()
