"""Gradient x activation maps (Captum `LayerGradientXActivation`): the fast default.

One backward pass per phrase. All phrases of an explanation are batched: the input is replicated
once per phrase and Captum's per-example `target` picks phrase k's score for copy k, so a single
forward/backward pair gives every phrase's map (chunked by `batch_size` where memory is short).

Two layers to attribute at (DESIGN.md):

- "projector": the image tokens as the language model receives them, (B, 576, H). The vision tower
  runs once, outside the attributed function; only projector + language model are replicated.
- "patch_embed": the ViT's patch-embedding convolution, (B, C, 24, 24): localised by construction,
  but the vision tower runs (forward and backward) once per phrase.

The 24 x 24 map is grad . activation summed over channels: the first-order estimate of how much
the phrase's log-probability would drop if the patch's activation were zeroed. Positive = supports.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from captum.attr import LayerGradientXActivation
from torch import Tensor

from .scoring import AttributionError, PhraseScorer, chunks, patch_embedding_of, projector_of

LAYERS = ("projector", "patch_embed")
Progress = Callable[[float, str], None]


def gradient_grids(
    scorer: PhraseScorer,
    *,
    layer: str = "projector",
    batch_size: int = 16,
    progress: Progress | None = None,
) -> Tensor:
    """Gradient x activation maps for every scored span: float32 (P, side, side)."""
    forward, inputs, module = _layer_setup(scorer, layer)
    method = LayerGradientXActivation(forward, module)
    n = len(scorer.spans)
    side = scorer.grid_side
    out = torch.zeros(n, side, side)
    done = 0
    for part in chunks(n, batch_size):
        batch = inputs.expand(len(part), *inputs.shape[1:])
        with torch.enable_grad():
            attr = method.attribute(batch, target=list(part))
        out[part.start : part.stop] = to_grid(attr, layer, side)
        done += len(part)
        if progress:
            progress(done / n, f"gradient maps {done}/{n}")
    return out


def _layer_setup(scorer: PhraseScorer, layer: str):
    """(forward function, its input, the Captum layer) for an attribution layer name."""
    if layer == "projector":
        return scorer.scores_from_vision, scorer.vision_features, projector_of(scorer.model)
    if layer == "patch_embed":
        return scorer.scores_from_pixels, scorer.pixel_values, patch_embedding_of(scorer.model)
    raise AttributionError(f"unknown attribution layer '{layer}': use one of {', '.join(LAYERS)}")


def to_grid(attr: Tensor, layer: str, side: int) -> Tensor:
    """A layer attribution summed over channels -> (B, side, side) float32, row-major patches."""
    attr = attr.detach().float()
    if layer == "patch_embed":  # conv output (B, C, side, side)
        return attr.sum(1).cpu()
    return attr.sum(-1).reshape(attr.shape[0], side, side).cpu()  # tokens (B, side*side, H)
