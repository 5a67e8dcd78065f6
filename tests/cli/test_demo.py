"""The README's promise: `make demo` works from a clean clone, with nothing but what it installs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_make_demo_works_from_a_clean_clone(tmp_path: Path) -> None:
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.fail("make and git are needed to run the README's demo command")
    clone = tmp_path / "osmo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    done = subprocess.run(["make", "demo"], cwd=clone, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "registered 1000 new player(s)" in done.stdout
    assert "recorded 20000 game(s)" in done.stdout
    assert "Uther" in done.stdout and "Sharpshooter" in done.stdout
    assert "???" in done.stdout and "untouchable" not in done.stdout  # the hidden award is still hidden
    rarities = set(re.findall(r"\b(\d+\.\d)%", done.stdout))
    assert len(rarities) >= 8, "rarity should vary from award to award"
