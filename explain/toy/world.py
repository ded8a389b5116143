"""The toy world: a seeded generator of "real" images and "fake" ones with planted local artifacts.

`generate(seed, index)` is a pure function of its two integers. A real image is procedural content
(gradients, fractal textures, stripes, shaded shapes, film grain) at a varied size and aspect ratio.
A fake image is the same with one or two planted artifacts of distinct kinds, each inside one of
the nine regions (3 x 3) of the 336 x 336 centre crop the model sees, with its exact box recorded in
original pixel coordinates.

Artifacts are defined in *model pixels* (the 336-px crop after the processor's bicubic resize) and
rendered at the original resolution through the same crop mapping the processor applies, so they
survive the resize: a 2-px checkerboard in model space is a 2*s-px checkerboard in the original,
where s = original short edge / 336. Every artifact is detectable locally, within a few 14-px
patches; copy-move (which needs two distant places compared) is deliberately not in this world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..intake import crop_box_for
from . import texts

MODEL_SIZE = 336  # the crop the model sees
PATCH = 14
GRID = MODEL_SIZE // PATCH  # 24 x 24 patches
CELL = MODEL_SIZE // 3  # one of the 3 x 3 regions, in model pixels

KINDS: tuple[str, ...] = texts.KINDS
REGIONS: tuple[str, ...] = texts.REGIONS

# (x0, y0, x1, y1), x1/y1 exclusive
Box = tuple[int, int, int, int]
BoxF = tuple[float, float, float, float]

__all__ = ["Artifact", "Sample", "crop_box_for", "generate", "model_view", "patch_labels", "patch_regions"]

# Image sizes: the short edge is never below the model's 336 px (artifacts are sized in model
# pixels and would be blurred away by upsampling); the long edge up to twice the short one, in
# either orientation, so the centre crop hides part of most images.
SHORT_EDGE = (336, 600)
MAX_ASPECT = 2.0
FAKE_SHARE = 0.5
TWO_ARTIFACT_SHARE = 0.4
ARTIFACT_SIDE = (44, 96)  # model pixels; a region is 112
# Layouts (issue 20). "inset" (the shipped model's world): each artifact lies inside its region, 4 px
# from its edges, so the region's centre is nearly always inside the box and a map that only reads
# the region's name from the text wins the pointing game (0.96). "anywhere": the box's centre is
# uniform over its region, its sides vary more (ANYWHERE_SIDE), and boxes in outer regions may run
# past the crop's edge (into the margin the model never sees, or off the picture): the words then
# say only roughly where to look. Chosen by `generate(layout=...)` or the SPOT_TOY_WORLD variable
# (which training's worker processes inherit; `python -m explain.toy train|eval --world anywhere`).
LAYOUTS = ("inset", "anywhere")
ANYWHERE_SIDE = (28, 80)


@dataclass(frozen=True)
class Artifact:
    kind: str  # one of KINDS
    region: str  # one of REGIONS
    box: Box  # original-image pixels
    model_box: BoxF  # the same box in the 336 x 336 crop's pixels


@dataclass(frozen=True)
class Sample:
    seed: int
    index: int
    image: Image.Image  # RGB, original size
    label: str  # "real" | "fake"
    artifacts: tuple[Artifact, ...]
    explanation: str  # the full answer, "This is a fake image. ..."
    crop_box: BoxF  # where the model's 336 x 336 crop lies in the original image
    notes: dict = field(default_factory=dict)


def model_view(image: Image.Image, size: int = MODEL_SIZE) -> np.ndarray:
    """The uint8 size x size x 3 crop exactly as CLIP's PIL-backend processor sees it (before
    rescale and normalisation): PIL bicubic resize of the shortest edge, then the centre crop."""
    w, h = image.size
    if w <= h:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    resized = image.convert("RGB").resize((new_w, new_h), Image.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return np.asarray(resized)[top : top + size, left : left + size]


def region_of_model_box(box: BoxF) -> str:
    """The region holding the centre of a box in model pixels."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    col = min(2, max(0, int(cx // CELL)))
    row = min(2, max(0, int(cy // CELL)))
    return REGIONS[row * 3 + col]


def default_layout() -> str:
    import os

    layout = os.environ.get("SPOT_TOY_WORLD", "inset")
    if layout not in LAYOUTS:
        raise ValueError(f"SPOT_TOY_WORLD must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    return layout


def generate(seed: int, index: int, *, label: str | None = None, layout: str | None = None) -> Sample:
    """Sample `index` of the world seeded by `seed`. `label` forces "real" or "fake"; `layout` is
    where artifacts may sit ("inset" or "anywhere", default SPOT_TOY_WORLD or "inset")."""
    layout = layout or default_layout()
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(index) & 0xFFFFFFFF, 0x70F])
    is_fake = rng.random() < FAKE_SHARE
    if label is not None:
        if label not in ("real", "fake"):
            raise ValueError(f"label must be 'real' or 'fake', not {label!r}")
        is_fake = label == "fake"
    width, height = _draw_size(rng)
    crop = crop_box_for(width, height)
    scale = (crop[2] - crop[0]) / MODEL_SIZE  # original pixels per model pixel (same on both axes +- 1/336)
    img = _background(rng, width, height, scale)
    artifacts: list[Artifact] = []
    if is_fake:
        n = 2 if rng.random() < TWO_ARTIFACT_SHARE else 1
        kinds = rng.choice(len(KINDS), size=n, replace=False)
        regions = rng.choice(9, size=n, replace=False)
        for k, r in zip(kinds, regions, strict=True):
            artifacts.append(_plant(rng, img, crop, KINDS[int(k)], int(r), layout))
        # the explanation names artifacts in reading order (upper left first): a fixed order is
        # easier for a small language model than a random one, and reads naturally
        artifacts.sort(key=lambda a: REGIONS.index(a.region))
    image = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8), "RGB")
    explanation = texts.explanation(rng, "fake" if is_fake else "real", [(a.kind, a.region) for a in artifacts])
    return Sample(
        seed=int(seed),
        index=int(index),
        image=image,
        label="fake" if is_fake else "real",
        artifacts=tuple(artifacts),
        explanation=explanation,
        crop_box=crop,
        notes={"scale": scale},
    )


