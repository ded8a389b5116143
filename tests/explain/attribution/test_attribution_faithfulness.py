"""Deletion and insertion curves: end points, a recomputed interior point, and the AUC."""

from __future__ import annotations

import math

import torch

from explain.attribution.faithfulness import auc, faithfulness_curves
from explain.attribution.occlusion import occlusion_grids
from explain.attribution.reliance import scores_and_reliance
from tests.explain.attribution.fixed_model import N_PATCHES, SIDE, reference_image_tokens, reference_scores


def test_curves_end_on_the_image_and_the_neutral_image(fixed):
    scorer = fixed.scorer()
    grids = torch.randn(len(fixed.spans), SIDE, SIDE, generator=torch.Generator().manual_seed(0))
    curves = faithfulness_curves(scorer, grids, steps=4)
    image, neutral, _ = scores_and_reliance(scorer)
    for k, c in enumerate(curves):
        n = fixed.spans[k][2] - fixed.spans[k][1]
        assert c.fractions == (0.0, 0.25, 0.5, 0.75, 1.0)
        assert math.isclose(c.deletion[0], math.exp(image[k] / n), rel_tol=1e-5)
        assert math.isclose(c.deletion[-1], math.exp(neutral[k] / n), rel_tol=1e-5)
        assert math.isclose(c.insertion[0], c.deletion[-1]) and math.isclose(c.insertion[-1], c.deletion[0])
        assert all(0.0 < v <= 1.0 for v in c.deletion + c.insertion)
        assert math.isclose(c.deletion_auc, auc(torch.tensor(c.fractions), torch.tensor(c.deletion)))


def test_interior_point_is_a_real_rescoring(fixed):
    scorer = fixed.scorer()
    grids = torch.randn(len(fixed.spans), SIDE, SIDE, generator=torch.Generator().manual_seed(1))
    curves = faithfulness_curves(scorer, grids, steps=4)
    with torch.no_grad():
        x = reference_image_tokens(fixed.model, fixed.inputs["pixel_values"])
        x0 = reference_image_tokens(fixed.model, fixed.neutral)
    k = 1
    top = torch.argsort(grids[k].flatten(), descending=True)[: N_PATCHES // 4]
    deleted, inserted = x.clone(), x0.clone()
    deleted[0, top] = x0[0, top]
    inserted[0, top] = x[0, top]
    n = fixed.spans[k][2] - fixed.spans[k][1]
    with torch.no_grad():
        d = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=deleted)[k]
        i = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=inserted)[k]
    assert math.isclose(curves[k].deletion[1], math.exp(d / n), rel_tol=1e-4)
    assert math.isclose(curves[k].insertion[1], math.exp(i / n), rel_tol=1e-4)


def test_a_map_deletes_faster_than_its_opposite(fixed):
    scorer = fixed.scorer()
    grids = occlusion_grids(scorer, grid=4)
    forward = faithfulness_curves(scorer, grids, steps=6)
    backward = faithfulness_curves(scorer, -grids, steps=6)
    for f, b in zip(forward, backward, strict=True):
        assert f.deletion_auc < b.deletion_auc
        assert f.insertion_auc > b.insertion_auc


def test_auc_of_known_curves():
    x = torch.linspace(0, 1, 11)
    assert math.isclose(auc(x, 1 - x), 0.5, rel_tol=1e-6)
    assert math.isclose(auc(x, torch.ones(11)), 1.0, rel_tol=1e-6)


def test_span_without_tokens_has_no_curves(fixed):
    from explain.attribution.scoring import PhraseScorer, ScoredSpan

    scorer = PhraseScorer(
        fixed.model,
        fixed.inputs,
        fixed.answer,
        [ScoredSpan(0, 0, 3), ScoredSpan(1, 3, 3)],
        neutral_pixel_values=fixed.neutral,
    )
    curves = faithfulness_curves(scorer, torch.zeros(2, SIDE, SIDE), steps=2)
    assert curves[0] is not None and curves[1] is None


def test_each_deletion_curve_comes_with_a_random_ranking_baseline(fixed):
    """Issue 20: a deletion AUC means something only beside the same curve for a random ranking."""
    from explain.attribution.faithfulness import random_order

    scorer = fixed.scorer()
    grids = occlusion_grids(scorer, grid=4)
    curves = faithfulness_curves(scorer, grids, steps=4)
    # the random baseline is exactly the deletion curve of a map that ranks patches in random order
    as_maps = torch.stack([-random_order(N_PATCHES, k).argsort().float().view(SIDE, SIDE) for k in range(len(curves))])
    randoms = faithfulness_curves(scorer, as_maps, steps=4)
    for c, r in zip(curves, randoms, strict=True):
        assert c.deletion_random == r.deletion
        assert c.deletion_auc_random == r.deletion_auc
        assert c.deletion_random[0] == c.deletion[0] and c.deletion_random[-1] == c.deletion[-1]
