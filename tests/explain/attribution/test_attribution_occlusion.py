"""Occlusion maps: each cell's value is a real rescoring with the cell ablated, for every phrase at once."""

from __future__ import annotations

import pytest
import torch
from conftest import reference_image_tokens, reference_scores

from explain.attribution.occlusion import cell_mask, occlusion_grids
from explain.attribution.scoring import AttributionError

# occlusion_grids(grid=4, layer="projector") on the fixed model, cells (0, 0), (0, 1), ... of the 4 x 4
# grid, phrase by phrase; cross-checked cell by cell against reference_scores in the tests below.
PINNED_4X4 = [
    [0.21537972, 0.16656303, 0.21361160, -0.026174545],
    [0.0018310547, 0.039014816, 0.090057373, 0.084707260],
    [0.028484344, 0.10617828, 0.15656281, 0.11858368],
    [-0.054861069, 0.27232361, -0.061788559, 0.10067558],
]


def tokens_and_neutral(fixed):
    with torch.no_grad():
        tokens = reference_image_tokens(fixed.model, fixed.inputs["pixel_values"])
        neutral = reference_image_tokens(fixed.model, fixed.neutral)
    return tokens, neutral


def test_one_cell_equals_ablating_the_whole_image(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=1)
    tokens, neutral = tokens_and_neutral(fixed)
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=tokens)
        ablated = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=neutral)
    expected = (full - ablated).view(-1, 1, 1).expand(-1, 24, 24)
    torch.testing.assert_close(grids, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell", [(0, 0), (1, 2), (3, 1)])
def test_projector_cell_equals_manual_token_ablation(fixed, cell):
    grids = occlusion_grids(fixed.scorer(), grid=4)
    tokens, neutral = tokens_and_neutral(fixed)
    r, c = cell
    patches = torch.zeros(24, 24, dtype=torch.bool)
    patches[6 * r : 6 * r + 6, 6 * c : 6 * c + 6] = True
    ablated_tokens = torch.where(patches.view(1, 576, 1), neutral, tokens)
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=tokens)
        ablated = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=ablated_tokens)
    torch.testing.assert_close(grids[:, 6 * r, 6 * c], full - ablated, rtol=1e-4, atol=1e-4)
    # every patch of the cell carries the cell's value
    assert torch.equal(grids[:, patches].amin(1), grids[:, patches].amax(1))


def test_patch_embed_cell_equals_grey_pixel_occlusion(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=4, layer="patch_embed")
    pixels = fixed.inputs["pixel_values"].clone()
    r, c = 1, 2  # 6 x 6 patches of 14 px = 84 px
    pixels[:, :, 84 * r : 84 * r + 84, 84 * c : 84 * c + 84] = fixed.neutral[:, :, 84 * r : 84 * r + 84, 84 * c : 84 * c + 84]
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
        grey = reference_scores(fixed.model, {**fixed.inputs, "pixel_values": pixels}, fixed.answer, fixed.spans)
    torch.testing.assert_close(grids[:, 6 * r, 6 * c], full - grey, rtol=1e-4, atol=1e-4)


def test_pinned_values(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=4)
    torch.testing.assert_close(grids[0, ::6, ::6], torch.tensor(PINNED_4X4), rtol=1e-4, atol=1e-4)


def test_batching_does_not_change_maps(fixed):
    scorer = fixed.scorer()
    torch.testing.assert_close(
        occlusion_grids(scorer, grid=3, batch_size=1), occlusion_grids(scorer, grid=3, batch_size=9), rtol=1e-4, atol=1e-4
    )


def test_zero_baseline_is_a_different_reference(fixed):
    scorer = fixed.scorer()
    assert not torch.allclose(occlusion_grids(scorer, grid=2), occlusion_grids(scorer, grid=2, baseline="zeros"))


def test_progress_counts_forward_passes(fixed):
    seen = []
    occlusion_grids(fixed.scorer(), grid=3, batch_size=4, progress=lambda f, msg: seen.append((f, msg)))
    # one unablated pass, then 9 cells in batches of 4: 3 passes
    assert [f for f, _ in seen] == [0.25, 0.5, 0.75, 1.0]
    assert seen[-1][1] == "occlusion 4/4"


def test_cell_mask_covers_uneven_grids():
    for g in (1, 5, 7, 12, 24):
        mask = cell_mask(24, g)
        assert sorted(mask.unique().tolist()) == list(range(g * g))
        assert mask[0, 0] == 0 and mask[-1, -1] == g * g - 1
    assert torch.equal(cell_mask(24, 12)[:2, :2], torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(AttributionError):
        cell_mask(24, 25)
    with pytest.raises(AttributionError):
        cell_mask(24, 0)
