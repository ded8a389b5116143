"""A report of one result: the same content as a self-contained HTML page, a PDF, or a share page.

`ReportData` is everything a report may show, as plain data: the picture and the model's 336 px
crop, verdict, probability and the uncertain band, the explanation (clues marked), the key
phrases' maps, the evidence found in the file, the model, its revision and licence, the times, and
the picture's sha256. `report_html` writes it as one HTML page that needs nothing else: pictures
are PNG data URIs, there is no script, and a Content-Security-Policy forbids fetching anything.
The PDF (report_pdf.py) shows the same sections. A share page (sharing.py) is the same HTML with
only the parts its visitor chose (`PARTS`), built from the JSON snapshot `to_json` makes.

Every text here is untrusted (the model's words, file metadata) and is HTML-escaped; maps are drawn
with Pillow by the handouts' own renderer (classroom/heatmap.py), the same reading as the page.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from PIL import Image

from explain.confidence import is_uncertain
from explain.glossary import clues_in

from ..i18n import EN, normalize, tr
from ..i18n.glossary import GLOSSARY, entry
from .classroom import heatmap
from .classroom.handout import marked

PARTS = ("picture", "explanation", "maps", "evidence")  # what a visitor may choose to share
MAX_KEY_MAPS = 4
PICTURE_MAX_SIDE = 1024
NEUTRAL = (206, 210, 218)  # the square a map is drawn on when the picture is not shown


@dataclass(frozen=True)
class ReportMap:
    phrase_index: int
    method: str
    grid: tuple[tuple[float, ...], ...]
    crop_box: tuple[float, float, float, float]  # in the original picture's pixels
    language_prior: bool = False


@dataclass(frozen=True)
class ReportData:
    """One result as a report shows it (plain data; `picture` and `view` are PIL images or None)."""

    verdict: str | None
    p_fake: float | None
    text: str
    phrases: tuple[str, ...]
    model_id: str
    model_revision: str = ""
    model_license: str = ""
    made_at: str = ""  # ISO 8601 UTC: when the model answered
    reported_at: str = ""  # ISO 8601 UTC: when this report was made
    sha256: str = ""
    width: int = 0
    height: int = 0
    crop_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    maps: tuple[ReportMap, ...] = ()
    provenance: dict | None = None
    picture: Any = field(default=None, repr=False)
    view: Any = field(default=None, repr=False)
    parts: tuple[str, ...] = PARTS


def key_maps(data: ReportData, k: int = MAX_KEY_MAPS) -> list[ReportMap]:
    """The maps worth showing: not the bare verdict sentence (unless nothing else has a map),
    phrases naming a glossary clue first, then in reading order; at most `k`, in reading order."""
    usable = [m for m in data.maps if 0 <= m.phrase_index < len(data.phrases)]
    chosen = [m for m in usable if m.phrase_index > 0] or usable
    ranked = sorted(chosen, key=lambda m: (not clues_in(data.phrases[m.phrase_index]), m.phrase_index))
    return sorted(ranked[:k], key=lambda m: m.phrase_index)


def clue_keys(data: ReportData) -> list[str]:
    return [k for k in dict.fromkeys(clues_in(data.text)) if k in GLOSSARY]


# --------------------------------------------------------------------------- snapshots (share links)


def to_json(data: ReportData, parts: Iterable[str]) -> dict[str, Any]:
    """What a share page needs for `parts` (besides the picture's bytes), and nothing more: without
    "picture" no hash, size or crop; without "explanation" no text; and so on."""
    chosen = [p for p in PARTS if p in set(parts)]
    out: dict[str, Any] = {"verdict": data.verdict, "p_fake": data.p_fake, "model_id": data.model_id,
                           "model_revision": data.model_revision, "model_license": data.model_license,
                           "made_at": data.made_at, "parts": chosen}
    if "explanation" in chosen or "maps" in chosen:
        out["phrases"] = list(data.phrases)
    if "explanation" in chosen:
        out["text"] = data.text
    if "maps" in chosen:
        out["maps"] = [{"phrase_index": m.phrase_index, "method": m.method,
                        "grid": [[_finite(v) for v in row] for row in m.grid],
                        "crop_box": [float(v) for v in m.crop_box], "language_prior": m.language_prior}
                       for m in key_maps(data)]
    if "evidence" in chosen:
        out["provenance"] = data.provenance
    if "picture" in chosen:
        out.update(sha256=data.sha256, width=data.width, height=data.height,
                   crop_box=[float(v) for v in data.crop_box])
    return out


def from_json(content: dict[str, Any], picture: bytes | None = None) -> ReportData:
    """A `ReportData` back from `to_json`'s snapshot (and the shared picture's bytes, if any)."""
    parts = tuple(p for p in content.get("parts", ()) if p in PARTS)
    image = None
    if picture is not None and "picture" in parts:
        image = Image.open(io.BytesIO(picture))
        image.load()
        image = image.convert("RGB")
    maps = tuple(ReportMap(int(m["phrase_index"]), str(m.get("method", "")),
                           tuple(tuple(float(v) for v in row) for row in m["grid"]),
                           tuple(float(v) for v in m["crop_box"]), bool(m.get("language_prior")))
                 for m in content.get("maps") or ())
    p = content.get("p_fake")
    return ReportData(
        verdict=content.get("verdict"), p_fake=float(p) if isinstance(p, (int, float)) else None,
        text=str(content.get("text") or ""), phrases=tuple(str(x) for x in content.get("phrases") or ()),
        model_id=str(content.get("model_id") or ""), model_revision=str(content.get("model_revision") or ""),
        model_license=str(content.get("model_license") or ""), made_at=str(content.get("made_at") or ""),
        sha256=str(content.get("sha256") or ""), width=int(content.get("width") or 0),
        height=int(content.get("height") or 0),
        crop_box=tuple(float(v) for v in content.get("crop_box") or (0, 0, 0, 0)), maps=maps,
        provenance=content.get("provenance"), picture=image, parts=parts)


def shared_picture(image: Image.Image) -> bytes:
    """The picture as a share keeps it: at most 1024 px, re-encoded as PNG, so none of the file's
    metadata (GPS position, camera serial, editing history) travels with the link."""
    return png_bytes(shrunk(image, PICTURE_MAX_SIDE))


def _finite(v: float) -> float:
    return float(v) if math.isfinite(float(v)) else 0.0


# --------------------------------------------------------------------------- pictures


def shrunk(image: Image.Image, max_side: int) -> Image.Image:
    w, h = image.size
    s = min(1.0, max_side / max(w, h))
    if s == 1.0:
        return image.convert("RGB")
    return image.convert("RGB").resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.LANCZOS)


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def data_uri(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def map_image(data: ReportData, m: ReportMap, max_side: int = 480) -> Image.Image:
    """A phrase's map over the picture (crop outlined, unseen margins dimmed) or, when the picture is
    not part of this report, over a neutral square standing for the model's crop."""
    if data.picture is not None:
        s = data.picture.width / data.width if data.width else 1.0
        box = tuple(v * s for v in m.crop_box)
        return heatmap.overlay(data.picture, m.grid, box, max_side=max_side, opacity=0.8)
    square = Image.new("RGB", (336, 336), NEUTRAL)
    return heatmap.overlay(square, m.grid, (0, 0, 336, 336), max_side=max_side, opacity=0.9)


