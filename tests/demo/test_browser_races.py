"""Results belong to their picture, in a real Chromium: a picture replaced while the first one still
streams, or a second example clicked during the first, ends with the second picture's text, chips
and heatmap, and the chips still work (issue 14, finding 1)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time

import pytest

from demo.i18n import tr

from .conftest import EXAMPLES
from .test_browser import ARGS, CHROMIUM, pytestmark  # noqa: F401 - the same skip when chromium is missing

FIRST = EXAMPLES / "toy-fake-two-artifacts.png"
SECOND = EXAMPLES / "toy-real-wide.png"


def _phrases_of(server, path) -> list[str]:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT phrases FROM predictions WHERE image_sha256 = ? ORDER BY id DESC", (sha,)).fetchone()
    assert row is not None, "the second picture was explained and stored"
    return [p["text"] if isinstance(p, dict) else p[0] for p in json.loads(row[0])]


def _settled(page, timeout_s: float = 180) -> None:
    """Until the page's answer is done and its fast maps are drawn."""
    page.wait_for_function(
        "() => { const s = document.querySelector('#spot-status'); const el = document.querySelector("
        "'#spot-heatmap .js-plotly-plot'); return s && /Maps ready/.test(s.innerText) && el && "
        "(el.data || []).some(t => t.type === 'heatmap'); }", timeout=timeout_s * 1000)
    time.sleep(3)  # anything an older stream still had to draw would arrive now


def _chips(page) -> list[str]:
    """The chips' phrases, without the mark a language-prior phrase carries (see chip_prior) and the
    glossary names of their clues (see chip_clues)."""
    mark = tr("chip_prior", "en", text="").strip()
    clues = tr("chip_clues", "en", text="", clues="").strip()
    return [t.strip().removesuffix(mark).strip().split(f" {clues}")[0].strip()
            for t in page.locator("#spot-chips label").all_inner_texts()]


def _check_page_shows(page, phrases: list[str]) -> None:
    assert _chips(page) == phrases
    title = page.evaluate("() => document.querySelector('#spot-heatmap .js-plotly-plot').layout.title.text")
    assert any(title.startswith(p[:20]) for p in phrases), title
    # and a chip click still redraws its own map
    last = page.locator("#spot-chips label").last
    last.click()
    page.wait_for_function(
        "(t) => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
        " const title = el && el.layout && el.layout.title && el.layout.title.text;"
        " return title && title.startsWith(t.slice(0, 20)); }", arg=phrases[-1], timeout=30_000)


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@pytest.mark.parametrize("wait_s", [0.3, 1.0])
def test_a_replaced_picture_leaves_nothing_behind(server, wait_s):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(server.url, wait_until="domcontentloaded")
            expect(page.locator("#spot-upload")).to_be_visible(timeout=60_000)
            page.locator("#spot-upload input[type=file]").set_input_files(str(FIRST))
            time.sleep(wait_s)
            page.locator("#spot-upload button[aria-label='Remove Image'], #spot-upload button[aria-label='Clear']").first.click()
            page.locator("#spot-upload input[type=file]").set_input_files(str(SECOND))
            _settled(page)
            _check_page_shows(page, _phrases_of(server, SECOND))
        finally:
            browser.close()


def test_a_second_example_clicked_during_the_first_wins(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(server.url, wait_until="domcontentloaded")
            examples = page.locator("#spot-examples button.gallery-item")
            expect(examples.first).to_be_visible(timeout=60_000)
            first = examples.filter(has_text="toy fake two artifacts")
            second = examples.filter(has_text="toy real wide")
            first.click()
            time.sleep(0.5)
            second.click()
            _settled(page)
            _check_page_shows(page, _phrases_of(server, SECOND))
        finally:
            browser.close()
