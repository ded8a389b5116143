"""Occlusion maps (Captum `FeatureAblation`): the faithful method, on demand.

The 24 x 24 patches are grouped into g x g cells (g configurable; 24 = every patch alone). Each
cell is replaced by the baseline and every phrase is rescored; a cell's value is
score(image) - score(image with the cell ablated), so positive = the cell supports the phrase.
Every patch of a cell carries the cell's value (Captum's feature-group convention).

The forward function returns all phrase scores at once, (B, P), so a single Captum run gives the
maps of every phrase; `perturbations_per_eval` batches the ablated copies.

Layers:
- "projector" (default): ablate image tokens (projector outputs). The vision tower runs once; each
  perturbation costs one language-model pass. Baseline: the neutral image's tokens, patch-wise
  ("zeros": all-zero tokens instead). "vision" gives the same maps: the projector acts token by token.
- "patch_embed": ablate patch-embedding columns with the neutral image's. The patch embedding is a
  stride-14 convolution, so this is exactly pixel occlusion with mid-grey 14-px patches; the
  vision tower reruns for each perturbation.
"""

from __future__ import annotations

import torch
from captum.attr import FeatureAblation, LayerFeatureAblation
from torch import Tensor

from .gradient import LAYERS, Progress
from .scoring import AttributionError, PhraseScorer, patch_embedding_of


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
    layer: str = "projector",
    baseline: str = "neutral",
    batch_size: int = 16,
    progress: Progress | None = None,
) -> Tensor:
    """Occlusion maps for every scored span: float32 (P, side, side)."""
    side = scorer.grid_side
    mask = cell_mask(side, grid).to(scorer.device)
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
        # the projector works token by token, so ablating its input ("vision") or its output is the same
        if layer in ("projector", "vision"):
            tokens = scorer.image_tokens()
            base = scorer.baseline_tokens(baseline)
            method = FeatureAblation(counted(scorer.scores))
            attr = method.attribute(
                tokens,
                baselines=base,
                feature_mask=mask.reshape(1, side * side, 1),
                perturbations_per_eval=batch_size,
            )  # (P, N, H): every channel of a token carries the token's value
            grids = attr[:, :, 0].reshape(-1, side, side)
        elif layer == "patch_embed":
            module = patch_embedding_of(scorer.model)
            base = _layer_output(module, scorer, scorer.neutral_pixel_values) if baseline == "neutral" else 0.0
            method = LayerFeatureAblation(counted(scorer.scores_from_pixels), module)
            attr = method.attribute(
                scorer.pixel_values,
                layer_baselines=base,
                layer_mask=mask.reshape(1, 1, side, side),
                perturbations_per_eval=batch_size,
            )
            grids = attr[:, 0]
        else:
            raise AttributionError(f"unknown attribution layer '{layer}': use one of {', '.join(LAYERS)}")
    return grids.float().cpu()


def _layer_output(module: torch.nn.Module, scorer: PhraseScorer, pixel_values: Tensor) -> Tensor:
    captured: list[Tensor] = []
    handle = module.register_forward_hook(lambda _m, _a, out: captured.append(out))
    try:
        scorer.vision_features_of(pixel_values)
    finally:
        handle.remove()
    return captured[0]
