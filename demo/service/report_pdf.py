"""The report of one result as PDF bytes (fpdf2), with the same sections as its HTML page.

Fonts come from the classroom handouts (classroom/handout.py: DejaVu Sans for Latin text, a CJK
font for Chinese, `FontMissing` when the server has none); so does the heatmap renderer. The
model's words are printed as they are (after removing control characters), with the clue names of
the glossary in bold orange, as the page marks them.
"""

from __future__ import annotations

import io
import unicodedata

from PIL import Image

from explain.confidence import is_uncertain
from explain.glossary import clue_spans

from ..i18n import tr
from ..i18n.glossary import entry
from .classroom.handout import FontMissing
from .classroom.handout import _Pdf as PdfDoc  # the handouts' font choice, reused as it is
from .report import (
    ReportData,
    clue_keys,
    facts,
    finding_lines,
    key_maps,
    legend_text,
    map_caption,
    map_image,
    map_method,
    picture_with_crop,
    probability_line,
    verdict_label,
)

__all__ = ["FontMissing", "report_pdf"]

_ORANGE = (179, 88, 6)
_INK = (29, 41, 57)


def printable(text: str) -> str:
    """`text` without control or format characters (a NUL or a bidi override from the model's output or
    a file's metadata must not reach the PDF), line breaks kept."""
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")


def _image(doc: PdfDoc, image: Image.Image, x: float, y: float, w: float, max_h: float) -> float:
    """Place `image` at (x, y) within w x max_h mm; return its height."""
    iw, ih = image.size
    scale = min(w / iw, max_h / ih)
    buf = io.BytesIO()  # JPEG: the PDF is for reading (the HTML report keeps lossless PNGs); PNG tripled its size
    image.convert("RGB").save(buf, format="JPEG", quality=90)
    buf.seek(0)
    doc.pdf.image(buf, x=x, y=y, w=iw * scale, h=ih * scale)
    return ih * scale


def _marked_text(doc: PdfDoc, text: str) -> None:
    """The explanation, clue names in bold orange (fpdf2's `write` flows them into one paragraph)."""
    pdf, pos, h = doc.pdf, 0, 5.2
    for start, end, _key in clue_spans(text):
        doc.font(10.5)
        pdf.write(h, doc.text(printable(text[pos:start])))
        doc.font(10.5, bold=True)
        pdf.set_text_color(*_ORANGE)
        pdf.write(h, doc.text(printable(text[start:end])))
        pdf.set_text_color(*_INK)
        pos = end
    doc.font(10.5)
    pdf.write(h, doc.text(printable(text[pos:])))
    pdf.ln(h + 2)


def _heading(doc: PdfDoc, s: str) -> None:
    if doc.pdf.get_y() + 20 > doc.pdf.h - doc.pdf.b_margin:
        doc.pdf.add_page()
    doc.pdf.ln(2)
    doc.para(s, 12.5, bold=True, h=7)


def report_pdf(data: ReportData, lang: str = "en") -> bytes:
    """The report as PDF bytes. Raises FontMissing when `lang` needs a font this server lacks."""
    doc = PdfDoc(lang)
    pdf, lang = doc.pdf, doc.lang
    pdf.set_title(tr("rp_title", lang))
    pdf.set_text_color(*_INK)
    pdf.add_page()
    doc.para(tr("rp_title", lang), 16, bold=True, h=8)
    pdf.ln(2)
    top = pdf.get_y()
    pic_h, x_facts = 0.0, pdf.l_margin
    if "picture" in data.parts and data.picture is not None:
        pic_h = _image(doc, picture_with_crop(data), pdf.l_margin, top, 95.0, 80.0)
        x_facts = pdf.l_margin + 101
    width = pdf.w - pdf.r_margin - x_facts
    pdf.set_xy(x_facts, top)
    lines = [(tr("ho_model_says", lang), 10, False), (verdict_label(data, lang), 15, True),
             (probability_line(data, lang), 10, False)]
    if is_uncertain(data.p_fake):
        lines.append((tr("verdict_uncertain", lang), 10, True))
    lines.append((tr("verdict_caveat", lang), 8.5, False))
    for s, size, bold in lines:
        pdf.set_x(x_facts)
        doc.para(s, size, bold, w=width)
        pdf.ln(1.2)
    if data.view is not None and "picture" in data.parts:
        pdf.set_x(x_facts)
        y = pdf.get_y() + 1
        h = _image(doc, data.view, x_facts, y, min(width, 45.0), 45.0)
        pdf.set_xy(x_facts, y + h + 0.5)
        doc.para(tr("crop_label", lang), 7.5, w=width)
    pdf.set_y(max(pdf.get_y(), top + pic_h) + 3)
    if "explanation" in data.parts and data.text:
        _heading(doc, tr("explanation_label", lang))
        _marked_text(doc, data.text)
        for k in clue_keys(data):
            c = entry(k, lang)
            doc.para(c.title, 9.5, bold=True, h=5)
            doc.para(f"{tr('gl_look_for', lang)} {c.look_for} {tr('gl_why', lang)} {c.why}", 8.5)
            pdf.ln(1)
    if "maps" in data.parts:
        _maps(doc, data)
    if "evidence" in data.parts:
        _heading(doc, tr("evidence_title", lang))
        doc.para(tr("evidence_intro", lang), 8.5)
        rows = finding_lines(data.provenance, lang)
        if not rows:
            doc.para(tr("evidence_none", lang), 9.5)
        for label, title, meaning in rows:
            doc.para(printable(f"{title} ({label})"), 9.5, bold=True, h=5)
            doc.para(printable(meaning), 9)
    _heading(doc, tr("rp_about", lang))
    for k, v in facts(data, lang):
        doc.para(printable(f"{k}: {v}"), 9, h=4.8)
    pdf.ln(2)
    doc.para(tr("rp_footer", lang), 8)
    return bytes(pdf.output())


def _maps(doc: PdfDoc, data: ReportData) -> None:
    pdf, lang = doc.pdf, doc.lang
    maps = key_maps(data)
    _heading(doc, tr("ho_key_phrases", lang))
    if not maps:
        doc.para(tr("rp_no_maps", lang), 9.5)
        return
    cell, gap = 42.0, 3.3
    if pdf.get_y() + 70 > pdf.h - pdf.b_margin:
        pdf.add_page()
    y0, bottoms = pdf.get_y(), []
    for n, m in enumerate(maps):
        x = pdf.l_margin + n * (cell + gap)
        h = _image(doc, map_image(data, m, 420), x, y0, cell, 42.0)
        pdf.set_xy(x, y0 + h + 1)
        doc.para(printable(map_caption(data, m, lang)), 7.5, w=cell)
        pdf.set_x(x)
        doc.para(map_method(m, lang), 7, w=cell)
        bottoms.append(pdf.get_y())
    pdf.set_y(max(bottoms) + 2)
    doc.para(legend_text(maps, lang), 8.5)
    if any(m.language_prior for m in maps):
        doc.para(tr("prior_legend", lang), 8.5)