def patch_labels(sample: Sample, *, full: float = 0.5, empty: float = 0.05) -> np.ndarray:
    """24 x 24 int labels of the crop's patches: 0 = clean, 1 + KINDS.index(kind) = covered by an
    artifact (at least `full` of the patch), -100 = partly covered (ignored in training)."""
    labels = np.zeros((GRID, GRID), dtype=np.int64)
    edges = np.arange(GRID + 1) * PATCH
    for a in sample.artifacts:
        x0, y0, x1, y1 = a.model_box
        ox = np.clip(np.minimum(edges[1:], x1) - np.maximum(edges[:-1], x0), 0, None) / PATCH
        oy = np.clip(np.minimum(edges[1:], y1) - np.maximum(edges[:-1], y0), 0, None) / PATCH
        cover = oy[:, None] * ox[None, :]
        labels[(cover > empty) & (labels == 0)] = -100
        labels[cover >= full] = 1 + KINDS.index(a.kind)
    return labels


def patch_regions() -> np.ndarray:
    """24 x 24 region index (0..8) of every patch: 8 patches a third."""
    rows = np.arange(GRID) // (GRID // 3)
    return rows[:, None] * 3 + rows[None, :]


# ---------------------------------------------------------------------------------------------
# content


def _draw_size(rng: np.random.Generator) -> tuple[int, int]:
    short = int(rng.integers(SHORT_EDGE[0], SHORT_EDGE[1] + 1))
    aspect = 1.0 if rng.random() < 0.2 else float(rng.uniform(1.0, MAX_ASPECT))
    long = int(round(short * aspect))
    return (long, short) if rng.random() < 0.5 else (short, long)


