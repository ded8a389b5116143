"""Plotly figures: a phrase's attribution map over the original image, and small multiples.

Coordinates are original-image pixels throughout: the picture is drawn as a `go.Image` scaled to
the original size, the 24x24 grid is a `go.Heatmap` placed on the crop box the model saw, and the
margins the model never saw (CLIP's centre crop) are dimmed. Colours come from a diverging,
colour-blind-safe scale (ColorBrewer PuOr: orange supports the phrase, purple speaks against it)
whose middle is transparent, so cells that do not matter leave the picture visible.
"""

from __future__ import annotations

import base64
import html
import io
import math
import textwrap
from collections.abc import Sequence

import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from .i18n import tr
from .service import Box, PhraseMap
from .service.mapscale import BANDS, evidence_scale, hover_text, legend_text, share_text

# ColorBrewer PuOr (colour-blind safe), purple = against, orange = for; alpha ramps up from 0 at
# the centre so an empty map is invisible.
_PUOR = [
    (0.0, "rgba(84,39,136,0.95)"),
    (0.25, "rgba(153,142,195,0.7)"),
    (0.5, "rgba(247,247,247,0.0)"),
    (0.75, "rgba(241,163,64,0.7)"),
    (1.0, "rgba(179,88,6,0.95)"),
]
# Sequential, for maps that are non-negative by construction (occlusion drops): transparent to
# orange-brown, the same hue family as "supports" above.
_ORANGES = [
    (0.0, "rgba(254,237,222,0.0)"),
    (0.3, "rgba(253,190,133,0.45)"),
    (0.65, "rgba(253,141,60,0.75)"),
    (1.0, "rgba(166,54,3,0.95)"),
]
_DIM = "rgba(10,10,10,0.62)"
ROBUST_QUANTILE = 0.99
_BOX = "#00b3ff"  # the crop outline: cyan stays distinct from the PuOr map under common CVD
# Text colour: a mid grey readable on Gradio's light and dark backgrounds (both about 4.5:1); in the
# page, assets/style.css paints titles and ticks in the theme's own text colour instead.
FONT = "#7a8494"
LABEL_PX = 48  # Gradio draws the component's label over the plot's top-left corner: keep text below it
TITLE_CHARS = 42  # a 14-px title line that fits a 360-px phone
LEGEND_CHARS = 56  # the same for the 11-px legend line
MULTIPLE_CHARS = 18  # a 10-px small-multiple title line: a quarter of a phone


def image_data_uri(image: Image.Image, max_side: int = 768) -> tuple[str, float]:
    """A JPEG data URI of `image` shrunk to `max_side`, and the factor back to original pixels."""
    w, h = image.size
    scale = min(1.0, max_side / max(w, h))
    small = image if scale == 1.0 else image.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                    Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.convert("RGB").save(buf, format="JPEG", quality=88)
    uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return uri, (w / small.size[0])


def _grid_range(grid: Sequence[Sequence[float]]) -> tuple[float, float]:
    vals = [v for row in grid for v in row if v is not None and math.isfinite(v)]
    if not vals:
        return 0.0, 0.0
    return min(vals), max(vals)


def robust_bound(grid: Sequence[Sequence[float]], quantile: float = ROBUST_QUANTILE) -> float:
    """The colour scale's end: a high quantile of |value| rather than the maximum.

    Gradient maps often have one or two cells tens of times stronger than the rest; scaled to the
    maximum, everything else would sit in the transparent middle and the map would look empty.
    The few cells above the quantile saturate instead (hover still shows their exact score).
    """
    vals = sorted(abs(v) for row in grid for v in row if v is not None and math.isfinite(v))
    if not vals:
        return 1.0
    k = min(len(vals) - 1, max(0, math.ceil(quantile * len(vals)) - 1))
    return vals[k] or vals[-1] or 1.0