def picture_with_crop(data: ReportData, max_side: int = 900) -> Image.Image:
    s = data.picture.width / data.width if data.width else 1.0
    return heatmap.overlay(data.picture, None, tuple(v * s for v in data.crop_box), max_side=max_side)


# --------------------------------------------------------------------------- words


def verdict_label(data: ReportData, lang: str) -> str:
    key = data.verdict if data.verdict in ("real", "fake", "undecided") else "undecided"
    return tr(f"verdict_label_{key}", lang)


def probability_line(data: ReportData, lang: str) -> str:
    if data.p_fake is None or not math.isfinite(data.p_fake):
        return tr("verdict_prob_missing", lang)
    return tr("rp_probability", lang, pct=f"{100 * data.p_fake:.0f}%")


def map_caption(data: ReportData, m: ReportMap, lang: str) -> str:
    text = data.phrases[m.phrase_index]
    return tr("chip_prior", lang, text=text) if m.language_prior else text


def map_method(m: ReportMap, lang: str) -> str:
    return tr("map_faithful" if m.method == "occlusion" else "map_fast", lang)


def legend_text(maps: Sequence[ReportMap], lang: str) -> str:
    signed = any(min(min(r) for r in m.grid) < 0 for m in maps)
    return tr("rp_legend_signed" if signed else "rp_legend_magnitude", lang)


