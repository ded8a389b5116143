"""A person's visit, in a real headless Chromium (Debian's, driven by Playwright): upload a picture,
watch the answer stream in, see a heatmap, click a phrase, send feedback. Takes a screenshot in a
temporary folder (tests never rewrite tracked files).

Needs `apt-get install -y chromium` (Debian's build; Playwright's own browser download is not used).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SPOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which("chromium")),
                                reason="Debian chromium is not installed (apt-get install -y chromium)")

HEATMAP_TRACES = "(el) => (el.data || []).filter(t => t.type === 'heatmap').length"


def _plot(page, elem_id: str):
    return page.locator(f"#{elem_id} .js-plotly-plot").first


def test_a_visit_in_chromium(server, example_image, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url, wait_until="domcontentloaded")
            expect(page.locator("#spot-upload")).to_be_visible(timeout=60_000)
            banner = page.locator("#spot-banner")
            expect(banner).to_contain_text("licence")
            if server.model == "toy":  # the toy model says plainly what it is
                expect(banner).to_contain_text("only knows the planted toy artifacts")

            # a file that is not a picture: refused with a sentence on the upload, before the model
            notes = tmp_path / "notes.png"
            notes.write_bytes(b"just some words, not a picture\n" * 30)
            page.locator("#spot-upload input[type=file]").set_input_files(str(notes))
            expect(page.locator("#spot-upload")).to_contain_text("not a picture", timeout=30_000)
            page.locator("#spot-upload button[aria-label='Clear']").first.click()

            # upload: the page starts the explanation by itself
            page.locator("#spot-upload input[type=file]").set_input_files(str(example_image))
            box = page.locator("#spot-explanation textarea")
            seen: list[str] = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                value = box.input_value()
                if value and (not seen or value != seen[-1]):
                    seen.append(value)
                if _done(page):
                    break
                time.sleep(0.05)
            assert seen, "no streamed text appeared"
            assert len(seen) >= 2, f"the answer should appear in pieces, saw {seen!r}"
            expect(page.locator("#spot-verdict")).to_have_attribute("data-verdict", re.compile("fake|real|undecided"),
                                                                    timeout=30_000)

            # the heatmap arrives after the fast maps are computed
            heat = _plot(page, "spot-heatmap")
            expect(heat).to_be_attached(timeout=120_000)
            page.wait_for_function(
                "() => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
                " return el && (el.data || []).some(t => t.type === 'heatmap'); }", timeout=120_000)
            expect(_plot(page, "spot-multiples")).to_be_attached(timeout=30_000)

            # click the last phrase chip: its map replaces the one shown first
            chips = page.locator("#spot-chips label")
            expect(chips.first).to_be_visible(timeout=30_000)
            chip_text = chips.last.inner_text().strip()
            chips.last.click()
            page.wait_for_function(
                "(t) => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
                " const title = el && el.layout && el.layout.title && el.layout.title.text;"
                " return title && t.startsWith(title.slice(0, 20)) && title.includes('gradient'); }", arg=chip_text,
                timeout=30_000)

            # feedback
            page.locator("#fb-verdict label", has_text="right").click()
            page.locator("#fb-consent input[type=checkbox]").check()
            page.locator("#fb-submit").click()
            expect(page.locator("#fb-result")).to_contain_text("Saved as feedback record", timeout=30_000)

            page.locator("#spot-title").scroll_into_view_if_needed()
            screenshot = tmp_path / "screenshot.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert not errors, errors
        finally:
            browser.close()

    # the browser's upload reached the model byte for byte, and the feedback is stored
    sha = hashlib.sha256(example_image.read_bytes()).hexdigest()
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT p.id, f.consent, f.verdict_correct FROM predictions p JOIN feedback f "
                         "ON f.prediction_id = p.id WHERE p.image_sha256 = ? ORDER BY p.id DESC", (sha,)).fetchone()
        stored = db.execute("SELECT stored_path FROM images WHERE sha256 = ?", (sha,)).fetchone()
    assert row is not None and row[1] == 1 and row[2] == 1
    assert stored[0], "consent was given, so the picture is kept"
    assert screenshot.stat().st_size > 20_000


def _done(page) -> bool:
    status = page.locator("#spot-status").inner_text()
    return "Done in" in status or "Maps ready" in status
