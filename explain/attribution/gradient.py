"""Gradient x activation maps (Captum `LayerGradientXActivation`): the fast default.

Two strategies compute the same maps (tests pin them equal):

- "shared" (default): one batch-1 forward pass scores every phrase at once, then the phrases'
  backward passes run through that one graph, `batch_size` phrases at a time as one vmapped pass
  (`torch.autograd.grad(..., is_grads_batched=True)`; one pass per phrase where an operator cannot
  be vmapped). The language model's layers recompute their activations during the backward pass
  instead of keeping them (recompute.py): on the 7B model this keeps the maps within the memory
  target (bench/RESULTS.md). Captum's layer methods need one forward per target, so this strategy
  drives autograd directly, computing Captum's quantity (the target's gradient with respect to the
  layer's output, times that output); tests check it against Captum.
- "replicated": Captum's `LayerGradientXActivation` on the input replicated once per phrase, with
  per-example `target`s: one forward/backward pair for `batch_size` phrases, but `batch_size`
  copies of every activation. SmoothGrad (`smooth` > 0, Captum `NoiseTunnel`) always uses it.

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

from .recompute import recompute_layers
from .scoring import AttributionError, PhraseScorer, chunks, patch_embedding_of, projector_of

LAYERS = ("projector", "patch_embed", "vision")
REDUCTIONS = ("sum", "l2", "grad_l2")
STRATEGIES = ("shared", "replicated")
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
    strategy: str = "shared",
) -> Tensor:
    """Gradient x activation maps for every scored span: float32 (P, side, side).

    With `baseline` (layer "projector" only) the activation is measured from the baseline's
    tokens: grad . (tokens - baseline), the first-order estimate of occluding the patch with it."""
    if reduce not in REDUCTIONS:
        raise AttributionError(f"unknown reduction '{reduce}': use one of {', '.join(REDUCTIONS)}")
    if strategy not in STRATEGIES:
        raise AttributionError(f"unknown gradient strategy '{strategy}': use one of {', '.join(STRATEGIES)}")
    if baseline is not None and layer != "projector":
        raise AttributionError("a gradient baseline is defined for the 'projector' layer only")
    forward, inputs, module, to_input = _layer_setup(scorer, layer)
    delta = None if baseline is None else scorer.image_tokens() - scorer.baseline_tokens(baseline)
    if strategy == "shared" and smooth == 0:
        return _shared_forward(scorer, layer, reduce, delta, batch_size, progress)
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


def _shared_forward(
    scorer: PhraseScorer, layer: str, reduce: str, delta: Tensor | None, batch_size: int, progress: Progress | None
) -> Tensor:
    """One forward, then backward passes of `batch_size` phrases each through the kept graph."""
    n, side = len(scorer.spans), scorer.grid_side
    out = torch.zeros(n, side, side)
    with torch.enable_grad(), recompute_layers(scorer.model):
        scores, act = _scores_with_activation(scorer, layer)
        scores = scores[0]
        parts = chunks(n, batch_size)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            grad = _batched_grad(scores, act, part, retain_graph=not last)
            if reduce == "grad_l2":
                attr = grad
            else:
                attr = grad * (act.detach() if delta is None else delta)
            out[part.start : part.stop] = to_grid(attr, layer, side, reduce)
            if progress:
                progress(part.stop / n, f"gradient maps {part.stop}/{n}")
    return out


def _scores_with_activation(scorer: PhraseScorer, layer: str) -> tuple[Tensor, Tensor]:
    """Phrase scores (1, P) and the attributed activation (1, ...) as a leaf of their graph."""
    if layer in ("projector", "vision"):
        feats = scorer.vision_features.detach()
        if layer == "vision":
            act = feats.requires_grad_(True)
            return scorer.scores_from_vision(act), act
        with torch.no_grad():
            tokens = projector_of(scorer.model)(feats)
        act = tokens.requires_grad_(True)
        return scorer.scores(act), act
    # "patch_embed" (gradient_grids has checked the layer): the convolution's output, made a leaf
    captured: list[Tensor] = []

    def as_leaf(_module, _args, output):
        leaf = output.detach().requires_grad_(True)
        captured.append(leaf)
        return leaf

    handle = patch_embedding_of(scorer.model).register_forward_hook(as_leaf)
    try:
        scores = scorer.scores_from_pixels(scorer.pixel_values)
    finally:
        handle.remove()
    return scores, captured[0]


def _batched_grad(scores: Tensor, act: Tensor, part: range, *, retain_graph: bool) -> Tensor:
    """d scores[k] / d act for k in `part`, stacked (len(part), ...): one vmapped backward pass,
    or one pass per phrase where an operator has no batching rule."""
    if len(part) > 1:
        picks = torch.zeros(len(part), scores.numel(), dtype=scores.dtype, device=scores.device)
        picks[torch.arange(len(part)), torch.tensor(list(part))] = 1.0
        try:
            (grad,) = torch.autograd.grad(scores, act, picks, retain_graph=True, is_grads_batched=True)
        except RuntimeError:
            pass
        else:
            return grad.squeeze(1)
    rows = []
    for j, k in enumerate(part):
        keep = retain_graph or j < len(part) - 1
        (g,) = torch.autograd.grad(scores[k], act, retain_graph=keep)
        rows.append(g[0])
    return torch.stack(rows)


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
