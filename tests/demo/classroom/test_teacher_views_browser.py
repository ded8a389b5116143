"""The teacher's views in real headless Chromium (issue #19): the teacher key shown once with a copy
button and then hidden, a compact run-the-lesson page at 1280x800, the projector view (large type, the
answers coming in, the reveal; no key, no names) and a title that keeps its words whole on a phone.

Needs `apt-get install -y chromium`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .test_classroom_browser import ARGS, CHROMIUM, _box, _wait_text

pytestmark = [
    pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which("chromium")),
                       reason="Debian chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.timeout(600),
]

KEY_RE = re.compile(r"tk_[A-Za-z0-9_\-]{20,}")
MAX_TEACHER_PAGE_PX = 2000  # the page was about 3,700 px tall with a session running
NICK, REASON = "Ann-Q7", "ann-secret-reason"

# Every word of the element's text whose letters do not all sit on one line: a word broken mid-way.
BROKEN_WORDS_JS = """(el) => {
  const broken = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    const re = /[A-Za-z\\u00C0-\\u024F]+/g;
    let m;
    while ((m = re.exec(n.textContent))) {
      const tops = new Set();
      for (let i = m.index; i < m.index + m[0].length; i++) {
        const r = document.createRange();
        r.setStart(n, i); r.setEnd(n, i + 1);
        const rect = r.getBoundingClientRect();
        if (rect.width > 0) tops.add(Math.round(rect.top));
      }
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""


def _everything(page) -> str:
    """All a page holds: its HTML and the values of every field (a password field's too)."""
    values = page.evaluate("() => Array.from(document.querySelectorAll('input, textarea')).map(e => e.value)")
    return page.content() + "\n".join(values)


def _visible_text(page) -> str:
    return page.locator("body").inner_text()


def test_key_once_compact_page_and_projector(classroom_server):
    from playwright.sync_api import expect, sync_playwright

    url = classroom_server.url + "classroom"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
            ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=classroom_server.url.rstrip("/"))
            teacher = ctx.new_page()
            teacher.on("pageerror", lambda e: errors.append(str(e)))
            teacher.goto(url, wait_until="domcontentloaded")
            teacher.get_by_role("tab", name="Teacher").click()

            # ---- a new key: shown once, in its own box, with a copy button that copies it
            teacher.locator("#cls-new-key").click()
            shown = _box(teacher, "cls-key-shown")
            expect(shown).to_have_value(KEY_RE, timeout=30_000)
            key = shown.input_value()
            assert key not in teacher.locator("#cls-key-status").inner_text()  # the notice does not print it
            assert teacher.locator("#cls-teacher-key input").get_attribute("type") == "password"
            teacher.locator("#cls-key-shown button[aria-label*='opy'], #cls-key-shown button[title*='opy']").first.click()
            teacher.wait_for_function("(k) => navigator.clipboard.readText().then(t => t === k)", arg=key,
                                      timeout=10_000)

            # ---- hidden: not on the screen, not in the page (the password field holds it, masked)
            teacher.locator("#cls-key-hide").click()
            expect(teacher.locator("#cls-key-once")).to_be_hidden(timeout=30_000)
            assert key not in _visible_text(teacher)
            fields = teacher.evaluate("() => Array.from(document.querySelectorAll('input:not([type=password]), textarea'))"
                                      ".map(e => e.value)")
            assert key not in "\n".join(fields)

            # ---- a lesson set: the builder folds away once it is saved, the session controls come first
            for label in teacher.locator("#cls-examples label").all()[:2]:
                label.click()
            teacher.locator("#cls-create-set").click()
            _wait_text(teacher.locator("#cls-build-status"), r"Lesson set \w+ saved", timeout_s=60)
            expect(teacher.locator("#cls-set-title")).to_be_hidden(timeout=30_000)
            assert teacher.locator("#cls-start").bounding_box()["y"] < teacher.locator("#cls-build").bounding_box()["y"]
            teacher.locator("#cls-start-session").click()
            expect(teacher.locator("#cls-banner-code")).to_be_visible(timeout=30_000)
            code = teacher.locator("#cls-banner-code").get_attribute("data-code")
            height = teacher.evaluate("() => document.documentElement.scrollHeight")
            print(f"running lesson at 1280x800: {height} px")
            assert height <= MAX_TEACHER_PAGE_PX, f"the running lesson is {height} px tall"
            assert teacher.locator("#cls-reveal").bounding_box()["y"] < 800  # reveal is on the first screen
            assert key not in _visible_text(teacher)

            # ---- shown again only on request
            teacher.locator("#cls-key-show").click()
            expect(_box(teacher, "cls-key-shown")).to_have_value(key, timeout=30_000)
            teacher.locator("#cls-key-hide").click()
            expect(teacher.locator("#cls-key-once")).to_be_hidden(timeout=30_000)

            # ---- the projector view, opened from the teacher's page in the teacher's own browser
            href = teacher.locator("#cls-present-link").get_attribute("href")
            assert href.endswith(f"?present={code}")
            projector = ctx.new_page()
            projector.on("pageerror", lambda e: errors.append(str(e)))
            projector.goto(href, wait_until="domcontentloaded")
            expect(projector.locator("#cls-presenter")).to_be_visible(timeout=60_000)
            expect(projector.locator("#cls-tabs")).to_be_hidden()
            expect(projector.locator("#cls-p-image img")).to_be_visible(timeout=30_000)
            _wait_text(projector.locator("#cls-p-count"), r"0 of 0 answered")
            size = projector.locator("#cls-p-count").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 30, f"projector text is {size} px"

            # ---- a student answers: the count comes in; the reveal shows the votes, never the name
            student = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-US").new_page()
            student.goto(f"{url}?code={code}", wait_until="domcontentloaded")
            expect(_box(student, "cls-join-code")).to_have_value(code, timeout=60_000)
            _box(student, "cls-nickname").fill(NICK)
            student.locator("#cls-join").click()
            student.locator("#cls-st-guess label", has_text="AI-generated").click()
            _box(student, "cls-st-reason").fill(REASON)
            student.locator("#cls-st-submit").click()
            _wait_text(student.locator("#cls-st-answer-status"), "Answer saved")
            _wait_text(projector.locator("#cls-p-count"), r"1 of 1 answered", timeout_s=30)
            assert projector.locator("#cls-reveal").count() == 0  # nothing revealed before the teacher does
            teacher.locator("#cls-reveal").click()
            expect(projector.locator("#cls-reveal[data-verdict]")).to_be_visible(timeout=180_000)
            expect(projector.locator("#cls-votes")).to_have_attribute("data-answers", "1", timeout=60_000)
            expect(teacher.locator("#cls-t-chips label").first).to_be_visible(timeout=180_000)
            height = teacher.evaluate("() => document.documentElement.scrollHeight")
            print(f"after the reveal: {height} px")
            assert height <= MAX_TEACHER_PAGE_PX + 700, f"after the reveal, the lesson is {height} px tall"
            held = _everything(projector)
            for secret in (key, NICK, REASON):
                assert secret not in held, secret
            assert not errors, errors
        finally:
            browser.close()


def test_the_title_keeps_its_words_whole_on_a_phone(classroom_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width in (360, 375, 390):
                for locale, tab in (("en-US", "Teacher"), ("zh-CN", "教师")):
                    page = browser.new_context(viewport={"width": width, "height": 800}, locale=locale).new_page()
                    page.goto(classroom_server.url + "classroom", wait_until="domcontentloaded")
                    expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=60_000)
                    title = page.locator("#cls-title")
                    broken = page.evaluate(BROKEN_WORDS_JS, title.element_handle())
                    assert broken == [], (width, locale, broken)
                    # and nothing runs off the screen sideways
                    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, (width, locale)
                    page.context.close()
        finally:
            browser.close()
