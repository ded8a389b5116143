"""`python scripts/screenshots.py` (the docs' screenshots, `make screenshots`) run for one page at one size
into a temporary folder: it starts its own app, writes a small JPEG of the requested size and theme,
and touches no tracked file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_browser import CHROMIUM

pytestmark = [
    pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which("chromium")),
                       reason="Debian chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.timeout(600),
]


def _git_status() -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return ""
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout


def test_screenshot_command_writes_the_requested_picture(tmp_path):
    import numpy as np
    from PIL import Image

    before = _git_status()
    out = tmp_path / "shots"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), "--out", str(out),
                          "--pages", "main", "--sizes", "phone", "--themes", "dark", "--langs", "en"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["main-en-dark-phone.jpg"], files
    shot = out / files[0]
    assert str(shot) in run.stdout  # it says what it wrote
    assert 20_000 < shot.stat().st_size < 400_000
    image = Image.open(shot)
    assert image.format == "JPEG" and image.width == 390 and image.height > 844
    top = np.asarray(image.convert("L"))[:844]
    assert top.mean() < 110, "the dark theme was asked for; the page's first screen should be mostly dark"
    assert _git_status() == before, "the command must not rewrite tracked files"
