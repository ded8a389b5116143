"""Gradient x activation maps: equal to a manual autograd computation, and pinned on the fixed model."""

from __future__ import annotations

import pytest
import torch

from explain.attribution.gradient import gradient_grids
from explain.attribution.scoring import AttributionError, patch_embedding_of
from tests.explain.attribution.fixed_model import SIDE, reference_image_tokens, reference_scores

# Computed once with gradient_grids on the fixed model of conftest.py, and equal (see the two
# manual tests below) to grad . activation from torch.autograd on the model's own forward.
PINNED = {
    "projector": {
        "sums": [0.25122237, 0.29290962, -0.015041675],
        "cells": [
            [-0.019960351, 0.034856297, 0.0016368609],
            [-0.028771982, -0.088355735, 0.023143314],
            [-0.0030920226, -0.0033547394, 0.0010237505],
        ],
        "argmax": [53, 14, 53],
    },
    "patch_embed": {
        "sums": [-1.0337269, 0.38462007, -0.69652545],
        "cells": [
            [0.012301167, -0.19466610, 0.056010414],
            [-0.013632039, -0.081303671, 0.11840173],
            [-0.022352852, -0.14931371, 0.034219205],
        ],
        "argmax": [58, 3, 2],
    },
}
# gradient_grids(layer="projector") (reduce="l2"), summed over patches, phrase by phrase
PINNED_L2_SUMS = [6.9843497, 10.796659, 4.5759959]
CELLS = ([0, 3, 7], [0, 5, 7])  # (row, col) = (0, 0), (3, 5), (7, 7)


def manual_projector_attr(fixed) -> torch.Tensor:
    """grad * activation per channel, (P, SIDE, SIDE, H)."""
    tokens = reference_image_tokens(fixed.model, fixed.inputs["pixel_values"]).detach().requires_grad_(True)
    scores = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=tokens)
    maps = []
    for k in range(len(fixed.spans)):
        (grad,) = torch.autograd.grad(scores[k], tokens, retain_graph=True)
        maps.append((grad * tokens)[0].view(SIDE, SIDE, -1))
    return torch.stack(maps).detach()


def manual_patch_embed_attr(fixed) -> torch.Tensor:
    """grad * activation per channel, (P, SIDE, SIDE, C)."""
    captured = []
    handle = patch_embedding_of(fixed.model).register_forward_hook(lambda _m, _a, out: captured.append(out))
    try:
        scores = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
    finally:
        handle.remove()
    act = captured[0]  # (1, C, SIDE, SIDE)
    maps = []
    for k in range(len(fixed.spans)):
        (grad,) = torch.autograd.grad(scores[k], act, retain_graph=True)
        maps.append((grad * act)[0].permute(1, 2, 0))
    return torch.stack(maps).detach()


MANUAL = {"projector": manual_projector_attr, "patch_embed": manual_patch_embed_attr}


@pytest.mark.parametrize("layer", ["projector", "patch_embed"])
def test_maps_equal_manual_autograd(fixed, layer):
    attr = MANUAL[layer](fixed)
    scorer = fixed.scorer()
    torch.testing.assert_close(gradient_grids(scorer, layer=layer, reduce="sum"), attr.sum(-1))
    torch.testing.assert_close(gradient_grids(scorer, layer=layer, reduce="l2"), attr.norm(dim=-1))
    assert torch.equal(gradient_grids(scorer, layer=layer), gradient_grids(scorer, layer=layer, reduce="l2"))


@pytest.mark.parametrize("layer", ["projector", "patch_embed"])
def test_pinned_values(fixed, layer):
    grids = gradient_grids(fixed.scorer(), layer=layer, reduce="sum")
    pin = PINNED[layer]
    torch.testing.assert_close(grids.sum((1, 2)), torch.tensor(pin["sums"]), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(grids[:, CELLS[0], CELLS[1]], torch.tensor(pin["cells"]), rtol=1e-4, atol=1e-7)
    assert grids.flatten(1).argmax(1).tolist() == pin["argmax"]


def test_pinned_l2_sums(fixed):
    grids = gradient_grids(fixed.scorer(), layer="projector")
    torch.testing.assert_close(grids.sum((1, 2)), torch.tensor(PINNED_L2_SUMS), rtol=1e-4, atol=1e-6)
    assert (grids >= 0).all()


def test_gradient_times_delta_from_a_baseline(fixed):
    scorer = fixed.scorer()
    attr = manual_projector_attr(fixed)  # grad * tokens
    tokens = scorer.image_tokens()[0].view(SIDE, SIDE, -1)
    mean = tokens.mean((0, 1))
    grad = attr / tokens  # the fixed model's tokens have no exact zeros
    expected = (grad * (tokens - mean)).sum(-1)
    torch.testing.assert_close(gradient_grids(scorer, reduce="sum", baseline="mean"), expected, rtol=1e-4, atol=1e-6)


def test_batching_phrases_does_not_change_maps(fixed):
    scorer = fixed.scorer()
    one_at_a_time = gradient_grids(scorer, batch_size=1)
    all_at_once = gradient_grids(scorer, batch_size=16)
    torch.testing.assert_close(one_at_a_time, all_at_once, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("layer", ["projector", "vision", "patch_embed"])
@pytest.mark.parametrize("reduce", ["sum", "l2", "grad_l2"])
def test_shared_forward_equals_captum_on_replicated_inputs(fixed, layer, reduce):
    """The default strategy (one forward, vmapped backward passes) computes what Captum's
    LayerGradientXActivation computes on one input copy per phrase."""
    scorer = fixed.scorer()
    shared = gradient_grids(scorer, layer=layer, reduce=reduce)
    captum = gradient_grids(scorer, layer=layer, reduce=reduce, strategy="replicated", batch_size=2)
    torch.testing.assert_close(shared, captum, rtol=1e-4, atol=1e-7)
    assert shared.abs().sum() > 0


def test_shared_forward_falls_back_to_one_backward_a_phrase(fixed, monkeypatch):
    """Where vmap cannot batch the backward pass, each phrase gets its own pass: same maps."""
    scorer = fixed.scorer()
    expected = gradient_grids(scorer)
    real_grad = torch.autograd.grad

    def no_vmap(*args, **kwargs):
        if kwargs.get("is_grads_batched"):
            raise RuntimeError("no batching rule")
        return real_grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", no_vmap)
    torch.testing.assert_close(gradient_grids(scorer), expected, rtol=1e-5, atol=1e-8)


def test_unknown_strategy_is_refused(fixed):
    with pytest.raises(AttributionError, match="unknown gradient strategy"):
        gradient_grids(fixed.scorer(), strategy="sideways")


def test_progress_reaches_one(fixed):
    seen = []
    gradient_grids(fixed.scorer(), batch_size=2, progress=lambda f, msg: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 2


def test_unknown_layer_is_refused(fixed):
    with pytest.raises(AttributionError, match="unknown attribution layer"):
        gradient_grids(fixed.scorer(), layer="pixels")
