"""A phrase's attribution map drawn over the picture with Pillow and numpy only, for handouts.

The same reading as the Plotly figures of the app (demo/figures.py): the 24x24 grid sits on the
crop box the model saw, orange supports the phrase and purple speaks against it (ColorBrewer PuOr,
colour-blind safe), the middle of the scale is transparent, the margins the model never saw are
dimmed and the crop is outlined in cyan. Cells are drawn as cells (nearest neighbour), because
that is the resolution the map has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

# (position, r, g, b, alpha) stops, as in demo/figures.py
_PUOR = np.array([
    (0.0, 84, 39, 136, 0.95),
    (0.25, 153, 142, 195, 0.7),
    (0.5, 247, 247, 247, 0.0),
    (0.75, 241, 163, 64, 0.7),
    (1.0, 179, 88, 6, 0.95),
], dtype=np.float64)
_ORANGES = np.array([
    (0.0, 254, 237, 222, 0.0),
    (0.3, 253, 190, 133, 0.45),
    (0.65, 253, 141, 60, 0.75),
    (1.0, 166, 54, 3, 0.95),
], dtype=np.float64)
_DIM = (10, 10, 10, int(0.62 * 255))
_BOX = (0, 179, 255, 255)


def _colormap(t: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """RGBA floats (0..1 alpha) for values t in [0, 1], linear between stops."""
    out = np.empty((*t.shape, 4), dtype=np.float64)
    for ch in range(4):
        out[..., ch] = np.interp(t, stops[:, 0], stops[:, ch + 1])
    return out


def _finite_grid(grid: Sequence[Sequence[float]]) -> np.ndarray:
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError("a map grid must be a non-empty 2-D table")
    return np.where(np.isfinite(g), g, 0.0)


def grid_rgba(grid: Sequence[Sequence[float]], opacity: float = 0.7) -> np.ndarray:
    """The grid's colours as uint8 RGBA, rows x cols: signed maps on PuOr around 0, maps that are
    never negative (occlusion drops) on a transparent-to-orange scale."""
    g = _finite_grid(grid)
    lo, hi = float(g.min()), float(g.max())
    if lo < 0:
        bound = max(abs(lo), abs(hi)) or 1.0
        rgba = _colormap((g / bound + 1.0) / 2.0, _PUOR)
    else:
        rgba = _colormap(g / (hi or 1.0), _ORANGES)
    rgba[..., 3] *= max(0.0, min(1.0, opacity))
    out = rgba.copy()
    out[..., 3] *= 255.0
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def overlay(image: Image.Image, grid: Sequence[Sequence[float]] | None, crop_box: Sequence[float] | None,
            *, max_side: int = 900, opacity: float = 0.7) -> Image.Image:
    """The picture (shrunk to `max_side`) with the map on its crop box, the unseen margins dimmed
    and the crop outlined. `grid` None draws the picture with the crop only."""
    base = image.convert("RGB")
    w, h = base.size
    scale = min(1.0, max_side / max(w, h))
    if scale < 1.0:
        base = base.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    canvas = base.convert("RGBA")
    if crop_box is None:
        return canvas.convert("RGB")
    x0, y0, x1, y1 = (float(v) * scale for v in crop_box)
    bx0, by0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    bx1, by1 = min(canvas.width, math.ceil(x1)), min(canvas.height, math.ceil(y1))
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    if grid is not None and bx1 > bx0 and by1 > by0:
        cells = Image.fromarray(grid_rgba(grid, opacity), "RGBA")
        layer.paste(cells.resize((bx1 - bx0, by1 - by0), Image.Resampling.NEAREST), (bx0, by0))
    draw = ImageDraw.Draw(layer)
    for rx0, ry0, rx1, ry1 in ((0, 0, canvas.width, by0), (0, by1, canvas.width, canvas.height),
                               (0, by0, bx0, by1), (bx1, by0, canvas.width, by1)):
        if rx1 > rx0 and ry1 > ry0:
            draw.rectangle((rx0, ry0, rx1 - 1, ry1 - 1), fill=_DIM)
    canvas = Image.alpha_composite(canvas, layer)
    _dashed_rect(ImageDraw.Draw(canvas), (bx0, by0, bx1 - 1, by1 - 1), width=max(2, round(canvas.width / 300)))
    return canvas.convert("RGB")


def _dashed_rect(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], *, width: int, dash: int = 10) -> None:
    x0, y0, x1, y1 = box
    for a, b, fixed, horizontal in ((x0, x1, y0, True), (x0, x1, y1, True), (y0, y1, x0, False), (y0, y1, x1, False)):
        for s in range(a, b, 2 * dash):
            e = min(s + dash, b)
            draw.line((s, fixed, e, fixed) if horizontal else (fixed, s, fixed, e), fill=_BOX, width=width)


def legend(width: int = 360, height: int = 14, signed: bool = True) -> Image.Image:
    """A colour bar for the handout: purple (against) .. clear .. orange (for)."""
    t = np.linspace(0.0, 1.0, width)[None, :].repeat(height, 0)
    rgba = _colormap(t, _PUOR if signed else _ORANGES)
    bg = np.full((height, width, 3), 255.0)
    rgb = bg * (1 - rgba[..., 3:4]) + rgba[..., :3] * rgba[..., 3:4]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
