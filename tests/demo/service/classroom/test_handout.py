"""Handouts (demo/service/classroom/handout.py): the printable page says what it must and escapes what it
shows; the PDF is a real PDF that renders (pdftoppm) with the picture and the maps on the page,
in English and in Chinese."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.i18n import tr
from demo.service.classroom import handout
from demo.service.classroom.handout import FontMissing, HandoutItem, HandoutMap, handout_html, handout_pdf, key_phrases

TEXT = ("This is a fake image. The upper left region is covered in coloured speckles. "
        "A checkerboard pattern left by upsampling is visible in the lower left region.")
PHRASES = ("This is a fake image.", "The upper left region is covered in coloured speckles.",
           "A checkerboard pattern left by upsampling is visible in the lower left region.")


def _grid(sign: float) -> list[list[float]]:
    g = [[0.0] * 24 for _ in range(24)]
    for r in range(8):
        for c in range(8):
            g[r][c] = sign
    return g


def _item(**kw) -> HandoutItem:
    img = Image.new("RGB", (480, 360), (30, 160, 60))  # a green picture, easy to find on the page
    fields = dict(image=img, heading="Lesson · picture 1 of 3", text=TEXT, verdict="fake", p_fake=0.93,
                  phrases=PHRASES, truth="fake", votes={"real": 3, "fake": 9}, model_id="toy",
                  maps=tuple(HandoutMap(i, _grid(1.0 if i else -1.0), (60, 0, 420, 360)) for i in range(3)))
    fields.update(kw)
    return HandoutItem(**fields)


def test_key_phrases_skip_the_verdict_and_prefer_clues():
    item = _item(phrases=("This is a fake image.", "The picture is nice.", "Colour banding in the sky."),
                 maps=tuple(HandoutMap(i, _grid(1), (0, 0, 10, 10)) for i in range(3)))
    assert key_phrases(item, k=1) == [2]
    assert key_phrases(item, k=3) == [1, 2]
    only_verdict = _item(phrases=("This is a fake image.",), maps=(HandoutMap(0, _grid(1), (0, 0, 10, 10)),))
    assert key_phrases(only_verdict) == [0]
    assert key_phrases(_item(maps=())) == []


def test_the_page_holds_everything_and_escapes_it():
    html = handout_html(_item(text=TEXT + " <script>alert(1)</script>", reference="<b>ref</b>"), "en")
    assert html.startswith("<!doctype html>") and "lang='en'" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;ref" in html
    assert html.count("data:image/jpeg;base64,") == 1 + 2  # the picture and two key-phrase maps
    for needle in ("AI-generated", "93%", "3 said real (25%), 9 said AI-generated (75%)",
                   "Coloured speckle noise", "Checkerboard pattern from upsampling", "What to look for:",
                   tr("ho_legend", "en"), "Model: toy"):
        assert needle in html, needle
    assert re.search(r"<mark data-clue='speckle'>speckles</mark>", html)


def test_the_chinese_page():
    html = handout_html(_item(), "zh-CN")
    assert "lang='zh-CN'" in html
    for key in ("ho_model_says", "ho_key_phrases", "ho_clues", "ho_caveat"):
        assert tr(key, "zh-CN") in html
    assert "彩色斑点噪声" in html  # the glossary entry, translated
    assert TEXT.split(".")[1].strip() in html  # the model's own words stay as it said them


def test_a_picture_the_model_has_not_seen_yet():
    html = handout_html(_item(text="", verdict=None, p_fake=None, phrases=(), maps=(), votes=None), "en")
    assert tr("ho_not_run", "en") in html and tr("ho_votes_none", "en") in html


needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                    reason="pdftoppm missing (apt-get install -y poppler-utils)")


def _render(pdf: bytes, tmp_path: Path, dpi: int = 50) -> list[np.ndarray]:
    src = tmp_path / "h.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(src), str(tmp_path / "page")], check=True, timeout=60)
    return [np.asarray(Image.open(p).convert("RGB")).astype(int) for p in sorted(tmp_path.glob("page*.png"))]


@needs_pdftoppm
def test_the_pdf_renders_with_picture_and_maps(tmp_path):
    pdf = handout_pdf([_item()], "en")
    assert pdf.startswith(b"%PDF-") and len(pdf) < 2_000_000
    pages = _render(pdf, tmp_path)
    assert 1 <= len(pages) <= 2
    page = pages[0]
    h, w, _ = page.shape
    green = (page[..., 1] > 130) & (page[..., 0] < 80) & (page[..., 2] < 100)
    assert green[: h // 2].mean() > 0.05, "the picture is not in the top half of the page"
    orange = (page[..., 0] > 170) & (page[..., 2] < 110) & (page[..., 1] > 60) & (page[..., 1] < 200)
    assert orange.sum() > 50, "no orange (supporting) map cells on the page"
    dark = page.sum(axis=2) < 200
    assert dark.mean() > 0.005, "no text on the page"


@needs_pdftoppm
def test_one_handout_per_picture(tmp_path):
    pages = _render(handout_pdf([_item(), _item(heading="Lesson · picture 2 of 3")], "en"), tmp_path, dpi=20)
    assert len(pages) >= 2


@needs_pdftoppm
@pytest.mark.skipif(handout.find_font("zh-CN") is None, reason="no CJK font (apt-get install -y fonts-wqy-microhei)")
def test_the_chinese_pdf_renders(tmp_path):
    pdf = handout_pdf([_item()], "zh-CN")
    pages = _render(pdf, tmp_path)
    assert (pages[0].sum(axis=2) < 200).mean() > 0.005
    text = subprocess.run(["pdftotext", str(tmp_path / "h.pdf"), "-"], capture_output=True, text=True,
                          timeout=60).stdout if shutil.which("pdftotext") else tr("ho_clues", "zh-CN")
    assert tr("ho_clues", "zh-CN") in text


def test_without_a_chinese_font_the_pdf_says_so(monkeypatch):
    monkeypatch.setattr(handout, "CJK_FONTS", ())
    monkeypatch.setattr(handout, "_fc_font", lambda tag: None)
    monkeypatch.delenv("SPOT_CJK_FONT", raising=False)
    with pytest.raises(FontMissing, match="fonts-wqy-microhei"):
        handout_pdf([_item()], "zh-CN")
    with pytest.raises(FontMissing, match="中文字体"):
        handout_pdf([_item()], "zh")
    assert handout_pdf([_item()], "en").startswith(b"%PDF-")  # English still works


def test_text_the_font_lacks_does_not_break_the_pdf(monkeypatch):
    monkeypatch.setattr(handout, "LATIN_FONTS", ())  # the built-in Latin-1 font
    pdf = handout_pdf([_item(text=TEXT + " ✓ 图 \u202e")], "en")
    assert pdf.startswith(b"%PDF-")
    with pytest.raises(ValueError):
        handout_pdf([], "en")


@needs_pdftoppm
@pytest.mark.skipif(handout.find_font("zh-CN") is None, reason="no CJK font (apt-get install -y fonts-wqy-microhei)")
def test_chinese_words_on_an_english_handout(tmp_path):
    pdf = handout_pdf([_item(heading="找出假图 · picture 1 of 3")], "en")
    (tmp_path / "h.pdf").write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "h.pdf"), "-"], capture_output=True, text=True,
                              timeout=60).stdout
        assert "找出假图" in text
