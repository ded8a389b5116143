"""Accessibility in a real headless Chromium: the main paths by keyboard alone, an axe-core audit of
every page (main page after a result, the Explorer's reviewer login, the classroom's teacher and
student pages) in the light and dark themes at desktop and phone sizes, and layouts that fit a phone
(nothing wider than the screen, cards stacked, a compact model banner). Screenshots go to tmp_path.

axe-core comes from the `axe-playwright-python` dev dependency (which ships axe.min.js), else from
SPOT_AXE_JS (a path), else from `npm install axe-core@4` into a cache folder; the audit skips, and
says so, only when none of these is available.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_browser import ARGS, CHROMIUM

pytestmark = [
    pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which("chromium")),
                       reason="Debian chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.timeout(900),
]

SIZES = {"desktop": (1280, 800), "phone": (390, 844), "small-phone": (360, 740)}
THEMES = ("light", "dark")
# Violations axe may report without failing the audit: Gradio-internal markup our code cannot change.
# (rule, CSS selector the element must match, why)
GRADIO_INTERNAL = [
    ("aria-prohibited-attr", "div.empty[aria-label]",
     "Gradio 6's empty-value placeholder (a gr.Plot or gr.File without a value) is a plain <div> with an "
     "aria-label; the component is Gradio's own and takes no attribute from Python"),
]
# Each box must fit its own width: the cards we draw, and the classroom's.
BOXES = ["#spot-banner", "#spot-verdict", "#spot-evidence", ".cls-card", ".cls-banner", "#ex-card"]


def _screenshots_module():
    spec = importlib.util.spec_from_file_location("spot_screenshots", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shots = _screenshots_module()


@pytest.fixture(scope="session")
def axe_js() -> str:
    try:
        import axe_playwright_python

        path = Path(axe_playwright_python.__file__).with_name("axe.min.js")
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except ImportError:
        pass
    if os.environ.get("SPOT_AXE_JS"):
        return Path(os.environ["SPOT_AXE_JS"]).read_text(encoding="utf-8")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "spot-the-fake" / "axe-core"
    path = cache / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(cache), "axe-core@4"],
                       check=False, timeout=300, capture_output=True)
    if not path.is_file():
        pytest.skip("axe-core unavailable: install the dev requirements (axe-playwright-python), set SPOT_AXE_JS, "
                    "or make npm available")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def audit(page, axe_js: str) -> list[str]:
    """Serious and critical axe violations on the page, one line per element, less GRADIO_INTERNAL."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_js)
    found = page.evaluate("""async (allowed) => {
      const res = await axe.run(document, {resultTypes: ['violations']});
      const out = [];
      for (const v of res.violations) {
        if (!['serious', 'critical'].includes(v.impact)) continue;
        for (const n of v.nodes) {
          const el = document.querySelector(n.target[0]);
          if (el && allowed.some(([rule, sel]) => rule === v.id && el.matches(sel))) continue;
          out.push(`${v.impact} ${v.id}: ${n.target.join(' ')} :: ${n.failureSummary.replace(/\\s+/g, ' ')}`);
        }
      }
      return out;
    }""", [[rule, sel] for rule, sel, _ in GRADIO_INTERNAL])
    return found


def overflow(page) -> list[str]:
    """What is wider than the screen, or than its own box."""
    return page.evaluate("""(boxes) => {
      const out = [];
      const doc = document.documentElement;
      if (doc.scrollWidth > window.innerWidth) out.push(`page ${doc.scrollWidth} > ${window.innerWidth}`);
      for (const sel of boxes) for (const el of document.querySelectorAll(sel)) {
        if (!el.checkVisibility()) continue;
        if (el.scrollWidth > el.clientWidth + 1) out.push(`${sel} ${el.scrollWidth} > ${el.clientWidth}`);
      }
      return out;
    }""", BOXES)


