"""The main page in a Chinese browser (Playwright, `locale="zh-CN"`, Debian's Chromium): the page's
own texts, the server-made ones (status, verdict card, chips with glossary names) in Chinese; a
contradictory feedback form answered inline, with nothing stored; the switch to English redrawing it
all, and remembered on the next visit. Screenshots go to a temporary folder."""

from __future__ import annotations

import re
import sqlite3

from demo.i18n import tr

from .test_browser import ARGS, CHROMIUM, pytestmark  # noqa: F401 - the same skip when Chromium is missing

ZH = "zh-CN"


def _feedback_rows(server) -> int:
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]


def test_a_chinese_visit_then_english(server, example_image, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale=ZH)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url, wait_until="domcontentloaded")

            # the page's own texts, translated in the browser, and the server's, in the browser's language
            expect(page.locator("#spot-title")).to_contain_text(tr("title", ZH), timeout=60_000)
            expect(page.locator("#tab-check-button, button[role=tab]").first).to_contain_text(tr("tab_check", ZH))
            expect(page.locator("#spot-status")).to_contain_text(tr("status_ready", ZH), timeout=30_000)
            expect(page.locator("#spot-run")).to_have_text(tr("run_button", ZH))
            expect(page.locator("#spot-banner")).to_contain_text(tr("model_line", ZH, model="", revision="",
                                                                       license="").split("**")[0])
            if server.model == "toy":
                expect(page.locator("#spot-banner")).to_contain_text(tr("toy_warning", ZH))

            page.locator("#spot-upload input[type=file]").set_input_files(str(example_image))
            card = page.locator("#spot-verdict")
            expect(card).to_have_attribute("data-verdict", re.compile("fake|real|undecided"), timeout=120_000)
            verdict = card.get_attribute("data-verdict")
            expect(card).to_contain_text(tr(f"verdict_label_{verdict}", ZH), timeout=30_000)
            expect(card).to_have_attribute("aria-label", re.compile(re.escape(tr(f"verdict_label_{verdict}", ZH))))
            expect(page.locator("#spot-status")).to_contain_text(tr("status_maps_done", ZH), timeout=120_000)
            chips = page.locator("#spot-chips label")
            # the model's words as written, with the clue's glossary name in Chinese beside them
            expect(chips.filter(has_text="线索：").first).to_be_visible(timeout=30_000)
            assert re.search(r"[A-Za-z]{3,}", chips.last.inner_text()), "the model's own words stay English"
            page.screenshot(path=str(tmp_path / "zh.png"), full_page=True)

            # "right" and a true label opposite to the verdict: a sentence beside the answer, nothing stored
            if verdict in ("real", "fake"):
                before = _feedback_rows(server)
                opposite = "real" if verdict == "fake" else "fake"
                page.locator("#fb-verdict label", has_text=tr("fb_right", ZH)).click()
                page.locator("#fb-true-label label", has_text=tr(f"fb_label_{opposite}", ZH)).click()
                page.locator("#fb-submit").click()
                sentence = tr("fb_contradiction_right", ZH, verdict=tr(f"verdict_{verdict}", ZH),
                              label=tr(f"fb_label_{opposite}", ZH))
                expect(page.locator("#fb-true-label")).to_contain_text(sentence, timeout=30_000)
                expect(page.locator(".toast-body.error")).to_have_count(0)
                page.screenshot(path=str(tmp_path / "zh-feedback.png"), full_page=True)
                assert _feedback_rows(server) == before

            # the switch: every text of the page in English, the server's included
            page.locator("#spot-lang-switch label", has_text="English").click()
            expect(page.locator("#spot-title")).to_contain_text(tr("title", "en"), timeout=30_000)
            expect(page.locator("#spot-run")).to_have_text(tr("run_button", "en"))
            expect(card).to_contain_text(tr(f"verdict_label_{verdict}", "en"), timeout=30_000)
            expect(page.locator("#spot-status")).to_contain_text(tr("status_maps_done", "en"))
            expect(chips.filter(has_text="clue:").first).to_be_visible(timeout=30_000)
            assert "线索" not in page.locator("#spot-chips").inner_text()

            # the Explorer in English too: named columns, probabilities as percentages
            page.locator("button[role=tab]", has_text=tr("tab_explorer", "en")).click()
            table = page.locator("#ex-table")
            expect(table).to_contain_text(tr("exc_p_fake", "en"), timeout=30_000)
            expect(table).to_contain_text(re.compile(r"\d+%"))
            page.screenshot(path=str(tmp_path / "en-explorer.png"), full_page=True)

            # the choice is remembered: the next visit in this browser is English, though it asks for Chinese
            page.reload(wait_until="domcontentloaded")
            expect(page.locator("#spot-status")).to_contain_text(tr("status_ready", "en"), timeout=60_000)
            expect(page.locator("#spot-title")).to_contain_text(tr("title", "en"))
            assert not errors, errors
        finally:
            browser.close()
