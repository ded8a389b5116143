"""A lesson in real headless Chromium (Debian's, driven by Playwright): a teacher and two students,
one browsing in English and one in Simplified Chinese, through a session end to end with the real
model. Create a set, join by code, answer, restart the server (answers survive), reveal, look at
the maps and the glossary, see the class results, export them, and print a handout (rendered to
PNG with pdftoppm and checked). Nothing a student types may
reach the other student's page, and the Chinese pages may show no untranslated interface text.

Needs `apt-get install -y chromium poppler-utils fonts-wqy-microhei`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from explain.glossary import clues_in
from explain.toy import world
from storage.classroom import JOIN_CODE_LEN, SET_CODE_LEN

CHROMIUM = os.environ.get("SPOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which("chromium")),
                       reason="Debian chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.timeout(900),
]

# Visible text of the page, element by element, leaving out what is content rather than interface:
# the model's own words (English by nature), the phrase chips, plots, and the cells of tables
# (picture names, nicknames). Hidden elements do not count.
VISIBLE_TEXT_JS = """(excluded) => {
  const root = document.querySelector('.gradio-container') || document.body;
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim()) continue;
    if (excluded.some((sel) => el.closest(sel))) continue;
    if (el.closest('style,script,code')) continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    out.push(n.textContent.trim());
  }
  return out.join('\\n');
}"""
CONTENT = ["#cls-st-expl", "#cls-t-expl", "#cls-st-chips", "#cls-t-chips", ".js-plotly-plot", "#cls-st-heatmap",
           "#cls-t-heatmap", "#cls-pending", "#cls-examples", "#cls-t-results [role=gridcell]", "#cls-t-answers [role=gridcell]",
           "#cls-files", "nav"]
# What the students type: distinctive, so that finding one anywhere in the other's page means a leak.
ANN, ANN_REASON = "Ann-Q7", "ann-secret: the hands look melted"
MING, MING_REASON = "小明-Z9", "紫色长颈鹿-理由"
TITLE = "Real or AI? Week 3"  # the teacher's words: content, in whatever language the teacher wrote
TITLE_WORDS = {"Real", "Week"}
GRADIO_UPLOAD_WIDGET = {"Drop", "File", "Here", "Click", "Upload"}
# Words that stay as they are in Chinese: names of things, and the language switch's own "English".
LATIN_OK = {"API", "CSV", "PDF", "AI", "FakeClue", "English", "Gradio", "Classroom"}
# What screen readers hear: Gradio's status announcer (a hidden live region) says a word after each event
# and clears it a second later, so it is recorded as it happens.
RECORD_ANNOUNCEMENTS_JS = """() => {
  window.__heard = [];
  new MutationObserver((records) => {
    for (const r of records) {
      const el = (r.target.nodeType === 1 ? r.target : r.target.parentElement)?.closest('.sr-only[role=status]');
      const text = el && el.textContent.trim();
      if (text) window.__heard.push(text);
    }
  }).observe(document.body, {childList: true, characterData: true, subtree: true});
}"""


def _box(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def _untranslated(page, extra_ok: set[str]) -> list[str]:
    text = page.evaluate(VISIBLE_TEXT_JS, CONTENT)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"(?<![A-Za-z0-9])[A-Z0-9]{6,8}(?![A-Za-z0-9])", " ", text)  # set and class codes
    words = set(re.findall(r"[A-Za-z][A-Za-z'’-]{2,}", text))
    return sorted(words - LATIN_OK - extra_ok)


def _page_text(page) -> str:
    """Everything a student's browser holds: the document, form values, and what Gradio stored."""
    values = page.evaluate("() => Array.from(document.querySelectorAll('input, textarea')).map(e => e.value)")
    return page.content() + "\n".join(values)


