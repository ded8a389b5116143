"""Occlusion maps (Captum `FeatureAblation` / `Occlusion`): the faithful method, on demand.

The 24 x 24 patches are grouped into g x g cells (g configurable; 24 = every patch alone). A
window of `window` x `window` cells is replaced by the baseline and every phrase is rescored:
score(image) - score(image with the window removed), so positive = the region supports the phrase.
With `window=1` each cell is removed alone (Captum `FeatureAblation` with a cell mask; every patch
of a cell carries the cell's value). With `window` > 1 the window slides one cell at a time
(Captum `Occlusion`) and a patch's value is the mean over the windows that cover it: evidence
spread over several cells (an artifact larger than a cell) only disappears when all of it is
removed, which single cells cannot show.

The forward function returns all phrase scores at once, (B, P), so a single Captum run gives the
maps of every phrase; `perturbations_per_eval` batches the occluded copies.

Layers:
- "projector" (default): occlude image tokens (projector outputs). The vision tower runs once; each
  perturbation costs one language-model pass. "vision" gives the same maps: the projector acts
  token by token. Baselines (scoring.PhraseScorer.baseline_tokens): "neutral" (the mid-grey
  image's tokens), "zeros", "mean" / "median" (the image's own average token).
- "patch_embed": occlude pixels, whole 14-px patches at a time, with the mid-grey image (the
  "neutral" baseline; the only one here). The vision tower reruns for each perturbation.
"""

from __future__ import annotations

import torch
from captum.attr import FeatureAblation, Occlusion
from torch import Tensor

from .gradient import LAYERS, Progress
from .scoring import AttributionError, PhraseScorer

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
) -> Tensor:
    """Occlusion maps for every scored span: float32 (P, side, side)."""
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
    mask = cell_mask(side, grid)
    if window < 1 or window > grid:
        raise AttributionError(f"the occlusion window must be between 1 and {grid} cells, got {window}")
    if window > 1 and side % grid:
        raise AttributionError(f"a sliding window needs cells of whole patches: {grid} does not divide {side}")
    n_windows = grid * grid if window == 1 else (grid - window + 1) ** 2
    total = 1 + -(-n_windows // batch_size)  # Captum's calls: the unablated pass, then the batches
    calls = [0]

    def counted(fn):
        def forward(x: Tensor) -> Tensor:
            out = fn(x)
            calls[0] += 1
            if progress:
                progress(min(1.0, calls[0] / total), f"occlusion {min(calls[0], total)}/{total}")
            return out

        return forward

    cell = side // grid  # patches a cell (for sliding windows, where it is exact)
    with torch.no_grad():
        if layer in ("projector", "vision"):
            tokens = scorer.image_tokens()
            base = scorer.baseline_tokens(baseline)
            if window == 1:
                attr = FeatureAblation(counted(scorer.scores)).attribute(
                    tokens,
                    baselines=base,
                    feature_mask=mask.to(scorer.device).reshape(1, side * side, 1),
                    perturbations_per_eval=batch_size,
                )  # (P, N, H): every channel of a token carries the token's value
                return attr[:, :, 0].reshape(-1, side, side).float().cpu()
            h = tokens.shape[-1]

            def as_tokens(x: Tensor) -> Tensor:
                return scorer.scores(x.reshape(x.shape[0], side * side, h))

            attr = Occlusion(counted(as_tokens)).attribute(
                tokens.reshape(1, side, side, h),
                sliding_window_shapes=(cell * window, cell * window, h),
                strides=(cell, cell, h),
                baselines=base.reshape(1, side, side, h),
                perturbations_per_eval=batch_size,
            )  # (P, side, side, H)
            return attr[..., 0].float().cpu()
        if baseline != "neutral":
            raise AttributionError("pixel occlusion (layer 'patch_embed') uses the neutral grey image only")
        pixels = scorer.pixel_values
        grey = scorer.neutral_pixel_values
        size = pixels.shape[-1]
        patch = size // side
        if window == 1:
            pixel_mask = mask.repeat_interleave(patch, 0).repeat_interleave(patch, 1).to(scorer.device)
            attr = FeatureAblation(counted(scorer.scores_from_pixels)).attribute(
                pixels,
                baselines=grey,
                feature_mask=pixel_mask.view(1, 1, size, size),
                perturbations_per_eval=batch_size,
            )
        else:
            attr = Occlusion(counted(scorer.scores_from_pixels)).attribute(
                pixels,
                sliding_window_shapes=(pixels.shape[1], cell * window * patch, cell * window * patch),
                strides=(pixels.shape[1], cell * patch, cell * patch),
                baselines=grey,
                perturbations_per_eval=batch_size,
            )
        # (P, 3, size, size): constant over each patch's pixels; one value a patch
        return attr[:, 0, patch // 2 :: patch, patch // 2 :: patch].float().cpu()


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
