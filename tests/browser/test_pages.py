"""The pages in a real headless chromium against a real ``osmo serve``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import Served
from tests.builders import wire_report

BRUISER = {"attempted_attacks": 10, "hits": 5, "damage_done": 900, "kills": 2, "time_played": 600}
ASSISTS = {"attempted_attacks": 10, "hits": 5, "damage_done": 100, "assists": 12, "time_played": 600}


def _keep(page: Any, name: str, tmp_path: Path) -> None:
    """Keep a screenshot of what the test saw (in OSMO_SCREENSHOTS when set, else the test's folder)."""
    folder = Path(os.environ.get("OSMO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _post(served: Served, reports: list[dict[str, Any]]) -> None:
    answer = httpx.post(served.url + "/v1/games", json=reports, headers={"Authorization": f"Bearer {served.key}"})
    assert answer.status_code == 201, answer.text


def test_the_profile_shows_the_right_badges(served: Served, browser: Any, tmp_path: Path) -> None:
    _post(served, [wire_report("p-1", stats={"thrall": BRUISER})])
    page = browser.new_page()
    try:
        page.goto(served.url + "/players/thrall")
        assert page.locator("h1").inner_text() == "Thrall"
        unlocked = page.locator(".badge.unlocked")
        assert unlocked.count() == 1
        assert "Bruiser" in unlocked.inner_text() and "p-1" in unlocked.inner_text()
        assert "tier-silver" in (unlocked.get_attribute("class") or "")
        locked = page.locator(".badge.locked")
        assert locked.count() >= 10
        veteran = page.locator(".badge.locked", has_text="Veteran")
        assert veteran.locator(".progress .bar").count() == 1 and "1 / 1001" in veteran.inner_text()
        hidden = page.locator(".badge.hidden")
        assert hidden.count() == 1 and "???" in hidden.inner_text() and "Untouchable" not in page.content()
        assert page.locator("table.board tbody tr").count() == 1
        _keep(page, "profile-after-bruiser", tmp_path)
    finally:
        page.close()


def test_an_unlock_appears_in_the_open_feed_without_a_reload(served: Served, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    try:
        page.goto(served.url + "/")
        page.wait_for_function("document.getElementById('live') && !document.getElementById('live')"
                               ".classList.contains('off')")
        page.evaluate("window.__same_page = true")
        _post(served, [wire_report("f-1", stats={"uther": ASSISTS})])
        item = page.locator("#feed .feed-item", has_text="Team Player")
        item.wait_for(timeout=10_000)
        page.locator("#feed .feed-item", has_text="Uther").wait_for(timeout=10_000)  # the name, not the id
        assert "Uther" in item.inner_text()
        page.locator("#board tr", has_text="Uther").wait_for(timeout=10_000)  # the top players follow too
        assert "Nobody has played yet" not in page.locator("#board").inner_text()
        assert page.evaluate("window.__same_page") is True  # no reload happened
        _keep(page, "feed-after-unlock", tmp_path)
        page.goto(served.url + "/awards")
        team = page.locator(".award", has_text="Team Player")
        assert "16.67 %" in team.inner_text() and "1 holder" in team.inner_text()
        assert page.locator(".award.hidden").count() == 1
        _keep(page, "awards-after-unlock", tmp_path)
    finally:
        page.close()