def _wait_text(locator, pattern: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = locator.inner_text() if locator.count() else ""
        if re.search(pattern, text):
            return text
        time.sleep(0.25)
    raise AssertionError(f"waited {timeout_s} s for {pattern!r}, last saw {text!r}")


def _download(page, suffix: str, tmp: Path) -> Path:
    """Fetch the file of the downloads list whose name ends with `suffix`, as the browser would."""
    link = page.locator(f"#cls-files a[download$='{suffix}']").first
    link.wait_for(state="attached", timeout=120_000)
    data = page.request.get(link.get_attribute("href")).body()
    out = tmp / link.get_attribute("download")
    out.write_bytes(data)
    return out


def _reopen(page, url: str, errors: list[str]):
    context = page.context
    # without waiting for the old tab to finish closing: once (1 CI run in many) Chromium's close of a
    # tab whose server had just restarted never returned, and the test hung until pytest's timeout
    page.close(run_before_unload=True)
    fresh = context.new_page()
    fresh.on("pageerror", lambda e: errors.append(str(e)))
    fresh.goto(url, wait_until="domcontentloaded", timeout=120_000)
    return fresh


def test_a_lesson_with_a_teacher_and_two_students(classroom_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    server = classroom_server
    url = server.url + "classroom"
    upload = tmp_path / "holiday-photo.jpg"  # a "real photo" of the toy world, as a camera would save it
    world.generate(777002, 3, label="real").image.save(upload, format="JPEG", quality=90)
    errors: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            teacher = browser.new_context(viewport={"width": 1300, "height": 1000}, locale="en-US").new_page()
            ann = browser.new_context(viewport={"width": 1100, "height": 1000}, locale="en-US").new_page()
            ming = browser.new_context(viewport={"width": 1100, "height": 1000}, locale="zh-CN").new_page()
            for pg in (teacher, ann, ming):
                pg.on("pageerror", lambda e: errors.append(str(e)))

            # ---- the teacher builds a lesson set: an upload (a real photo) and the examples
            teacher.goto(url, wait_until="domcontentloaded")
            teacher.get_by_role("tab", name="Teacher").click()
            _box(teacher, "cls-set-title").fill(TITLE)
            teacher.locator("#cls-upload-truth label", has_text="real photo").click()
            teacher.locator("#cls-upload input[type=file]").set_input_files(str(upload))
            _wait_text(teacher.locator("#cls-build-status"), r"1 picture\(s\) added")
            for label in teacher.locator("#cls-examples label").all():
                label.click()
            expect(teacher.locator("#cls-pending .virtual-row")).to_have_count(4, timeout=30_000)
            teacher.locator("#cls-create-set").click()
            _wait_text(teacher.locator("#cls-build-status"), r"Lesson set \w+ saved")
            _wait_text(teacher.locator("#cls-key-status"), r"new teacher key")
            expect(_box(teacher, "cls-key-shown")).to_have_value(re.compile(r"tk_[A-Za-z0-9_\-]+"), timeout=30_000)
            key = _box(teacher, "cls-key-shown").input_value()  # made for this teacher, shown once
            assert _box(teacher, "cls-teacher-key").input_value() == key
            set_code = _box(teacher, "cls-set-code").input_value()
            assert len(set_code) == SET_CODE_LEN
            teacher.locator("#cls-start-session").click()
            expect(teacher.locator("#cls-banner-code")).to_be_visible(timeout=30_000)
            code = teacher.locator("#cls-banner-code").get_attribute("data-code")
            assert len(code) == JOIN_CODE_LEN
            assert f"{server.url}classroom" in teacher.locator("#cls-t-banner").inner_text()

            # ---- two students join: Ann by the link with the code, Ming by typing it (Chinese page)
            ann.goto(f"{url}?code={code}", wait_until="domcontentloaded")
            expect(_box(ann, "cls-join-code")).to_have_value(code, timeout=60_000)
            _box(ann, "cls-nickname").fill(ANN)
            ann.locator("#cls-join").click()
            expect(ann.locator("#cls-st-image img")).to_be_visible(timeout=30_000)
            ming.goto(url, wait_until="domcontentloaded")
            expect(ming.get_by_role("tab", name="加入课堂")).to_be_visible(timeout=60_000)
            _box(ming, "cls-join-code").fill(code.lower())
            _box(ming, "cls-nickname").fill(MING)
            ming.locator("#cls-join").click()
            _wait_text(ming.locator("#cls-join-status"), "欢迎")
            _wait_text(teacher.locator("#cls-t-count"), r"0 of 2 student")

            # ---- they answer before anything is revealed
            assert ann.locator("#cls-reveal").count() == 0  # nothing is revealed before the answers
            ann.locator("#cls-st-guess label", has_text="AI-generated").click()
            _box(ann, "cls-st-reason").fill(ANN_REASON)
            ann.locator("#cls-st-submit").click()
            _wait_text(ann.locator("#cls-st-answer-status"), "Answer saved")
            ming.locator("#cls-st-guess label", has_text="真实照片").click()
            _box(ming, "cls-st-reason").fill(MING_REASON)
            ming.locator("#cls-st-submit").click()
            _wait_text(ming.locator("#cls-st-answer-status"), "答案已保存")
            _wait_text(teacher.locator("#cls-t-count"), r"2 of 2 student")
            teacher.locator("#cls-t-more").get_by_text("Class results, answers and files").click()  # folded
            answers = _wait_text(teacher.locator("#cls-t-answers"), MING_REASON)
            assert ANN_REASON in answers and ANN in answers and MING in answers  # the teacher reads them all

            # ---- the server restarts: answers, sessions and who is who survive
            server.stop()
            server.start()
            # the same browsers (their storage) open the page again; the old tabs are closed
            teacher, ann, ming = (_reopen(pg, addr, errors) for pg, addr in (
                (teacher, url), (ann, f"{url}?code={code}"), (ming, url)))
            teacher.get_by_role("tab", name="Teacher").click()
            teacher.locator("#cls-my-sessions input").click()
            teacher.get_by_role("option", name=re.compile(code)).click()
            teacher.locator("#cls-resume").click()
            _wait_text(teacher.locator("#cls-t-count"), r"2 of 2 student")
            teacher.locator("#cls-t-more").get_by_text("Class results, answers and files").click()
            expect(_box(ann, "cls-join-code")).to_have_value(code, timeout=60_000)
            _box(ann, "cls-nickname").fill(ANN)
            ann.locator("#cls-join").click()
            _wait_text(ann.locator("#cls-st-answer-status"), r"Answer saved: AI-generated \(sure: 3/5\)")
            expect(ann.locator("#cls-st-reason textarea")).to_have_value(ANN_REASON)
            _box(ming, "cls-join-code").fill(code)
            _box(ming, "cls-nickname").fill(MING)
            ming.locator("#cls-join").click()
            _wait_text(ming.locator("#cls-st-answer-status"), "答案已保存")

            # ---- reveal: verdict, streamed explanation, maps, truth and the class's votes
            teacher.locator("#cls-reveal").click()
            expect(teacher.locator("#cls-t-chips label").first).to_be_visible(timeout=180_000)
            expect(teacher.locator("#cls-t-heatmap .js-plotly-plot")).to_be_attached(timeout=60_000)
            for student, you in ((ann, "You said"), (ming, "你的答案")):
                card = _wait_text(student.locator("#cls-st-reveal"), you, timeout_s=60)
                assert student.locator("#cls-truth").get_attribute("data-truth") == "real"
                assert student.locator("#cls-votes").get_attribute("data-answers") == "2"
                assert student.locator("#cls-votes").get_attribute("data-real") == "1"
                assert re.search(r"50%", card)
                expect(student.locator("#cls-st-chips label").first).to_be_visible(timeout=30_000)
                expect(student.locator("#cls-st-heatmap .js-plotly-plot")).to_be_attached(timeout=30_000)
            assert "Not this time" in ann.locator("#cls-st-reveal").inner_text()  # it was a real photo
            assert "眼力不错" in ming.locator("#cls-st-reveal").inner_text()
            assert not ann.locator("#cls-st-submit").is_visible()  # answers are closed

            # ---- a phrase chip shows its map and links to the glossary entries it names
            chips = ann.locator("#cls-st-chips label")
            for i in range(chips.count()):
                chips.nth(i).click()
                phrase = chips.nth(i).inner_text().strip()
                expected = clues_in(phrase)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    # read in one go: the list is redrawn as the chip's event lands, and an element listed
                    # first and read after is gone
                    shown = ann.locator("#cls-st-clues .cls-clue").evaluate_all(
                        "els => els.map(e => e.getAttribute('data-clue'))")
                    if shown == expected:
                        break
                    time.sleep(0.25)
                assert shown == expected, (phrase, shown, expected)
                title = ann.locator("#cls-st-heatmap .js-plotly-plot .gtitle").first
                expect(title).to_contain_text(phrase[:20], timeout=20_000)
            ann.get_by_role("tab", name="Clue glossary").click()
            expect(ann.locator("#clue-checkerboard")).to_contain_text("Checkerboard pattern from upsampling")

            # ---- nothing one student typed reaches the other student's browser
            ann_all, ming_all = _page_text(ann), _page_text(ming)
            for secret in (MING, MING_REASON):
                assert secret not in ann_all, secret
            for secret in (ANN, ANN_REASON):
                assert secret not in ming_all, secret
            assert ANN in ann_all and MING in ming_all  # the check can see typed text: each has their own

            # ---- the class results
            results = _wait_text(teacher.locator("#cls-t-results"), r"yes")
            assert "holiday-photo.jpg" in results
            first_row = teacher.locator("#cls-t-results .virtual-row").first.inner_text()
            assert re.search(r"\b2\b", first_row) and "50" in first_row
            assert "2 student(s) joined, 2 answer(s)" in teacher.locator("#cls-t-summary").inner_text()

            # ---- the Chinese pages show no untranslated interface text (student now, teacher below)
            left = _untranslated(ming, extra_ok=TITLE_WORDS)
            assert not left, f"untranslated on the student's Chinese page: {left}"

            # ---- export the answers
            teacher.locator("#cls-export").click()
            csv_path = _download(teacher, ".csv", tmp_path)
            rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
            assert sorted((r["nickname"], r["answer"]) for r in rows) == [(ANN, "fake"), (MING, "real")]

            # ---- the teacher switches the page to Chinese: interface and server-made text follow
            teacher.evaluate(RECORD_ANNOUNCEMENTS_JS)
            teacher.locator("#cls-lang-switch label", has_text="简体中文").click()
            expect(teacher.get_by_role("tab", name="教师")).to_be_visible(timeout=30_000)
            _wait_text(teacher.locator("#cls-t-count"), "名学生中已有 2 名", timeout_s=30)
            _wait_text(teacher.locator("#cls-t-reveal"), "模型认为", timeout_s=30)
            # the events of the switch end with Gradio's "complete" announcement, in Chinese too (Gradio's
            # catalogs lack the key; without ours a screen reader reads out "common.complete")
            teacher.wait_for_function("() => window.__heard.some(h => /^(完成|Complete)$|common\\./.test(h))",
                                      timeout=30_000)
            heard = teacher.evaluate("window.__heard")
            assert "完成" in heard and not [h for h in heard if h == "Complete" or "common." in h], heard
            # Gradio's own upload widget keeps the language the page started in (its texts are set
            # when it is drawn); everything of the classroom follows the switch
            left = _untranslated(teacher, extra_ok=TITLE_WORDS | GRADIO_UPLOAD_WIDGET)
            assert not left, f"untranslated on the teacher's Chinese page: {left}"
            # under tmp_path: tests never rewrite tracked files (docs/ screenshots come from a command)
            teacher.screenshot(path=str(tmp_path / "classroom-teacher-zh.jpg"), type="jpeg", quality=80)
            ming.screenshot(path=str(tmp_path / "classroom-student-zh.jpg"), type="jpeg", quality=80, full_page=True)

            # ---- and back to English; the next picture (a toy example with planted artifacts)
            teacher.locator("#cls-lang-switch label", has_text="English").click()
            expect(teacher.get_by_role("tab", name="Teacher")).to_be_visible(timeout=30_000)
            teacher.locator("#cls-next").click()
            _wait_text(teacher.locator("#cls-t-progress"), r"picture 2 of 4")
            ann.get_by_role("tab", name="Join a class").click()
            _wait_text(ann.locator("#cls-st-progress"), r"picture 2 of 4")
            expect(ann.locator("#cls-st-submit")).to_be_visible(timeout=30_000)  # answers are open again

            # ---- a handout for that picture, printed to PNG and checked
            teacher.locator("#cls-handout").click()
            pdf_path = _download(teacher, ".pdf", tmp_path)
            html_path = _download(teacher, ".html", tmp_path)
            page_html = html_path.read_text(encoding="utf-8")
            assert TITLE in page_html and "picture 2 of 4" in page_html
            _check_handout(pdf_path, tmp_path)
            assert not errors, errors
        finally:
            browser.close()


def _check_handout(pdf_path: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    assert pdf_path.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm missing (apt-get install -y poppler-utils)")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(pdf_path), str(tmp_path / "handout")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("handout*.png"))
    page = np.asarray(Image.open(png).convert("RGB")).astype(int)
    h, w, _ = page.shape
    assert w < h, "an A4 portrait page"
    ink = (page.sum(axis=2) < 600)
    assert ink.mean() > 0.08, "the page is nearly blank"
    paper = page.min(axis=2) > 235
    assert (~paper[: h // 2]).mean() > 0.15, "no picture near the top of the page"
    dark = page.sum(axis=2) < 200
    assert dark[h // 2:].mean() > 0.005, "no text below the picture"
