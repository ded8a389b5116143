"""Handouts for offline lessons: one printable HTML page, or PDF pages, per picture.

A handout shows the picture, the model's verdict and explanation, the heatmaps of the key phrases
(drawn with Pillow, heatmap.py beside this file), the ground truth when known, how the class voted,
and the glossary entries of the clues the explanation mentions. `handout_html` gives a
self-contained page (images inline) that any browser prints; `handout_pdf` gives PDF bytes made
with fpdf2 (pure Python).

Fonts: PDFs need a font file with the glyphs. Latin text uses DejaVu Sans when present; Chinese
needs a CJK font (`SPOT_CJK_FONT`, or one of the usual system paths: apt package
fonts-wqy-microhei or fonts-noto-cjk). Without one, a Chinese PDF cannot be made and
`FontMissing` says so; the HTML page still works, since the reader's browser brings its own fonts.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path

from PIL import Image

from explain.glossary import clue_spans, clues_in
from explain.types import Box

from ...i18n import normalize, tr
from ...i18n.glossary import GLOSSARY, entry
from . import heatmap

LATIN_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
MAX_KEY_PHRASES = 3
PRINT_OPACITY = 0.85  # paper washes colours out; the screen uses 0.7


class FontMissing(RuntimeError):
    """No font on this server can print the handout's language as a PDF."""


@dataclass(frozen=True)
class HandoutMap:
    phrase_index: int
    grid: Sequence[Sequence[float]]
    crop_box: Box


@dataclass(frozen=True)
class HandoutItem:
    """Everything one handout page shows, as plain data."""

    image: Image.Image
    heading: str
    text: str = ""  # the model's explanation ("" when the model has not run)
    verdict: str | None = None
    p_fake: float | None = None
    phrases: tuple[str, ...] = ()
    maps: tuple[HandoutMap, ...] = ()
    truth: str | None = None  # "real" | "fake" | None (unknown)
    reference: str | None = None  # a reference explanation (FakeClue), when known
    votes: dict[str, int] | None = None  # {"real": n, "fake": n}
    model_id: str = ""
    extra_clues: tuple[str, ...] = field(default_factory=tuple)


def key_phrases(item: HandoutItem, k: int = MAX_KEY_PHRASES) -> list[int]:
    """Indices of the phrases worth a heatmap: those with a map, not the bare verdict sentence
    (unless nothing else has a map), the ones naming a glossary clue first, then in reading order."""
    mapped = {m.phrase_index for m in item.maps}
    candidates = [i for i in range(len(item.phrases)) if i in mapped and i > 0] or \
                 [i for i in range(len(item.phrases)) if i in mapped]
    ranked = sorted(candidates, key=lambda i: (not clues_in(item.phrases[i]), i))
    return sorted(ranked[:k])


def clue_keys(item: HandoutItem) -> list[str]:
    keys = clues_in(item.text) + [c for c in clues_in(item.reference or "")] + list(item.extra_clues)
    return [k for k in dict.fromkeys(keys) if k in GLOSSARY]


def _verdict_label(verdict: str | None, lang: str) -> str:
    return tr(f"verdict_{verdict}", lang) if verdict in ("real", "fake", "undecided") else tr("verdict_none", lang)


def _truth_label(truth: str | None, lang: str) -> str:
    return tr(f"truth_{truth}", lang) if truth in ("real", "fake") else tr("truth_unknown", lang)


def _votes_line(votes: dict[str, int] | None, lang: str) -> str:
    if not votes:
        return tr("ho_votes_none", lang)
    real, fake = int(votes.get("real", 0)), int(votes.get("fake", 0))
    n = real + fake
    if n == 0:
        return tr("ho_votes_none", lang)
    return tr("ho_votes", lang, real=real, fake=fake, real_pct=round(100 * real / n), fake_pct=round(100 * fake / n))


def _jpeg_uri(image: Image.Image, quality: int = 85) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _map_of(item: HandoutItem, index: int) -> HandoutMap | None:
    return next((m for m in item.maps if m.phrase_index == index), None)


