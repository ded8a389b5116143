"""The report panel in a real headless Chromium: after a result and its maps, the two download buttons
give a PDF and a self-contained HTML file; a share link made on the page opens (in a fresh browser
context, as someone else would) and is gone after the page revokes it. Files under tmp_path."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from demo.i18n import tr

CHROMIUM = os.environ.get("SPOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).is_file() or shutil.which("chromium")),
                                reason="Debian chromium is not installed (apt-get install -y chromium)")


def test_download_buttons_and_share_link_in_chromium(server, example_image, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url, wait_until="domcontentloaded")
            pdf_button, html_button = page.locator("#spot-report-pdf"), page.locator("#spot-report-html")
            expect(page.locator("#spot-upload")).to_be_visible(timeout=60_000)
            expect(pdf_button).to_have_count(0)  # nothing to report before a result
            page.locator("#spot-upload input[type=file]").set_input_files(str(example_image))
            expect(pdf_button).to_be_visible(timeout=180_000)  # after the answer and its maps
            expect(html_button).to_be_visible(timeout=30_000)

            files = {}
            for kind, button in (("pdf", pdf_button), ("html", html_button)):
                with page.expect_download(timeout=60_000) as info:
                    button.click()
                target = tmp_path / f"report.{kind}"
                info.value.save_as(target)
                files[kind] = target
                assert info.value.suggested_filename.endswith(f".{kind}")
            assert files["pdf"].read_bytes().startswith(b"%PDF-")
            html = files["html"].read_text(encoding="utf-8")
            assert hashlib.sha256(example_image.read_bytes()).hexdigest() in html

            # a share link with the default parts, opened by someone else, then revoked on the page
            page.locator("#spot-share").get_by_text(tr("sh_title", "en")).click()
            page.locator("#spot-share-create").click()
            link_box = page.locator("#spot-share-link textarea, #spot-share-link input").first
            expect(link_box).to_have_value(re.compile("/share/"), timeout=30_000)
            link = link_box.input_value()
            stranger = browser.new_context().new_page()
            stranger.goto(link)
            expect(stranger.locator("h1")).to_have_text(tr("sh_page_title", "en"))
            page.locator("#spot-share-revoke").click()
            expect(page.locator("#spot-share-status")).to_contain_text(tr("sh_revoked", "en"), timeout=30_000)
            response = stranger.goto(link)
            assert response is not None and response.status == 404
            expect(stranger.locator("#share-gone")).to_have_text(tr("sh_gone", "en"))
            assert errors == []
        finally:
            browser.close()

