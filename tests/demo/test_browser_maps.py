"""The maps in a real headless Chromium on a phone-sized, dark-themed page: the figures' text is
light on the dark page and fits the width, the status line shows the faithful map's progress with
the time left (never "ready" before it is), and Cancel stops it. Screenshots go to a temporary folder."""

from __future__ import annotations

import re

from .test_browser import ARGS, CHROMIUM, _plot, pytestmark  # noqa: F401 - the same skip and browser

LUMINANCE = """(sel) => {
  const el = document.querySelector(sel);
  if (!el) return null;
  const m = getComputedStyle(el).fill.match(/\\d+(\\.\\d+)?/g).map(Number);
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(m[0]) + 0.7152 * lin(m[1]) + 0.0722 * lin(m[2]);
}"""
BELOW_LABEL = """([plot, sel]) => {
  const label = document.querySelector(plot + ' [data-testid="block-label"]');
  const t = document.querySelector(plot + ' ' + sel);
  if (!label || !t) return null;
  const a = t.getBoundingClientRect(), b = label.getBoundingClientRect();
  return {ok: a.top >= b.bottom - 1, title: [a.top, a.bottom], label: [b.top, b.bottom]};
}"""
ABOVE_PLOT = """(plot) => {
  const t = document.querySelector(plot + ' .gtitle'), area = document.querySelector(plot + ' .nsewdrag');
  if (!t || !area) return null;
  const a = t.getBoundingClientRect(), b = area.getBoundingClientRect();
  return {ok: a.bottom <= b.top + 1, title: [a.top, a.bottom], plot: [b.top, b.bottom]};
}"""
INSIDE = """(sel) => {
  const t = document.querySelector(sel), svg = t && t.closest('svg');
  if (!t || !svg) return null;
  const a = t.getBoundingClientRect(), b = svg.getBoundingClientRect();
  return a.left >= b.left - 1 && a.right <= b.right + 1 && a.width > 0;
}"""


def test_maps_on_a_dark_phone_with_progress_and_cancel(server, example_image, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 900}, color_scheme="dark")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url, wait_until="domcontentloaded")
            expect(page.locator("#spot-upload")).to_be_visible(timeout=60_000)
            page.locator("#spot-upload input[type=file]").set_input_files(str(example_image))
            page.wait_for_function(
                "() => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
                " return el && (el.data || []).some(t => t.type === 'heatmap'); }", timeout=180_000)
            expect(page.locator("#spot-status")).to_contain_text("Maps ready", timeout=60_000)

            # dark page: the title, the colour bar's words and the small multiples' titles are light
            for sel in ("#spot-heatmap .gtitle", "#spot-heatmap .colorbar text", "#spot-multiples .annotation-text"):
                lum = page.evaluate(LUMINANCE, sel)
                assert lum is not None and lum > 0.4, f"{sel}: luminance {lum} on a dark page"
            # the title (and its legend line) fits a 390-px phone
            for sel in ("#spot-heatmap .gtitle",):
                assert page.evaluate(INSIDE, sel), f"{sel} runs off the figure at 390 px"
            # and no title hides behind the component's label, which Gradio draws over the plot's corner
            for plot, sel in (("#spot-heatmap", ".gtitle"), ("#spot-multiples", ".annotation-text")):
                where = page.evaluate(BELOW_LABEL, [plot, sel])
                assert where and where["ok"], f"{plot} {sel} sits under the label: {where}"
            # every line of the title (and legend) stays above the picture (a multi-line Plotly title
            # anchored at the plot's top ran its later lines down over the picture)
            where = page.evaluate(ABOVE_PLOT, "#spot-heatmap")
            assert where and where["ok"], f"the heatmap's title runs over the picture: {where}"
            ticks = page.locator("#spot-heatmap .colorbar text").all_text_contents()
            assert any("strong" in x for x in ticks), ticks
            page.screenshot(path=str(tmp_path / "dark-phone-maps.png"), full_page=True)

            # the faithful map: progress in the status line while it runs, then Cancel stops it
            page.locator("#spot-method label", has_text="faithful").click()
            status = page.locator("#spot-status")
            expect(status).to_contain_text(re.compile(r"of 576 places"), timeout=120_000)
            line = status.inner_text()
            assert "ready" not in line.lower() and re.search(r"left|measuring", line), line
            page.screenshot(path=str(tmp_path / "dark-phone-progress.png"), full_page=True)
            page.locator("#spot-cancel").click()
            expect(status).to_contain_text("Maps cancelled", timeout=30_000)
            page.wait_for_timeout(3000)  # no late progress line overwrites the cancellation
            assert "Maps cancelled" in status.inner_text()
            assert not errors, errors
        finally:
            browser.close()