# --------------------------------------------------------------------------- HTML

_CSS = """
@page { size: A4; margin: 14mm; }
body { font-family: system-ui, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       color: #1d2939; margin: 0 auto; max-width: 190mm; line-height: 1.4; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 15px; margin: 14px 0 6px; border-bottom: 1px solid #d0d5dd; }
.top { display: flex; gap: 14px; align-items: flex-start; }
.top img { max-width: 55%; max-height: 110mm; border: 1px solid #d0d5dd; }
.facts div { margin-bottom: 6px; }
.verdict { font-size: 18px; font-weight: 700; }
.maps { display: flex; gap: 8px; flex-wrap: wrap; }
.maps figure { margin: 0; width: 58mm; }
.maps img { width: 100%; border: 1px solid #d0d5dd; }
figcaption { font-size: 11px; }
.legend { font-size: 11px; color: #475467; }
.clue { break-inside: avoid; margin-bottom: 8px; font-size: 12.5px; }
.clue b { font-size: 13.5px; }
.caveat, .foot { font-size: 11px; color: #667085; }
mark { background: #fdebd8; padding: 0 2px; }
@media print { .noprint { display: none; } }
"""


def handout_html(item: HandoutItem, lang: str = "en") -> str:
    """A self-contained printable page (pictures inline as data URIs; nothing fetched)."""
    lang = normalize(lang)
    e = escape
    parts = [f"<!doctype html><html lang='{e(lang)}'><head><meta charset='utf-8'>",
             f"<title>{e(item.heading)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(item.heading)}</h1>",
             "<div class='top'>",
             f"<img src='{_jpeg_uri(_shrunk(item.image, 1200))}' alt='{e(tr('ho_picture', lang))}'>",
             "<div class='facts'>"]
    if item.text:
        p = "" if item.p_fake is None else " " + tr("ho_p_fake", lang, pct=round(100 * item.p_fake))
        parts.append(f"<div>{e(tr('ho_model_says', lang))}</div>"
                     f"<div class='verdict'>{e(_verdict_label(item.verdict, lang))}{e(p)}</div>")
    else:
        parts.append(f"<div>{e(tr('ho_not_run', lang))}</div>")
    parts.append(f"<div>{e(tr('ho_truth', lang))}: <b>{e(_truth_label(item.truth, lang))}</b></div>")
    parts.append(f"<div>{e(tr('ho_class', lang))}: {e(_votes_line(item.votes, lang))}</div>")
    parts.append("</div></div>")
    if item.text:
        parts.append(f"<h2>{e(tr('ho_explanation', lang))}</h2><p>{marked(item.text)}</p>")
    if item.reference:
        parts.append(f"<h2>{e(tr('ho_reference', lang))}</h2><p>{marked(item.reference)}</p>")
    keys = key_phrases(item)
    if keys:
        parts.append(f"<h2>{e(tr('ho_key_phrases', lang))}</h2><div class='maps'>")
        for i in keys:
            m = _map_of(item, i)
            img = heatmap.overlay(item.image, m.grid if m else None, m.crop_box if m else None, max_side=700,
                                  opacity=PRINT_OPACITY)
            parts.append(f"<figure><img src='{_jpeg_uri(img)}' alt='{e(item.phrases[i])}'>"
                         f"<figcaption>{e(item.phrases[i])}</figcaption></figure>")
        parts.append(f"</div><p class='legend'>{e(tr('ho_legend', lang))}</p>")
    clues = clue_keys(item)
    if clues:
        parts.append(f"<h2>{e(tr('ho_clues', lang))}</h2>")
        for k in clues:
            c = entry(k, lang)
            parts.append(f"<div class='clue' id='clue-{e(k)}'><b>{e(c.title)}</b><br>"
                         f"<i>{e(tr('gl_look_for', lang))}</i> {e(c.look_for)}<br>"
                         f"<i>{e(tr('gl_why', lang))}</i> {e(c.why)}</div>")
    parts.append(f"<p class='caveat'>{e(tr('ho_caveat', lang))}</p>")
    if item.model_id:
        parts.append(f"<p class='foot'>{e(tr('ho_model', lang, model=item.model_id))}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def _shrunk(image: Image.Image, max_side: int) -> Image.Image:
    w, h = image.size
    s = min(1.0, max_side / max(w, h))
    if s == 1.0:
        return image
    return image.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------- PDF


@lru_cache(maxsize=4)
def _fc_font(lang_tag: str) -> str | None:
    """A font file fontconfig knows for a language (`fc-list :lang=zh file`), when fc-list exists."""
    exe = shutil.which("fc-list")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, f":lang={lang_tag}", "file"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.strip().rstrip(":") for line in out.splitlines() if line.strip())
    files = [f for f in files if f.lower().endswith((".ttf", ".ttc", ".otf"))]
    return files[0] if files else None