def _noise_field(rng: np.random.Generator, width: int, height: int, cells: tuple[int, int]) -> np.ndarray:
    """Smooth random field in [-1, 1]-ish: a coarse random grid resized bicubically to the image."""
    cw, ch = max(2, cells[0]), max(2, cells[1])
    small = rng.standard_normal((ch, cw)).astype(np.float32)
    return np.asarray(Image.fromarray(small, "F").resize((width, height), Image.BICUBIC))


def _fbm(rng: np.random.Generator, width: int, height: int, base_cells: int, octaves: int) -> np.ndarray:
    aspect = width / height
    out = np.zeros((height, width), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = base_cells * 2**o
        out += amp * _noise_field(rng, width, height, (max(2, int(n * aspect)), n))
        total += amp
        amp *= 0.55
    return out / total


def _color(rng: np.random.Generator, lo: float = 20, hi: float = 235) -> np.ndarray:
    return rng.uniform(lo, hi, 3).astype(np.float32)


def _background(rng: np.random.Generator, width: int, height: int, scale: float) -> np.ndarray:
    """A "real" image, float32 H x W x 3 in 0..255."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = xx / width, yy / height
    angle = rng.uniform(0, 2 * math.pi)
    t = (np.cos(angle) * (u - 0.5) + np.sin(angle) * (v - 0.5)) + 0.5
    c0, c1 = _color(rng), _color(rng)
    img = c0 + (c1 - c0) * t[..., None]
    if rng.random() < 0.4:  # a horizon: sky above, ground below
        horizon = rng.uniform(0.3, 0.7) + 0.05 * _fbm(rng, width, 1, 3, 2)[0]
        ground = _color(rng) + (_color(rng) - 128) * 0.3 * v[..., None]
        mask = (v > horizon[None, :]).astype(np.float32)[..., None]
        img = img * (1 - mask) + ground * mask
    # fractal texture, tinted
    tex = _fbm(rng, width, height, int(rng.integers(2, 7)), int(rng.integers(2, 5)))
    img += tex[..., None] * rng.uniform(8, 40) * (0.6 + 0.4 * rng.random(3)).astype(np.float32)
    for _ in range(int(rng.integers(2, 10))):
        _shape(rng, img, xx, yy, scale)
    # soft lighting
    light = 1.0 + rng.uniform(0.0, 0.25) * _fbm(rng, width, height, 2, 1)
    img *= light[..., None]
    # film grain at model-pixel scale, so it survives the resize (the over-smoothing artifact is
    # defined against it); partly shared across channels like sensor noise
    sigma = rng.uniform(5.0, 10.0)
    gw, gh = max(2, int(round(width / scale))), max(2, int(round(height / scale)))
    mono = rng.standard_normal((gh, gw)).astype(np.float32)
    grain = np.empty((height, width, 3), np.float32)
    for c in range(3):
        g = 0.7 * mono + 0.7 * rng.standard_normal((gh, gw)).astype(np.float32)
        grain[..., c] = np.asarray(Image.fromarray(g, "F").resize((width, height), Image.BILINEAR))
    img += sigma * grain
    return np.clip(img, 0, 255)


def _shape(rng: np.random.Generator, img: np.ndarray, xx: np.ndarray, yy: np.ndarray, scale: float) -> None:
    """Paint one soft-edged, shaded (sometimes striped or textured) shape, working on its bounding box."""
    height, width = img.shape[:2]
    cx, cy = rng.uniform(-0.1, 1.1) * width, rng.uniform(-0.1, 1.1) * height
    r = rng.uniform(0.05, 0.35) * min(width, height)
    soft = rng.uniform(0.6, 3.0) * scale
    reach = 1.3 * r + 3 * soft + 2
    X0, Y0 = max(0, int(cx - reach)), max(0, int(cy - reach))
    X1, Y1 = min(width, int(cx + reach) + 1), min(height, int(cy + reach) + 1)
    if X1 - X0 < 2 or Y1 - Y0 < 2:
        return
    mask_img = Image.new("L", (X1 - X0, Y1 - Y0), 0)
    draw = ImageDraw.Draw(mask_img)
    ox, oy = cx - X0, cy - Y0
    kind = rng.integers(0, 3)
    if kind == 0:
        draw.ellipse([ox - r, oy - r * rng.uniform(0.4, 1.0), ox + r, oy + r * rng.uniform(0.4, 1.0)], fill=255)
    elif kind == 1:
        draw.rectangle([ox - r, oy - r * rng.uniform(0.3, 1.2), ox + r * rng.uniform(0.3, 1.2), oy + r], fill=255)
    else:
        n = int(rng.integers(3, 8))
        angles = np.sort(rng.uniform(0, 2 * math.pi, n))
        radii = r * rng.uniform(0.5, 1.0, n)
        draw.polygon(
            [(ox + a * math.cos(b), oy + a * math.sin(b)) for a, b in zip(radii, angles, strict=True)], fill=255
        )
    mask_img = mask_img.filter(ImageFilter.GaussianBlur(radius=soft))
    mask = np.asarray(mask_img, np.float32)[..., None] / 255.0
    bx, by = xx[Y0:Y1, X0:X1], yy[Y0:Y1, X0:X1]
    base = _color(rng)
    angle = rng.uniform(0, 2 * math.pi)
    shade = ((bx - cx) * math.cos(angle) + (by - cy) * math.sin(angle)) / max(r, 1.0)
    fill = base + rng.uniform(5, 40) * np.clip(shade, -1.5, 1.5)[..., None]
    style = rng.random()
    if style < 0.25:  # stripes (fabric, wood): a natural periodic pattern, period >= 10 model px
        period = rng.uniform(10, 30) * scale
        a2 = rng.uniform(0, math.pi)
        wave = np.sin(2 * math.pi * (bx * math.cos(a2) + by * math.sin(a2)) / period)
        fill += (rng.uniform(8, 30) * wave)[..., None] * (0.5 + 0.5 * rng.random(3)).astype(np.float32)
    elif style < 0.55:
        cells = max(2, int(rng.integers(4, 12) * (Y1 - Y0) / height))
        fill += (rng.uniform(5, 25) * _fbm(rng, X1 - X0, Y1 - Y0, cells, 3))[..., None]
    view = img[Y0:Y1, X0:X1]
    view += (fill - view) * mask


# ---------------------------------------------------------------------------------------------
# artifacts


def _gaussian_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an H x W x C float array, edges replicated."""
    radius = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1, dtype=np.float32) / sigma) ** 2)
    k /= k.sum()
    for axis in (0, 1):
        pad = [(0, 0)] * a.ndim
        pad[axis] = (radius, radius)
        p = np.pad(a, pad, mode="edge")
        n = a.shape[axis]
        out = np.zeros_like(a)
        for i, w in enumerate(k):
            out += w * np.take(p, np.arange(i, i + n), axis=axis)
        a = out
    return a