def check_every_view(page, name: str, axe_js: str, tmp_path: Path, sizes=tuple(SIZES)) -> list[str]:
    problems = []
    for size in sizes:
        for theme in THEMES:
            shots.show(page, SIZES[size], theme)
            where = f"{name} {theme} {size}"
            problems += [f"{where}: {p}" for p in audit(page, axe_js) + overflow(page)]
            page.screenshot(path=str(tmp_path / f"{name}-{theme}-{size}.png"), full_page=True)
    return problems


def test_main_page_audit_and_phone_layout(server, axe_js, browser, tmp_path):
    page = shots.main_page_with_result(browser, server.url, "en-US")
    try:
        problems = check_every_view(page, "main", axe_js, tmp_path)

        # a phone: the verdict card and the evidence panel one above the other, the banner one short line
        shots.show(page, SIZES["phone"], "light")
        verdict, evidence = (page.locator(s).bounding_box() for s in ("#spot-verdict", "#spot-evidence"))
        assert evidence["y"] >= verdict["y"] + verdict["height"] - 1, (verdict, evidence)
        assert verdict["width"] >= 300, verdict
        title = page.locator("#spot-title").bounding_box()  # not squeezed beside the language switch
        assert title["width"] >= 300, title
        banner = page.locator("#spot-banner").bounding_box()
        assert banner["height"] <= 0.2 * 844, f"the model banner takes {banner['height']} px of a phone's screen"
        if server.model == "toy":  # the full notice is one keypress away
            expect_notice = page.locator("#spot-banner details")
            assert not expect_notice.evaluate("d => d.open")
            assert "only knows the planted toy artifacts" in expect_notice.text_content()

        # the Explorer's reviewer login
        page.locator("#tab-explorer-button").click()
        page.locator("#rv-panel button").first.click()
        page.locator("#rv-token input").wait_for(timeout=30_000)
        problems += check_every_view(page, "explorer", axe_js, tmp_path, sizes=("desktop", "phone"))
    finally:
        page.context.close()
    assert not problems, "\n".join(problems)


def test_classroom_audit(server, axe_js, browser, tmp_path):
    teacher, student = shots.classroom_after_reveal(browser, server.url, "en-US")
    joining = browser.new_context(locale="zh-CN").new_page()
    try:
        joining.goto(server.url + "classroom", wait_until="domcontentloaded")
        joining.locator("#cls-join").wait_for(timeout=60_000)
        problems = check_every_view(joining, "join", axe_js, tmp_path, sizes=("desktop", "phone"))
        problems += check_every_view(teacher, "teacher", axe_js, tmp_path, sizes=("desktop", "phone"))
        problems += check_every_view(student, "student", axe_js, tmp_path, sizes=("desktop", "phone"))
    finally:
        for page in (joining, teacher, student):
            page.context.close()
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ keyboard only

FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const holder = el.closest('[id]');
  const shows = (e) => { const s = getComputedStyle(e);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1) || s.boxShadow !== 'none'; };
  const label = el.closest('label');
  return {id: holder ? holder.id : '', tag: el.tagName, type: el.type || '', value: el.value || '',
          checked: !!el.checked, text: (el.innerText || el.getAttribute('aria-label') || '').slice(0, 40),
          visible: shows(el) || (!!label && shows(label))};
}"""


def _tab_to(page, elem_id: str, *, back: bool = False, limit: int = 80, seen: list | None = None) -> dict:
    """Press Tab (or Shift+Tab) until the focus is inside #elem_id; every stop passed is recorded."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focus = page.evaluate(FOCUS_JS)
        if focus is None:
            continue
        if seen is not None:
            seen.append(focus)
        if page.evaluate("(id) => !!document.activeElement.closest('#' + id)", elem_id):
            return focus
    raise AssertionError(f"{limit} presses of Tab never reached #{elem_id}; stops: {seen[-12:] if seen else ''}")


