"""Gradient x activation maps: equal to a manual autograd computation, and pinned on the fixed model."""

from __future__ import annotations

import pytest
import torch
from conftest import reference_image_tokens, reference_scores

from explain.attribution.gradient import gradient_grids
from explain.attribution.scoring import AttributionError, patch_embedding_of

# Computed once with gradient_grids on the fixed model of conftest.py, and equal (see the two
# manual tests below) to grad . activation from torch.autograd on the model's own forward.
PINNED = {
    "projector": {
        "sums": [-0.20654112, 0.89299434, 0.31924587],
        "cells": [
            [0.0048813755, 0.016981540, -0.0084787514],
            [-0.0012665195, 0.0038452046, -0.0090671554],
            [0.00099741272, 0.0018449051, -0.0063804220],
        ],
        "argmax": [389, 206, 313],
    },
    "patch_embed": {
        "sums": [0.20086434, 0.25956669, -0.045354221],
        "cells": [
            [0.025461216, 0.0031078355, 0.016034082],
            [-0.00069850776, -0.0012908902, -0.033689696],
            [0.0025915788, -0.00088289846, -0.0020254080],
        ],
        "argmax": [256, 206, 313],
    },
}
CELLS = ([0, 5, 23], [0, 17, 23])  # (row, col) = (0, 0), (5, 17), (23, 23)


def manual_projector_maps(fixed) -> torch.Tensor:
    tokens = reference_image_tokens(fixed.model, fixed.inputs["pixel_values"]).detach().requires_grad_(True)
    scores = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=tokens)
    maps = []
    for k in range(len(fixed.spans)):
        (grad,) = torch.autograd.grad(scores[k], tokens, retain_graph=True)
        maps.append((grad * tokens).sum(-1).view(24, 24))
    return torch.stack(maps).detach()


def manual_patch_embed_maps(fixed) -> torch.Tensor:
    captured = []
    handle = patch_embedding_of(fixed.model).register_forward_hook(lambda _m, _a, out: captured.append(out))
    try:
        scores = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
    finally:
        handle.remove()
    act = captured[0]  # (1, C, 24, 24)
    maps = []
    for k in range(len(fixed.spans)):
        (grad,) = torch.autograd.grad(scores[k], act, retain_graph=True)
        maps.append((grad * act).sum(1)[0])
    return torch.stack(maps).detach()


def test_projector_maps_equal_manual_autograd(fixed):
    torch.testing.assert_close(gradient_grids(fixed.scorer(), layer="projector"), manual_projector_maps(fixed))


def test_patch_embed_maps_equal_manual_autograd(fixed):
    torch.testing.assert_close(gradient_grids(fixed.scorer(), layer="patch_embed"), manual_patch_embed_maps(fixed))


@pytest.mark.parametrize("layer", ["projector", "patch_embed"])
def test_pinned_values(fixed, layer):
    grids = gradient_grids(fixed.scorer(), layer=layer)
    pin = PINNED[layer]
    torch.testing.assert_close(grids.sum((1, 2)), torch.tensor(pin["sums"]), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(grids[:, CELLS[0], CELLS[1]], torch.tensor(pin["cells"]), rtol=1e-4, atol=1e-7)
    assert grids.flatten(1).argmax(1).tolist() == pin["argmax"]


def test_batching_phrases_does_not_change_maps(fixed):
    scorer = fixed.scorer()
    one_at_a_time = gradient_grids(scorer, batch_size=1)
    all_at_once = gradient_grids(scorer, batch_size=16)
    torch.testing.assert_close(one_at_a_time, all_at_once, rtol=1e-4, atol=1e-7)


def test_progress_reaches_one(fixed):
    seen = []
    gradient_grids(fixed.scorer(), batch_size=2, progress=lambda f, msg: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 2


def test_unknown_layer_is_refused(fixed):
    with pytest.raises(AttributionError, match="unknown attribution layer"):
        gradient_grids(fixed.scorer(), layer="pixels")