def _cell_geometry(crop_box: Box, n_rows: int, n_cols: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = crop_box
    dx = (x1 - x0) / n_cols
    dy = (y1 - y0) / n_rows
    return x0 + dx / 2, y0 + dy / 2, dx, dy


def _heatmap_trace(pm: PhraseMap, opacity: float, showscale: bool, *, phrase: str = "", lang: str | None = None,
                   full_hover: bool = True) -> go.Heatmap:
    """The map on the evidence scale (mapscale.py): colour = each patch's percent of the phrase's
    evidence, the colour bar's ticks named by band, the hover a sentence (`full_hover`) or, in the
    small multiples, the percent and band alone (a sentence a cell would weigh down every panel)."""
    grid = [list(r) for r in pm.grid]
    n_rows, n_cols = len(grid), len(grid[0]) if grid else 0
    cx, cy, dx, dy = _cell_geometry(pm.crop_box, n_rows, n_cols)
    scale = evidence_scale(grid)
    z = [list(r) for r in scale.shares]
    lo, _ = _grid_range(z)
    signed = lo < 0
    bound = robust_bound(z) if scale.positive_mass > 0 else 1.0
    zmin, colours = (-bound, _PUOR) if signed else (0.0, _ORANGES)
    words = {b: tr(f"band_{b}", lang) for b in BANDS}
    if full_hover:
        custom = [[hover_text(sh, b, phrase, lang) for sh, b in zip(srow, brow, strict=True)]
                  for srow, brow in zip(scale.shares, scale.bands, strict=True)]
        template = "%{customdata}<extra></extra>"
    else:
        custom = [[f"{share_text(sh)} % · {words[b]}" for sh, b in zip(srow, brow, strict=True)]
                  for srow, brow in zip(scale.shares, scale.bands, strict=True)]
        template = "%{customdata}<extra></extra>"
    ticks = [(0.0, words["none"])]
    if scale.positive_mass > 0:
        # a band above the saturated end (one outlier patch holding half) is named at the end
        strong_at, some_at = min(scale.strong_min, bound), min(scale.some_min, bound)
        if some_at < strong_at - 0.12 * bound and some_at > 0.12 * bound:  # room for each name
            ticks.append((some_at, f"{words['some']} ≥{share_text(scale.some_min)} %"))
        ticks.append((strong_at, f"{words['strong']} ≥{share_text(scale.strong_min)} %"))
    if signed:
        ticks.insert(0, (-0.8 * bound, words["against"]))
    return go.Heatmap(
        z=z, x0=cx, dx=dx, y0=cy, dy=dy, zmin=zmin, zmax=bound, colorscale=colours,
        opacity=opacity, customdata=custom, showscale=showscale,
        colorbar=dict(title=dict(text=tr("colorbar_share", lang), side="right"), thickness=10, len=0.8,
                      tickvals=[v for v, _ in ticks], ticktext=[w for _, w in ticks]),
        hovertemplate=template, hoverongaps=False,
    )


def _margin_shapes(size: tuple[int, int], crop_box: Box, xref: str, yref: str) -> list[dict]:
    """Dark rectangles over what the model never saw, and an outline of what it did."""
    w, h = size
    x0, y0, x1, y1 = crop_box
    shapes = []
    for rx0, ry0, rx1, ry1 in ((0, 0, w, y0), (0, y1, w, h), (0, y0, x0, y1), (x1, y0, w, y1)):
        if rx1 > rx0 and ry1 > ry0:
            shapes.append(dict(type="rect", xref=xref, yref=yref, x0=rx0, y0=ry0, x1=rx1, y1=ry1,
                               fillcolor=_DIM, line=dict(width=0), layer="above"))
    shapes.append(dict(type="rect", xref=xref, yref=yref, x0=x0, y0=y0, x1=x1, y1=y1,
                       line=dict(color=_BOX, width=2, dash="dash"), fillcolor="rgba(0,0,0,0)",
                       layer="above"))
    return shapes


def _image_trace(image: Image.Image, max_side: int) -> go.Image:
    uri, factor = image_data_uri(image, max_side)
    return go.Image(source=uri, x0=0, y0=0, dx=factor, dy=factor, hoverinfo="skip")


def _axes(fig: go.Figure, size: tuple[int, int], row: int | None = None, col: int | None = None) -> None:
    w, h = size
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(range=[0, w], visible=False, constrain="domain", **kw)
    fig.update_yaxes(range=[h, 0], visible=False, constrain="domain", scaleanchor="x" if row is None else None, **kw)


def wrap_title(text: str, width: int = TITLE_CHARS, max_lines: int = 3) -> list[str]:
    """A title in lines short enough for a phone (Plotly never wraps a title; a long one is clipped)."""
    lines = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines


def _unseen_tag(fig: go.Figure, size: tuple[int, int], crop: Box, label: str) -> None:
    """The "not seen by the model" tag in the middle of the widest dimmed margin (upright in a
    margin taller than wide), not on the crop's corner where the map begins."""
    w, h = size
    x0, y0, x1, y1 = crop
    margins = [(x0, (x0 / 2, h / 2), True), (w - x1, ((x1 + w) / 2, h / 2), True),
               (y0, (w / 2, y0 / 2), False), (h - y1, (w / 2, (y1 + h) / 2), False)]
    depth, (x, y), side = max(margins, key=lambda m: m[0])
    if depth <= 0:
        return
    fig.add_annotation(x=x, y=y, xanchor="center", yanchor="middle", text=html.escape(label), showarrow=False,
                       textangle=-90 if side and h > 2 * depth else 0, font=dict(color="white", size=11),
                       bgcolor="rgba(0,0,0,0.55)")


def heatmap_figure(image: Image.Image | None, size: tuple[int, int], pm: PhraseMap | None,
                   *, opacity: float = 0.7, title: str = "", unseen_label: str = "not seen by the model",
                   height: int = 520, phrase: str | None = None, lang: str | None = None) -> go.Figure:
    """One phrase's map over the image. `image` may be None (not stored): a grey canvas is drawn.
    `phrase` is named in the hover sentences (default: the title); the title wraps for phones and
    gets the map's legend (what "strong" means here) as a second line."""
    w, h = size
    fig = go.Figure()
    if image is not None:
        fig.add_trace(_image_trace(image, 900))
    else:
        fig.add_shape(type="rect", x0=0, y0=0, x1=w, y1=h, fillcolor="#d9d9d9", line=dict(width=0),
                      layer="below")
    crop = pm.crop_box if pm is not None else None
    legend = ""
    if pm is not None and pm.grid:
        fig.add_trace(_heatmap_trace(pm, opacity, showscale=True, phrase=title if phrase is None else phrase,
                                     lang=lang))
        legend = legend_text(evidence_scale(pm.grid), len(pm.grid) * len(pm.grid[0]), lang)
    if crop is not None:
        for sh in _margin_shapes(size, crop, "x", "y"):
            fig.add_shape(**sh)
        if crop != (0, 0, w, h):
            _unseen_tag(fig, size, crop, unseen_label)
    _axes(fig, size)
    lines = [html.escape(line) for line in wrap_title(title)] if title else []
    text = "<br>".join(lines)
    if legend:
        legend_lines = wrap_title(legend, LEGEND_CHARS, 2)
        text += ("<br>" if text else "") + "<br>".join(
            f"<span style='font-size:11px'>{html.escape(line)}</span>" for line in legend_lines)
        lines += legend_lines
    top = LABEL_PX + 18 * len(lines) if text else LABEL_PX
    # the title sits in the top margin, under Gradio's label. Anchored to the figure (container), top
    # down: Plotly places a multi-line title by its first line, so one anchored at the plot's top edge
    # ran its later lines down over the picture.
    fig.update_layout(title=dict(text=text, font=dict(size=14), x=0.01, xanchor="left",
                                 y=1 - LABEL_PX / (height + top), yanchor="top", yref="container"),
                      height=height + top, margin=dict(l=4, r=4, t=top, b=4), font=dict(color=FONT),
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", dragmode="pan")
    return fig


def small_multiples(image: Image.Image | None, size: tuple[int, int], maps: Sequence[PhraseMap],
                    titles: Sequence[str], *, opacity: float = 0.7, columns: int = 4,
                    cell_height: int = 220, lang: str | None = None) -> go.Figure:
    """Every phrase's map side by side, same image, each map on its own evidence scale."""
    n = max(1, len(maps))
    cols = min(columns, n)
    rows = math.ceil(n / cols)
    # narrow lines: four panels share a phone's 360 px
    short = ["<br>".join(html.escape(x) for x in wrap_title(t, MULTIPLE_CHARS, 3)) for t in titles] or [""]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=short, horizontal_spacing=0.02,
                        vertical_spacing=0.12 if rows > 1 else 0.02)
    trace = _image_trace(image, 320) if image is not None else None
    for i, pm in enumerate(maps):
        r, c = i // cols + 1, i % cols + 1
        if trace is not None:
            fig.add_trace(trace, row=r, col=c)
        fig.add_trace(_heatmap_trace(pm, opacity, showscale=False, lang=lang, full_hover=False), row=r, col=c)
        axis = "" if i == 0 else str(i + 1)
        for sh in _margin_shapes(size, pm.crop_box, f"x{axis}", f"y{axis}"):
            fig.add_shape(**sh)
        _axes(fig, size, r, c)
        fig.update_yaxes(scaleanchor=f"x{axis}", row=r, col=c)
    fig.update_annotations(font_size=10)
    # the top margin clears the component's label, which Gradio draws over the plot's top-left corner
    fig.update_layout(height=rows * cell_height + LABEL_PX + 40, margin=dict(l=4, r=4, t=LABEL_PX + 40, b=4),
                      font=dict(color=FONT), paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                      showlegend=False)
    return fig
