"""The documentation's screenshots, made by a command and never by the test suite: the main page after
a result on a shipped example, and the classroom's teacher and student pages after a reveal, at phone
and desktop sizes, in the light and dark themes, with the browser set to English and to Simplified
Chinese.

    python scripts/screenshots.py --out docs/screenshots         # everything (or: make screenshots)
    python scripts/screenshots.py --out /tmp/shots --pages main --sizes phone --themes dark --langs en

It starts `app.py --model toy` on a free port with a throwaway data folder and drives Debian's
Chromium through Playwright (a dev dependency: the app never imports this file). Files are JPEGs
named `{page}-{lang}-{theme}-{size}.jpg`; the list of what it wrote is printed.

    python scripts/screenshots.py --handout docs/handout-sample.png   # the classroom handout's first page

prints the handout of the revealed picture and renders its first page with pdftoppm (poppler-utils).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SPOT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
THEMES = ("light", "dark")
LANGS = {"en": "en-US", "zh": "zh-CN"}
PAGES = ("main", "teacher", "student")
EXAMPLE = "two-artifacts"  # the shipped example the main page is shown with
QUALITY = 72
MAX_HEIGHT = 3000  # a taller page is cut there: the docs show the top of it, and the file stays small
HEATMAP_READY = ("(sel) => { const el = document.querySelector(sel + ' .js-plotly-plot');"
                 " return !!el && (el.data || []).some(t => t.type === 'heatmap'); }")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(workdir: Path, timeout_s: float = 180) -> Iterator[str]:
    """`app.py --model toy` on a free loopback port, its data in `workdir`; yields the page's URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_", "GRADIO_"))}
    env.update({"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1",
                "GRADIO_TEMP_DIR": str(workdir / "uploads"), "TOKENIZERS_PARALLELISM": "false"})
    log_path = workdir / "app.log"
    cmd = [sys.executable, str(ROOT / "app.py"), "--model", "toy", "--device", "cpu", "--host", "127.0.0.1",
           "--port", str(port), "--data-dir", str(workdir / "data"), "--rate-limit", "1000"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"app.py did not answer within {timeout_s} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _field(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def main_page_with_result(browser, url: str, locale: str, *, color_scheme: str = "light"):
    """The main page after the shipped example has been explained and its maps drawn."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale,
                               color_scheme=color_scheme).new_page()
    page.goto(url, wait_until="domcontentloaded")
    examples = page.locator("#spot-examples button")
    examples.first.wait_for(timeout=60_000)
    pick = page.locator("#spot-examples button", has_text=EXAMPLE.replace("-", " "))
    (pick if pick.count() else examples).first.click()
    page.locator("#spot-verdict[data-verdict]").wait_for(timeout=120_000)
    page.wait_for_function(HEATMAP_READY, arg="#spot-heatmap", timeout=120_000)
    return page


def classroom_after_reveal(browser, url: str, locale: str, *, color_scheme: str = "light"):
    """A teacher's and a student's classroom pages: a lesson set of the shipped examples, a session,
    the student's answer, and the reveal of the first picture with its maps."""
    def new_page(width: int):
        return browser.new_context(viewport={"width": width, "height": 900}, locale=locale,
                                   color_scheme=color_scheme).new_page()

    page_url = url + "classroom"
    teacher = new_page(1280)
    teacher.goto(page_url, wait_until="domcontentloaded")
    # the page's load event redraws the (empty) list of pending pictures: wait until it has run (it also
    # stores the browser's classroom token) before adding any, or the first one is drawn over
    teacher.wait_for_function("() => !!localStorage.getItem('spot-classroom-student-v1')", timeout=60_000)
    teacher.locator("#cls-tab-teacher-button").click(timeout=60_000)
    examples = teacher.locator("#cls-examples label")
    examples.first.wait_for(timeout=30_000)
    for n, label in enumerate(examples.all(), start=1):  # one at a time: each adds a row to the pending list
        label.click()
        teacher.wait_for_function("(n) => document.querySelectorAll('#cls-pending .virtual-row').length >= n",
                                  arg=n, timeout=60_000)
    teacher.locator("#cls-create-set").click()
    teacher.wait_for_function("() => { const e = document.querySelector('#cls-set-code input, #cls-set-code "
                              "textarea'); return e && e.value.length > 0; }", timeout=60_000)
    teacher.locator("#cls-start-session").click()
    code_el = teacher.locator("#cls-banner-code")
    code_el.wait_for(timeout=30_000)
    code = code_el.get_attribute("data-code")

    student = new_page(1280)
    student.goto(f"{page_url}?code={code}", wait_until="domcontentloaded")
    student.wait_for_function("(c) => { const e = document.querySelector('#cls-join-code input, #cls-join-code "
                              "textarea'); return e && e.value === c; }", arg=code, timeout=60_000)
    _field(student, "cls-nickname").fill("Ann")
    student.locator("#cls-join").click()
    student.locator("#cls-st-image img").wait_for(timeout=60_000)
    student.locator("#cls-st-guess label").first.click()
    student.locator("#cls-st-submit").click()
    student.locator("#cls-st-answer-status p").first.wait_for(timeout=30_000)
    teacher.locator("#cls-reveal").click()
    for pg, prefix in ((teacher, "cls-t"), (student, "cls-st")):
        pg.locator(f"#{prefix}-chips label").first.wait_for(timeout=180_000)
        pg.wait_for_function(HEATMAP_READY, arg=f"#{prefix}-heatmap", timeout=120_000)
    return teacher, student


def show(page, size: str | tuple[int, int], theme: str) -> None:
    """Resize the page (a name of SIZES, or width and height) and switch its theme (Gradio follows the
    browser's colour scheme as it changes)."""
    width, height = SIZES[size] if isinstance(size, str) else size
    page.set_viewport_size({"width": width, "height": height})
    page.emulate_media(color_scheme=theme)
    page.wait_for_function("(dark) => document.body.classList.contains('dark') === dark", arg=theme == "dark")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(600)  # layout after the resize, and the theme's colour transitions


def shoot(page, path: Path, size: str, theme: str) -> Path:
    """A JPEG of the page's top, at most MAX_HEIGHT pixels tall."""
    from PIL import Image

    show(page, size, theme)
    png = page.screenshot(full_page=True, type="png")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return path


def make(out: Path, *, pages=PAGES, sizes=tuple(SIZES), themes=THEMES, langs=tuple(LANGS)) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="spot-shots-") as tmp, running_app(Path(tmp)) as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for lang in langs:
                shown = {}
                if "main" in pages:
                    shown["main"] = main_page_with_result(browser, url, LANGS[lang])
                if {"teacher", "student"} & set(pages):
                    shown["teacher"], shown["student"] = classroom_after_reveal(browser, url, LANGS[lang])
                for name in pages:
                    for size in sizes:
                        for theme in themes:
                            written.append(shoot(shown[name], out / f"{name}-{lang}-{theme}-{size}.jpg", size, theme))
                for page in shown.values():
                    page.context.close()
        finally:
            browser.close()
    return written


