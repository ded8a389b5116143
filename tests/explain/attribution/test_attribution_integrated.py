"""Integrated Gradients: Captum's LayerIntegratedGradients equals a hand-written quadrature, and
its maps add up to the phrase's visual reliance (completeness)."""

from __future__ import annotations

import numpy as np
import torch

from explain.attribution.integrated import ig_grids
from explain.attribution.reliance import scores_and_reliance
from tests.explain.attribution.fixed_model import SIDE, reference_image_tokens, reference_scores

# ig_grids(n_steps=16, layer="projector") on the fixed model; equal to manual_ig below.
PINNED_SUMS = [-0.14066693, 0.037616789, -0.33894664]
PINNED_CELLS = [  # cells (0, 0), (3, 5), (7, 7), phrase by phrase
    [-0.089021593, -0.0056482125, 0.00077765109],
    [-0.11085317, -0.084273353, 0.0077825636],
    [-0.039864458, 0.014764798, 0.0012977095],
]


def manual_ig(fixed, n_steps: int = 16) -> torch.Tensor:
    """IG on the image tokens from the neutral image's, with Gauss-Legendre nodes on [0, 1]."""
    with torch.no_grad():
        x = reference_image_tokens(fixed.model, fixed.inputs["pixel_values"])
        x0 = reference_image_tokens(fixed.model, fixed.neutral)
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    total = torch.zeros(len(fixed.spans), *x.shape[1:])
    for a, w in zip((nodes + 1) / 2, weights / 2, strict=True):
        point = (x0 + float(a) * (x - x0)).requires_grad_(True)
        scores = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=point)
        for k in range(len(fixed.spans)):
            (grad,) = torch.autograd.grad(scores[k], point, retain_graph=True)
            total[k] += float(w) * grad[0]
    return (total * (x - x0)).sum(-1).view(-1, SIDE, SIDE)


def test_equals_manual_quadrature(fixed):
    grids, _ = ig_grids(fixed.scorer(), n_steps=16)
    torch.testing.assert_close(grids, manual_ig(fixed), rtol=1e-4, atol=1e-6)


def test_pinned_values(fixed):
    grids, _ = ig_grids(fixed.scorer(), n_steps=16)
    torch.testing.assert_close(grids.sum((1, 2)), torch.tensor(PINNED_SUMS), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grids[:, [0, 3, 7], [0, 5, 7]], torch.tensor(PINNED_CELLS), rtol=1e-4, atol=1e-6)


def test_maps_add_up_to_visual_reliance(fixed):
    scorer = fixed.scorer()
    grids, deltas = ig_grids(scorer, n_steps=16)
    _, _, reliance = scores_and_reliance(scorer)
    torch.testing.assert_close(grids.sum((1, 2)), reliance, rtol=0, atol=1e-3)
    assert deltas.abs().max() < 1e-3


def test_patch_embed_layer_is_complete_too(fixed):
    scorer = fixed.scorer()
    grids, deltas = ig_grids(scorer, layer="patch_embed", n_steps=16)
    _, _, reliance = scores_and_reliance(scorer)
    # the path runs between the two images' patch embeddings; the position embeddings and CLS token
    # are the same for both, so the whole score difference flows through the patches, up to the
    # quadrature error (larger here: the path crosses the whole ViT), which the delta reports
    torch.testing.assert_close(grids.sum((1, 2)), reliance + deltas, rtol=0, atol=1e-4)
    assert deltas.abs().max() < 0.02


def test_zero_baseline_reports_its_integration_error(fixed):
    scorer = fixed.scorer()
    grids, deltas = ig_grids(scorer, n_steps=16, baseline="zeros")
    with torch.no_grad():
        tokens = scorer.image_tokens()
        gap = scorer.scores(tokens)[0] - scorer.scores(torch.zeros_like(tokens))[0]
    # From all-zero tokens the path starts at the language model's RMSNorm singularity, where the
    # score changes abruptly: 16 steps do not integrate it, and the delta says by how much.
    torch.testing.assert_close(grids.sum((1, 2)), gap.cpu() + deltas, rtol=0, atol=1e-4)


def test_default_ig_starts_from_the_grain_picture_and_is_complete(fixed):
    """Issue 20: IG from zeros started at the RMSNorm singularity and missed completeness; from the
    grain picture at the default steps the map adds up to the score gap."""
    from explain.attribution import DEFAULT_IG_BASELINE, DEFAULT_IG_STEPS

    assert (DEFAULT_IG_BASELINE, DEFAULT_IG_STEPS) == ("grain", 48)
    scorer = fixed.scorer()
    grids, deltas = ig_grids(scorer, n_steps=DEFAULT_IG_STEPS, baseline=DEFAULT_IG_BASELINE)
    with torch.no_grad():
        gap = scorer.scores(scorer.image_tokens())[0] - scorer.scores(scorer.baseline_tokens("grain"))[0]
    torch.testing.assert_close(grids.sum((1, 2)), gap.cpu() + deltas, rtol=0, atol=1e-4)
    assert (deltas.abs() <= 0.01 * gap.abs().cpu() + 1e-4).all()