def finding_lines(provenance: dict | None, lang: str) -> list[tuple[str, str, str]]:
    """(strength and direction, title, meaning) of each finding, as the evidence panel words them."""
    rows = []
    for f in (provenance or {}).get("findings") or []:
        if not isinstance(f, dict):
            continue
        strength, points = str(f.get("strength", "info")), str(f.get("points_to", "none"))
        label = tr(f"strength_{strength}", lang) if f"strength_{strength}" in EN else strength
        if f"points_{points}" in EN:
            label += " · " + tr(f"points_{points}", lang)
        rows.append((label, str(f.get("title", "")), str(f.get("meaning", ""))))
    return rows


def facts(data: ReportData, lang: str) -> list[tuple[str, str]]:
    """The report's small print, as (label, value) rows."""
    rev = f" @ {data.model_revision}" if data.model_revision else ""
    rows = [(tr("rp_model", lang), data.model_id + rev),
            (tr("rp_license", lang), data.model_license or tr("rp_unknown", lang))]
    if data.made_at:
        rows.append((tr("rp_made_at", lang), data.made_at))
    if data.reported_at:
        rows.append((tr("rp_reported_at", lang), data.reported_at))
    if data.sha256:
        rows.append((tr("rp_sha256", lang), data.sha256))
        rows.append((tr("rp_size", lang), f"{data.width} × {data.height}"))
    return rows


# --------------------------------------------------------------------------- HTML

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
_CSS = """
body { font-family: system-ui, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       color: #1d2939; margin: 0 auto; max-width: 980px; padding: 16px; line-height: 1.45; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 8px; border-bottom: 1px solid #d0d5dd; }
.top { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.top figure { margin: 0; max-width: 100%; } .top img { max-width: min(100%, 520px); border: 1px solid #d0d5dd; }
.verdict { font-size: 20px; font-weight: 700; } .fake { color: #b42318; } .real { color: #067647; }
.uncertain { background: #fef0c7; padding: 4px 8px; border-radius: 4px; }
.maps { display: flex; gap: 10px; flex-wrap: wrap; } .maps figure { margin: 0; width: 220px; }
.maps img { width: 100%; border: 1px solid #d0d5dd; } figcaption, .small { font-size: 12px; color: #475467; }
mark { background: #fdebd8; padding: 0 2px; } table.facts td { padding: 2px 10px 2px 0; vertical-align: top; }
.facts td:last-child { word-break: break-all; } .evidence li { margin-bottom: 6px; } .caveat { color: #667085; }
"""


