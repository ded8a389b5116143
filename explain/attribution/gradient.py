"""Gradient x activation maps (Captum `LayerGradientXActivation`): the fast default.

One backward pass per phrase. All phrases of an explanation are batched: the input is replicated
once per phrase and Captum's per-example `target` picks phrase k's score for copy k, so a single
forward/backward pair gives every phrase's map (chunked by `batch_size` where memory is short).

Layers to attribute at (DESIGN.md):

- "projector": the image tokens as the language model receives them, (B, 576, H). The vision tower
  runs once, outside the attributed function; only projector + language model are replicated.
- "vision": the projector's input, i.e. the vision tower's selected hidden state (B, 576, C).
- "patch_embed": the ViT's patch-embedding convolution, (B, C, 24, 24): localised by construction,
  but the vision tower runs (forward and backward) once per phrase.

`reduce` turns the (channels x patches) attribution into one number a patch:
- "l2" (default): the L2 norm over channels of grad * activation: how strongly the phrase's
  log-probability depends on the patch, unsigned (>= 0). It won the pointing game on the toy
  model (bench/ATTRIBUTION_RESULTS.md): signed sums cancel across channels.
- "sum": grad . activation summed over channels, signed: the first-order estimate of how much the
  phrase's log-probability would drop if the patch's activation were zeroed. Positive = supports.
- "grad_l2": the L2 norm of the gradient alone (unsigned).
`smooth` > 0 averages that many noisy copies (SmoothGrad, Captum `NoiseTunnel`), noise at 10% of
the input's standard deviation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from captum.attr import LayerGradientXActivation, NoiseTunnel
from torch import Tensor

from .scoring import AttributionError, PhraseScorer, chunks, patch_embedding_of, projector_of

LAYERS = ("projector", "patch_embed", "vision")
REDUCTIONS = ("sum", "l2", "grad_l2")
Progress = Callable[[float, str], None]


def gradient_grids(
    scorer: PhraseScorer,
    *,
    layer: str = "projector",
    reduce: str = "l2",
    baseline: str | None = None,
    smooth: int = 0,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> Tensor:
    """Gradient x activation maps for every scored span: float32 (P, side, side).

    With `baseline` (layer "projector" only) the activation is measured from the baseline's
    tokens: grad . (tokens - baseline), the first-order estimate of occluding the patch with it."""
    if reduce not in REDUCTIONS:
        raise AttributionError(f"unknown reduction '{reduce}': use one of {', '.join(REDUCTIONS)}")
    if baseline is not None and layer != "projector":
        raise AttributionError("a gradient baseline is defined for the 'projector' layer only")
    forward, inputs, module, to_input = _layer_setup(scorer, layer)
    delta = None if baseline is None else scorer.image_tokens() - scorer.baseline_tokens(baseline)
    method = LayerGradientXActivation(forward, module, multiply_by_inputs=reduce != "grad_l2" and delta is None)
    n = len(scorer.spans)
    side = scorer.grid_side
    out = torch.zeros(n, side, side)
    done = 0
    copies = max(1, smooth)
    for part in chunks(n, max(1, batch_size // copies)):
        batch = inputs.expand(len(part), *inputs.shape[1:])
        kw = {"target": list(part), "attribute_to_layer_input": to_input}
        with torch.enable_grad():
            if smooth > 0:
                stdev = 0.1 * float(inputs.float().std())
                attr = NoiseTunnel(method).attribute(
                    batch, nt_type="smoothgrad", nt_samples=smooth, nt_samples_batch_size=copies, stdevs=stdev, **kw
                )
            else:
                attr = method.attribute(batch, **kw)
        if delta is not None and reduce != "grad_l2":
            attr = attr * delta
        out[part.start : part.stop] = to_grid(attr, layer, side, reduce)
        done += len(part)
        if progress:
            progress(done / n, f"gradient maps {done}/{n}")
    return out


def _layer_setup(scorer: PhraseScorer, layer: str):
    """(forward function, its input, the Captum layer, attribute to the layer's input?)."""
    if layer == "projector":
        return scorer.scores_from_vision, scorer.vision_features, projector_of(scorer.model), False
    if layer == "vision":
        return scorer.scores_from_vision, scorer.vision_features, projector_of(scorer.model), True
    if layer == "patch_embed":
        return scorer.scores_from_pixels, scorer.pixel_values, patch_embedding_of(scorer.model), False
    raise AttributionError(f"unknown attribution layer '{layer}': use one of {', '.join(LAYERS)}")


def to_grid(attr: Tensor, layer: str, side: int, reduce: str = "sum") -> Tensor:
    """A layer attribution reduced over channels -> (B, side, side) float32, row-major patches."""
    attr = attr.detach().float()
    if layer == "patch_embed":  # conv output (B, C, side, side) -> channels last
        attr = attr.flatten(2).transpose(1, 2)
    if reduce == "sum":
        flat = attr.sum(-1)
    else:
        flat = attr.norm(dim=-1)
    return flat.reshape(attr.shape[0], side, side).cpu()