def find_font(lang: str) -> str | None:
    """A font file for `lang` (None when none is found)."""
    if normalize(lang).startswith("zh"):
        env = os.environ.get("SPOT_CJK_FONT")
        if env and Path(env).is_file():
            return env
        return next((f for f in CJK_FONTS if Path(f).is_file()), None) or _fc_font("zh-cn")
    return next((f for f in LATIN_FONTS if Path(f).is_file()), None)


class _Pdf:
    """fpdf2 with one Unicode font family ("body") chosen for the language."""

    def __init__(self, lang: str) -> None:
        from fpdf import FPDF  # noqa: PLC0415 - only the handout needs it

        self.lang = normalize(lang)
        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(True, margin=14)
        self.pdf.set_margins(14, 14, 14)
        self.cjk = self.lang.startswith("zh")
        font = find_font(self.lang)
        if font is None and self.cjk:
            raise FontMissing(tr("ho_font_missing", self.lang))
        self.family = "body"
        if font is None:
            self.family = "helvetica"  # core font: Latin-1 only; other characters are replaced
        else:
            self.pdf.add_font("body", "", font)
            bold = font.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
            self.pdf.add_font("body", "B", bold if Path(bold).is_file() else font)
            cjk = None if self.cjk else find_font("zh-CN")
            if cjk:  # a Chinese lesson title on an English handout still prints
                self.pdf.add_font("cjk", "", cjk)
                self.pdf.set_fallback_fonts(["cjk"], exact_match=False)
        self.pdf.set_title("Spot the Fake handout")
        self.pdf.set_creator("Spot the Fake")

    def text(self, s: str) -> str:
        if self.family == "helvetica":
            return s.encode("latin-1", "replace").decode("latin-1")
        return s

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def para(self, s: str, size: float = 10.5, bold: bool = False, h: float | None = None, w: float = 0) -> None:
        from fpdf.enums import WrapMode, XPos, YPos  # noqa: PLC0415

        self.font(size, bold)
        # Chinese lines break between any two characters; English (the model's words) between words
        wrap = WrapMode.CHAR if _has_cjk(s) else WrapMode.WORD
        self.pdf.multi_cell(w, h or size * 0.5, self.text(s), new_x=XPos.LMARGIN, new_y=YPos.NEXT,
                            wrapmode=wrap, align="L")


def _has_cjk(s: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in s)


def handout_pdf(items: Sequence[HandoutItem], lang: str = "en") -> bytes:
    """PDF bytes: one handout (one or more A4 pages) per item. Raises FontMissing when the
    language needs a font the server lacks."""
    if not items:
        raise ValueError("a handout needs at least one picture")
    doc = _Pdf(lang)
    for item in items:
        _pdf_page(doc, item)
    return bytes(doc.pdf.output())


def _pdf_image(doc: _Pdf, image: Image.Image, x: float, y: float, w: float, max_h: float) -> float:
    """Place `image` at (x, y), `w` wide at most and `max_h` high at most; return its height."""
    iw, ih = image.size
    scale = min(w / iw, max_h / ih)
    buf = io.BytesIO()  # JPEG in the PDF: a photo as lossless PNG would make a handout megabytes
    image.convert("RGB").save(buf, format="JPEG", quality=88)
    buf.seek(0)
    doc.pdf.image(buf, x=x, y=y, w=iw * scale, h=ih * scale)
    return ih * scale