def handout_sample(out: Path, *, lang: str = "en", dpi: int = 80) -> Path:
    """The handout PDF of the revealed picture, as a teacher prints it, its first page as a PNG."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="spot-handout-") as tmp, running_app(Path(tmp)) as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            teacher, _ = classroom_after_reveal(browser, url, LANGS[lang])
            teacher.locator("#cls-t-more > button, #cls-t-more .label-wrap").first.click()  # folded
            teacher.locator("#cls-handout").click()
            link = teacher.locator("#cls-files a[download$='.pdf']").first
            link.wait_for(state="attached", timeout=180_000)
            pdf = Path(tmp) / "handout.pdf"
            pdf.write_bytes(teacher.request.get(link.get_attribute("href")).body())
        finally:
            browser.close()
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(Path(tmp) / "page")], check=True, timeout=120)
        out.parent.mkdir(parents=True, exist_ok=True)
        from PIL import Image

        Image.open(Path(tmp) / "page.png").convert("RGB").save(out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the JPEGs")
    ap.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--themes", nargs="+", choices=THEMES, default=list(THEMES))
    ap.add_argument("--langs", nargs="+", choices=list(LANGS), default=list(LANGS))
    ap.add_argument("--handout", type=Path, default=None,
                    help="instead: the classroom handout's first page as this PNG (needs pdftoppm)")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).is_file():
        ap.error(f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set SPOT_CHROMIUM)")
    if args.handout is not None:
        path = handout_sample(args.handout)
        print(f"{path}  {path.stat().st_size // 1024} KiB")
        return 0
    for path in make(args.out, pages=args.pages, sizes=args.sizes, themes=args.themes, langs=args.langs):
        print(f"{path}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