def report_html(data: ReportData, lang: str = "en", *, title: str | None = None, note: str = "") -> str:
    """The report as one self-contained HTML page (sections: those of `data.parts`)."""
    lang = normalize(lang)
    e = escape
    heading = title or tr("rp_title", lang)
    out = ["<!doctype html>", f"<html lang='{e(lang)}'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width, initial-scale=1'>",
           "<meta name='robots' content='noindex, nofollow'><meta name='referrer' content='no-referrer'>",
           f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
           f"<title>{e(heading)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(heading)}</h1>"]
    if note:
        out.append(f"<p class='small'>{e(note)}</p>")
    out.append("<div class='top'>")
    if "picture" in data.parts and data.picture is not None:
        out.append(f"<figure><img src='{data_uri(picture_with_crop(data))}' alt='{e(tr('rp_picture', lang))}'>"
                   f"<figcaption>{e(tr('rp_picture_caption', lang))}</figcaption></figure>")
        if data.view is not None:
            out.append(f"<figure><img src='{data_uri(data.view)}' alt='{e(tr('crop_label', lang))}' width='336'>"
                       f"<figcaption>{e(tr('crop_label', lang))}</figcaption></figure>")
    key = data.verdict if data.verdict in ("real", "fake") else "undecided"
    out.append(f"<div><div class='small'>{e(tr('ho_model_says', lang))}</div>"
               f"<div class='verdict {key}' id='rp-verdict'>{e(verdict_label(data, lang))}</div>"
               f"<div>{e(probability_line(data, lang))}</div>")
    if is_uncertain(data.p_fake):
        out.append(f"<p class='uncertain'>{e(tr('verdict_uncertain', lang))}</p>")
    out.append(f"<p class='caveat'>{e(tr('verdict_caveat', lang))}</p></div></div>")
    if "explanation" in data.parts and data.text:
        out.append(f"<h2>{e(tr('explanation_label', lang))}</h2><p id='rp-text'>{marked(data.text)}</p>")
        for k in clue_keys(data):
            c = entry(k, lang)
            out.append(f"<p class='small'><b>{e(c.title)}</b> · <i>{e(tr('gl_look_for', lang))}</i> "
                       f"{e(c.look_for)} <i>{e(tr('gl_why', lang))}</i> {e(c.why)}</p>")
    if "maps" in data.parts:
        out.append(_maps_html(data, lang))
    if "evidence" in data.parts:
        out.append(_evidence_html(data, lang))
    out.append(f"<h2>{e(tr('rp_about', lang))}</h2><table class='facts'>")
    out += [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in facts(data, lang)]
    out.append(f"</table><p class='caveat small'>{e(tr('rp_footer', lang))}</p></body></html>")
    return "".join(out)


def _maps_html(data: ReportData, lang: str) -> str:
    e = escape
    maps = key_maps(data)
    if not maps:
        return f"<h2>{e(tr('ho_key_phrases', lang))}</h2><p class='small'>{e(tr('rp_no_maps', lang))}</p>"
    out = [f"<h2>{e(tr('ho_key_phrases', lang))}</h2><div class='maps'>"]
    for m in maps:
        cap = map_caption(data, m, lang)
        out.append(f"<figure><img src='{data_uri(map_image(data, m))}' alt='{e(cap)}'>"
                   f"<figcaption>{e(cap)}<br>{e(map_method(m, lang))}</figcaption></figure>")
    out.append(f"</div><p class='small'>{e(legend_text(maps, lang))}</p>")
    if any(m.language_prior for m in maps):
        out.append(f"<p class='small'>{e(tr('prior_legend', lang))}</p>")
    return "".join(out)


def _evidence_html(data: ReportData, lang: str) -> str:
    e = escape
    out = [f"<h2>{e(tr('evidence_title', lang))}</h2><p class='small'>{e(tr('evidence_intro', lang))}</p>"]
    rows = finding_lines(data.provenance, lang)
    if not rows:
        out.append(f"<p>{e(tr('evidence_none', lang))}</p>")
    else:
        out.append("<ul class='evidence'>")
        out += [f"<li><b>{e(title)}</b> <span class='small'>({e(label)})</span><br>{e(meaning)}</li>"
                for label, title, meaning in rows]
        out.append("</ul>")
    return "".join(out)
