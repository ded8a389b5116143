"""Occlusion maps: the faithful method, on demand.

The 24 x 24 patches are grouped into g x g cells (g configurable; 24 = every patch alone). Every
phrase is rescored with part of the image replaced by a baseline, and a cell's value is
score(image) - score(image with the occluder removed): positive = the region supports the phrase.
The forward function returns all phrase scores at once, (B, P), so one run gives the maps of every
phrase, the perturbed copies batched `batch_size` at a time.

- `window=1`: each cell is removed alone (Captum `FeatureAblation` with a cell mask; every patch of
  a cell carries the cell's value). With `mode="insertion"` the cell is instead put back alone into
  an all-baseline image (score with only the cell minus score with none).
- `window` = w > 1 (the default in `attribute`: 24 x 24 cells, w = 9, `smooth=1`): the occluder is w x w cells
  centred on the cell (clipped at the crop's border), and the cell carries the drop of its own
  occluder: the occlusion sensitivity map of Zeiler and Fergus (2014), at a step of one cell.
  Evidence is redundant (an artifact spans several cells, and removing one of them leaves the rest
  to show it), so only an occluder as large as the evidence shows it; centring the occluder keeps
  the map's resolution at the cell. Captum's `Occlusion` gives each patch the *mean* over all the
  windows that cover it instead, which smears a window's effect over its whole area and peaked
  off the artifact on the toy model (bench/ATTRIBUTION_RESULTS.md), so these occluders are batched
  here directly.

Layers:
- "projector" (default): occlude image tokens (projector outputs). The vision tower runs once; each
  perturbation costs one language-model pass. "vision" gives the same maps: the projector acts
  token by token. Baselines (scoring.PhraseScorer.baseline_tokens): "grain" (the tokens of grey
  with film grain: clean-looking content), "neutral" (flat grey, which this model family reads as
  an over-smoothed region), "zeros", "mean" / "median" (the image's own average token).
- "patch_embed": occlude pixels, whole 14-px patches at a time, with the "neutral" or "grain"
  picture's pixels. The vision tower reruns for each perturbation.
"""

from __future__ import annotations

import torch
from captum.attr import FeatureAblation
from torch import Tensor

from .gradient import LAYERS, Progress
from .scoring import REFERENCE_IMAGES, AttributionError, PhraseScorer, chunks

MODES = ("deletion", "insertion", "both")


def cell_mask(side: int, grid: int) -> Tensor:
    """(side, side) long tensor: the g x g cell index of every patch (row-major cells)."""
    if not 1 <= grid <= side:
        raise AttributionError(f"the occlusion grid must be between 1 and {side} cells a side, got {grid}")
    idx = torch.arange(side) * grid // side
    return idx.view(-1, 1) * grid + idx.view(1, -1)