def _heatmap_title(page) -> str:
    return page.evaluate("() => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
                         " return (el && el.layout && el.layout.title && el.layout.title.text) || ''; }")


def _wait_maps(page) -> None:
    page.wait_for_function(shots.HEATMAP_READY, arg="#spot-heatmap", timeout=120_000)


def test_main_paths_by_keyboard_alone(server, browser):
    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US").new_page()
    stops: list[dict] = []
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        page.locator("#spot-examples button").first.wait_for(timeout=60_000)

        # pick an example: it is explained and mapped
        _tab_to(page, "spot-examples", seen=stops)
        page.keyboard.press("Enter")
        page.locator("#spot-verdict[data-verdict]").wait_for(timeout=120_000)
        _wait_maps(page)

        # run it again with the Explain button
        page.evaluate("() => { window.__statuses = []; new MutationObserver(() => window.__statuses.push("
                      "document.querySelector('#spot-status').innerText)).observe(document.querySelector("
                      "'#spot-status'), {subtree: true, childList: true, characterData: true}); }")
        _tab_to(page, "spot-run", back=True, seen=stops)
        page.keyboard.press("Enter")
        page.wait_for_function("() => window.__statuses.some(s => s.startsWith('Done in'))", timeout=120_000)
        page.wait_for_function("() => window.__statuses.some(s => s.startsWith('Maps ready'))", timeout=120_000)

        # the phrase chips: Tab reaches them, arrows move between them, Enter and Space pick
        first = _tab_to(page, "spot-chips", seen=stops)
        assert first["type"] == "radio" and first["visible"], first
        n_chips = page.locator("#spot-chips input[type=radio]").count()
        assert n_chips >= 2
        before = _heatmap_title(page)
        page.keyboard.press("ArrowRight")
        moved = page.evaluate(FOCUS_JS)
        assert moved["id"] == "spot-chips" and moved["value"] != first["value"] and moved["visible"], moved
        assert not moved["checked"], "moving to a chip must not pick it"
        page.keyboard.press("Enter")
        chip = page.locator("#spot-chips label.selected").inner_text().strip()
        assert page.evaluate(FOCUS_JS)["checked"]
        page.wait_for_function("(t) => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
                               " const title = el && el.layout && el.layout.title && el.layout.title.text;"
                               " return !!title && t.startsWith(title.slice(0, 20)); }", arg=chip, timeout=30_000)
        assert _heatmap_title(page) != before
        page.keyboard.press("End")
        page.keyboard.press("Space")
        last = page.locator("#spot-chips label").last
        page.wait_for_function("() => document.querySelector('#spot-chips label:last-child').classList"
                               ".contains('selected')", timeout=10_000)
        assert last.inner_text().strip() != chip

        # the map switch: from fast to faithful
        method = _tab_to(page, "spot-method", seen=stops)
        if method["value"] != "gradient":  # the first stop of the group may be either choice
            page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        assert page.evaluate(FOCUS_JS)["value"] == "occlusion"
        page.keyboard.press("Enter")
        page.wait_for_function("() => { const el = document.querySelector('#spot-heatmap .js-plotly-plot');"
                               " const title = el && el.layout && el.layout.title && el.layout.title.text;"
                               " return !!title && title.includes('occlusion'); }", timeout=180_000)

        # feedback: "right", consent, send
        _tab_to(page, "fb-verdict", seen=stops)
        if page.evaluate(FOCUS_JS)["value"] != "right":
            page.keyboard.press("Home")
        page.keyboard.press("Enter")
        _tab_to(page, "fb-consent", seen=stops)
        page.keyboard.press("Space")
        _tab_to(page, "fb-submit", seen=stops)
        page.keyboard.press("Enter")
        page.locator("#fb-result", has_text="Saved as feedback record").wait_for(timeout=30_000)
    finally:
        page.context.close()
    hidden = [s for s in stops if not s["visible"]]
    assert not hidden, f"keyboard focus without a visible indicator: {hidden}"