def _pdf_page(doc: _Pdf, item: HandoutItem) -> None:
    pdf, lang = doc.pdf, doc.lang
    pdf.add_page()
    doc.para(item.heading, 16, bold=True, h=8)
    pdf.ln(2)
    top = pdf.get_y()
    pic_w = 100.0
    pic_h = _pdf_image(doc, _shrunk(item.image, 1200), pdf.l_margin, top, pic_w, 85.0)
    x_facts = pdf.l_margin + pic_w + 6
    facts_w = pdf.w - pdf.r_margin - x_facts
    pdf.set_xy(x_facts, top)
    lines: list[tuple[str, float, bool]] = []
    if item.text:
        lines += [(tr("ho_model_says", lang), 10, False), (_verdict_label(item.verdict, lang), 15, True)]
        if item.p_fake is not None:
            lines.append((tr("ho_p_fake", lang, pct=round(100 * item.p_fake)), 9.5, False))
    else:
        lines.append((tr("ho_not_run", lang), 10, False))
    lines += [(f"{tr('ho_truth', lang)}: {_truth_label(item.truth, lang)}", 11, True),
              (f"{tr('ho_class', lang)}: {_votes_line(item.votes, lang)}", 10, False)]
    for s, size, bold in lines:
        pdf.set_x(x_facts)
        doc.para(s, size, bold, w=facts_w)
        pdf.ln(1.5)
    pdf.set_y(max(pdf.get_y(), top + pic_h) + 5)
    if item.text:
        doc.para(tr("ho_explanation", lang), 12.5, bold=True, h=7)
        doc.para(item.text, 10.5)
        pdf.ln(2)
    if item.reference:
        doc.para(tr("ho_reference", lang), 12.5, bold=True, h=7)
        doc.para(item.reference, 10.5)
        pdf.ln(2)
    keys = key_phrases(item)
    if keys:
        doc.para(tr("ho_key_phrases", lang), 12.5, bold=True, h=7)
        cell_w, gap = 58.0, 4.0
        if pdf.get_y() + 75 > pdf.h - pdf.b_margin:
            pdf.add_page()
        y0 = pdf.get_y()
        bottoms = []
        for n, i in enumerate(keys):
            m = _map_of(item, i)
            img = heatmap.overlay(item.image, m.grid if m else None, m.crop_box if m else None, max_side=700,
                                  opacity=PRINT_OPACITY)
            x = pdf.l_margin + n * (cell_w + gap)
            h = _pdf_image(doc, img, x, y0, cell_w, 52.0)
            pdf.set_xy(x, y0 + h + 1)
            doc.para(item.phrases[i], 8.5, w=cell_w)
            bottoms.append(pdf.get_y())
        pdf.set_y(max(bottoms) + 2)
        _pdf_image(doc, heatmap.legend(360, 10), pdf.l_margin, pdf.get_y(), 60.0, 3.0)
        pdf.set_y(pdf.get_y() + 4)
        doc.para(tr("ho_legend", lang), 8.5)
        pdf.ln(2)
    clues = clue_keys(item)
    if clues:
        doc.para(tr("ho_clues", lang), 12.5, bold=True, h=7)
        for k in clues:
            c = entry(k, lang)
            doc.para(c.title, 10.5, bold=True, h=5.5)
            doc.para(f"{tr('gl_look_for', lang)} {c.look_for}", 9.5)
            doc.para(f"{tr('gl_why', lang)} {c.why}", 9.5)
            pdf.ln(1.5)
    pdf.ln(2)
    doc.para(tr("ho_caveat", lang), 8.5)
    if item.model_id:
        doc.para(tr("ho_model", lang, model=item.model_id), 8.5)


def marked(text: str) -> str:
    """`text` escaped, with every glossary clue it mentions marked (title on hover)."""
    out, pos = [], 0
    for start, end, key in clue_spans(text):
        out.append(escape(text[pos:start]))
        out.append(f"<mark data-clue='{escape(key)}'>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)