def occlusion_grids(
    scorer: PhraseScorer,
    *,
    grid: int = 12,
    window: int = 1,
    layer: str = "projector",
    baseline: str = "neutral",
    mode: str = "deletion",
    batch_size: int = 16,
    progress: Progress | None = None,
    smooth: int = 0,
) -> Tensor:
    """Occlusion maps for every scored span: float32 (P, side, side). With centred occluders
    (`window` > 1), `smooth` = r > 0 gives each cell the mean drop of the occluders centred within
    r cells of it (a soft-edged occluder), which steadies the map where evidence is spread."""
    if mode not in MODES:
        raise AttributionError(f"unknown occlusion mode '{mode}': use one of {', '.join(MODES)}")
    if mode != "deletion":
        if layer not in ("projector", "vision") or window != 1:
            raise AttributionError("insertion occlusion works on image tokens, one cell at a time")
        kw = dict(grid=grid, layer=layer, baseline=baseline, batch_size=batch_size)
        maps = torch.zeros(len(scorer.spans), scorer.grid_side, scorer.grid_side)
        if mode in ("insertion", "both"):
            maps += _insertion(scorer, progress=progress, **kw)
        if mode == "both":
            maps += occlusion_grids(scorer, **kw)
        return maps
    if layer not in LAYERS:
        raise AttributionError(f"unknown attribution layer '{layer}': use one of {', '.join(LAYERS)}")
    side = scorer.grid_side
    mask = cell_mask(side, grid)  # also checks the grid
    if not 1 <= window <= grid:
        raise AttributionError(f"the occlusion window must be between 1 and {grid} cells, got {window}")
    if layer == "patch_embed" and baseline not in REFERENCE_IMAGES:
        pictures = ", ".join(REFERENCE_IMAGES)
        raise AttributionError(f"pixel occlusion (layer 'patch_embed') replaces pixels with a picture: use {pictures}")
    if smooth < 0 or (smooth and window == 1):
        raise AttributionError("smoothing (smooth >= 1) applies to centred occluders (window > 1) only")
    if window > 1:
        return _centred(scorer, grid, window, layer, baseline, batch_size, progress, smooth)
    total = 1 + -(-grid * grid // batch_size)  # Captum's calls: the unablated pass, then the batches
    calls = [0]

    def counted(fn):
        def forward(x: Tensor) -> Tensor:
            out = fn(x)
            calls[0] += 1
            if progress:
                progress(min(1.0, calls[0] / total), f"occlusion {min(calls[0], total)}/{total}")
            return out

        return forward

    with torch.no_grad():
        if layer in ("projector", "vision"):
            attr = FeatureAblation(counted(scorer.scores)).attribute(
                scorer.image_tokens(),
                baselines=scorer.baseline_tokens(baseline),
                feature_mask=mask.to(scorer.device).reshape(1, side * side, 1),
                perturbations_per_eval=batch_size,
            )  # (P, N, H): every channel of a token carries the token's value
            return attr[:, :, 0].reshape(-1, side, side).float().cpu()
        pixels = scorer.pixel_values
        size = pixels.shape[-1]
        patch = size // side
        pixel_mask = mask.repeat_interleave(patch, 0).repeat_interleave(patch, 1).to(scorer.device)
        attr = FeatureAblation(counted(scorer.scores_from_pixels)).attribute(
            pixels,
            baselines=scorer.reference_pixel_values(baseline),
            feature_mask=pixel_mask.view(1, 1, size, size),
            perturbations_per_eval=batch_size,
        )
        # (P, 3, size, size): constant over each patch's pixels; one value a patch
        return attr[:, 0, patch // 2 :: patch, patch // 2 :: patch].float().cpu()


def centred_occluders(side: int, grid: int, window: int) -> Tensor:
    """(grid * grid, side, side) bool: for each cell (row-major), the patches of the window x window
    cells centred on it, clipped at the border. The occluder reaches the same number of patches
    before and after its cell; where c * window patches cannot do that (cells of an odd number c
    of patches and an even window: 24 cells, window 8) it grows by one patch, because an occluder
    off by half a patch puts every value half a patch up-left of what it removed (issue 20)."""
    if side % grid:
        raise AttributionError(f"occlusion windows need cells of whole patches: {grid} does not divide {side}")
    c = side // grid
    span = c * window
    span += (span - c) % 2
    before = (span - c) // 2
    occluders = torch.zeros(grid * grid, side, side, dtype=torch.bool)
    for i in range(grid):
        r0, r1 = max(0, c * i - before), min(side, c * i - before + span)
        for j in range(grid):
            c0, c1 = max(0, c * j - before), min(side, c * j - before + span)
            occluders[i * grid + j, r0:r1, c0:c1] = True
    return occluders


def _centred(
    scorer: PhraseScorer, grid: int, window: int, layer: str, baseline: str, batch_size: int, progress, smooth: int
) -> Tensor:
    """Deletion with an occluder of window x window cells centred on each cell: (P, side, side)."""
    side = scorer.grid_side
    occluders = centred_occluders(side, grid, window).to(scorer.device)
    n = occluders.shape[0]
    with torch.no_grad():
        if layer in ("projector", "vision"):
            image, base = scorer.image_tokens(), scorer.baseline_tokens(baseline)
            score = scorer.scores

            def occluded(masks: Tensor) -> Tensor:
                return torch.where(masks.view(len(masks), side * side, 1), base, image)

        else:
            image, base = scorer.pixel_values, scorer.reference_pixel_values(baseline)
            score = scorer.scores_from_pixels
            patch = image.shape[-1] // side

            def occluded(masks: Tensor) -> Tensor:
                pixel_masks = masks.repeat_interleave(patch, 1).repeat_interleave(patch, 2)
                return torch.where(pixel_masks.unsqueeze(1), base, image)

        full = score(image)[0]
        if progress:  # the unoccluded pass is done: says how many follow (and lets a cancel in)
            progress(0.0, f"occlusion 0/{n}")
        drops = torch.empty(n, len(scorer.spans))
        for part in chunks(n, batch_size):
            drops[part.start : part.stop] = (full - score(occluded(occluders[part.start : part.stop]))).float().cpu()
            if progress:
                progress(part.stop / n, f"occlusion {part.stop}/{n}")
    c = side // grid
    cells = drops.T.reshape(-1, grid, grid)
    if smooth:
        cells = neighbourhood_mean(cells, smooth)
    return cells.repeat_interleave(c, 1).repeat_interleave(c, 2)


def neighbourhood_mean(cells: Tensor, radius: int) -> Tensor:
    """(P, g, g) -> each cell's mean over the cells within `radius` of it (inside the grid)."""
    k = 2 * radius + 1
    pad = (radius,) * 4
    total = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(cells.unsqueeze(1), pad), k, 1, divisor_override=1)
    count = torch.nn.functional.avg_pool2d(
        torch.nn.functional.pad(torch.ones_like(cells[:1]).unsqueeze(1), pad), k, 1, divisor_override=1
    )
    return (total / count).squeeze(1)


def _insertion(scorer: PhraseScorer, *, grid: int, layer: str, baseline: str, batch_size: int, progress) -> Tensor:
    """score(baseline image with the cell's real tokens put back) - score(baseline image): Captum's
    FeatureAblation run on the baseline with the real tokens as its "baseline", sign flipped."""
    side = scorer.grid_side
    mask = cell_mask(side, grid).to(scorer.device).reshape(1, side * side, 1)
    with torch.no_grad():
        tokens, base = scorer.image_tokens(), scorer.baseline_tokens(baseline)
        attr = FeatureAblation(scorer.scores).attribute(
            base, baselines=tokens, feature_mask=mask, perturbations_per_eval=batch_size
        )
    if progress:
        progress(1.0, "insertion occlusion done")
    return -attr[:, :, 0].reshape(-1, side, side).float().cpu()