def _plant(
    rng: np.random.Generator, img: np.ndarray, crop: BoxF, kind: str, region: int, layout: str = "inset"
) -> Artifact:
    row, col = divmod(region, 3)
    if layout == "anywhere":
        bw, bh = (int(rng.integers(ANYWHERE_SIDE[0], ANYWHERE_SIDE[1] + 1)) for _ in range(2))
        # the centre anywhere in the region (so the region the words name still holds it)
        mx0 = col * CELL + int(rng.integers(0, CELL)) - bw // 2
        my0 = row * CELL + int(rng.integers(0, CELL)) - bh // 2
    else:
        bw, bh = (int(rng.integers(ARTIFACT_SIDE[0], ARTIFACT_SIDE[1] + 1)) for _ in range(2))
        margin = 4
        mx0 = col * CELL + int(rng.integers(margin, CELL - margin - bw + 1))
        my0 = row * CELL + int(rng.integers(margin, CELL - margin - bh + 1))
    sx = (crop[2] - crop[0]) / MODEL_SIZE
    sy = (crop[3] - crop[1]) / MODEL_SIZE
    height, width = img.shape[:2]
    box = (
        max(0, int(round(crop[0] + mx0 * sx))),
        max(0, int(round(crop[1] + my0 * sy))),
        min(width, int(round(crop[0] + (mx0 + bw) * sx))),
        min(height, int(round(crop[1] + (my0 + bh) * sy))),
    )
    model_box = (
        (box[0] - crop[0]) / sx,
        (box[1] - crop[1]) / sy,
        (box[2] - crop[0]) / sx,
        (box[3] - crop[1]) / sy,
    )
    x0, y0, x1, y1 = box
    # model-pixel coordinates of each original pixel centre, relative to the box corner
    xm = ((np.arange(x0, x1, dtype=np.float32) + 0.5 - crop[0]) / sx - model_box[0])[None, :]
    ym = ((np.arange(y0, y1, dtype=np.float32) + 0.5 - crop[1]) / sy - model_box[1])[:, None]
    patch = img[y0:y1, x0:x1]
    if kind == "checkerboard":
        cell = 2.0
        sign = ((np.floor(xm / cell) + np.floor(ym / cell)) % 2) * 2 - 1
        patch += (rng.uniform(16, 30) * sign)[..., None]
    elif kind == "banding":
        levels = int(rng.integers(4, 8))
        angle = rng.uniform(0, 2 * math.pi)
        proj = xm * math.cos(angle) + ym * math.sin(angle)
        t = (proj - proj.min()) / max(float(proj.max() - proj.min()), 1e-6)
        step = np.minimum(np.floor(t * levels), levels - 1) / (levels - 1) - 0.5
        mean = patch.reshape(-1, 3).mean(0)
        tint = (0.5 + 0.5 * rng.random(3)).astype(np.float32)
        patch[:] = mean + (rng.uniform(70, 130) * step)[..., None] * tint
    elif kind == "smoothing":
        pad = int(math.ceil(12 * sx))
        X0, Y0, X1, Y1 = max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)
        blurred = _gaussian_blur(img[Y0:Y1, X0:X1], 3.5 * sx)
        patch[:] = blurred[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0]
    elif kind == "blocking":
        block = 8.0
        bi = np.floor(xm / block).astype(np.int64).repeat(patch.shape[0], 0)
        bj = np.floor(ym / block).astype(np.int64).repeat(patch.shape[1], 1)
        ids = (bj * 1000 + bi).ravel()
        uniq, inv = np.unique(ids, return_inverse=True)
        counts = np.bincount(inv).astype(np.float32)
        flat = patch.reshape(-1, 3)
        means = np.stack([np.bincount(inv, weights=flat[:, c]) / counts for c in range(3)], -1)
        # every block is flat and steps away from its neighbours (coarse quantisation plus a
        # per-block jitter), so the 8-px mosaic shows even on a uniform background, where plain
        # block means would look like an over-smoothed patch
        means += rng.uniform(-1, 1, (len(uniq), 1)).astype(np.float32) * rng.uniform(8, 16)
        quant = rng.uniform(10, 18)
        means = np.round(means / quant) * quant
        patch[:] = means[inv].reshape(patch.shape)
    elif kind == "speckle":
        gw, gh = int(math.ceil(float(xm.max()))) + 1, int(math.ceil(float(ym.max()))) + 1
        hit = rng.random((gh, gw)) < rng.uniform(0.10, 0.18)
        colours = rng.choice([0.0, 255.0], size=(gh, gw, 3)).astype(np.float32)
        ix = np.clip(np.floor(xm).astype(np.int64), 0, gw - 1)
        iy = np.clip(np.floor(ym).astype(np.int64), 0, gh - 1)
        sel = hit[iy, ix]
        patch[sel] = colours[iy, ix][sel]
    else:  # pragma: no cover - KINDS is closed
        raise ValueError(kind)
    np.clip(patch, 0, 255, out=patch)
    return Artifact(kind=kind, region=REGIONS[region], box=box, model_box=model_box)
