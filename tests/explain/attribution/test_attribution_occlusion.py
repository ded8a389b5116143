"""Occlusion maps: each cell's value is a real rescoring with the cell ablated, for every phrase at once."""

from __future__ import annotations

import pytest
import torch

from explain.attribution.occlusion import cell_mask, centred_occluders, occlusion_grids
from explain.attribution.scoring import AttributionError
from tests.explain.attribution.fixed_model import N_PATCHES, SIDE, reference_image_tokens, reference_scores

# occlusion_grids(grid=4, layer="projector") on the fixed model, cells (0, 0), (0, 1), ... of the 4 x 4
# grid for phrase 0; cross-checked cell by cell against reference_scores in the tests below.
PINNED_4X4 = [
    [-0.11583519, 0.22436333, -0.26252365, 0.11313248],
    [0.14042664, -0.0047416687, 0.20607758, 0.044992447],
    [-0.083244324, -0.12150192, 0.10304642, 0.15585136],
    [0.094970703, 0.10473061, -0.068569183, -0.055850983],
]
# occlusion_grids(grid=4, window=2, baseline="grain") on the fixed model, phrase 0, cells row-major
# (cross-checked against reference_scores for two cells in test_centred_window_cell_equals_manual_removal)
PINNED_4X4_WINDOW2_GRAIN = [
    [-0.040510178, 0.084434509, 0.019065857, -0.14064789],
    [0.015636444, 0.24547577, 0.12193108, -0.052501678],
    [0.037137985, 0.21752548, 0.13428688, 0.034402847],
    [0.087108612, 0.22089767, 0.16958618, -0.072296143],
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
    expected = (full - ablated).view(-1, 1, 1).expand(-1, SIDE, SIDE)
    torch.testing.assert_close(grids, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cell", [(0, 0), (1, 2), (3, 1)])
def test_projector_cell_equals_manual_token_ablation(fixed, cell):
    grids = occlusion_grids(fixed.scorer(), grid=4)  # cells of 2 x 2 patches
    tokens, neutral = tokens_and_neutral(fixed)
    r, c = cell
    patches = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    patches[2 * r : 2 * r + 2, 2 * c : 2 * c + 2] = True
    ablated_tokens = torch.where(patches.view(1, N_PATCHES, 1), neutral, tokens)
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=tokens)
        ablated = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=ablated_tokens)
    torch.testing.assert_close(grids[:, 2 * r + 1, 2 * c], full - ablated, rtol=1e-4, atol=1e-4)
    # every patch of the cell carries the cell's value
    assert torch.equal(grids[:, patches].amin(1), grids[:, patches].amax(1))


def test_patch_embed_cell_equals_grey_pixel_occlusion(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=4, layer="patch_embed")
    pixels = fixed.inputs["pixel_values"].clone()
    r, c = 1, 2  # 2 x 2 patches of 14 px = 28 px
    box = (slice(None), slice(None), slice(28 * r, 28 * r + 28), slice(28 * c, 28 * c + 28))
    pixels[box] = fixed.neutral[box]
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
        grey = reference_scores(fixed.model, {**fixed.inputs, "pixel_values": pixels}, fixed.answer, fixed.spans)
    torch.testing.assert_close(grids[:, 2 * r, 2 * c + 1], full - grey, rtol=1e-4, atol=1e-4)


def test_pinned_values(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=4)
    torch.testing.assert_close(grids[0, ::2, ::2], torch.tensor(PINNED_4X4), rtol=1e-4, atol=1e-4)


def test_batching_does_not_change_maps(fixed):
    scorer = fixed.scorer()
    torch.testing.assert_close(
        occlusion_grids(scorer, grid=3, batch_size=1),
        occlusion_grids(scorer, grid=3, batch_size=9),
        rtol=1e-4,
        atol=1e-4,
    )


def test_zero_baseline_is_a_different_reference(fixed):
    scorer = fixed.scorer()
    assert not torch.allclose(occlusion_grids(scorer, grid=2), occlusion_grids(scorer, grid=2, baseline="zeros"))
    with pytest.raises(AttributionError, match="unknown baseline"):
        occlusion_grids(scorer, grid=2, baseline="purple")


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


def test_insertion_cell_equals_manual_insertion(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=4, mode="insertion", baseline="zeros")
    tokens, _ = tokens_and_neutral(fixed)
    zeros = torch.zeros_like(tokens)
    patches = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    patches[2:4, 4:6] = True  # cell (1, 2)
    inserted = torch.where(patches.view(1, N_PATCHES, 1), tokens, zeros)
    with torch.no_grad():
        with_cell = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=inserted)
        blank = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=zeros)
    torch.testing.assert_close(grids[:, 2, 5], with_cell - blank, rtol=1e-4, atol=1e-4)


def test_both_modes_add_up(fixed):
    scorer = fixed.scorer()
    kw = dict(grid=2, baseline="mean")
    both = occlusion_grids(scorer, mode="both", **kw)
    torch.testing.assert_close(
        both, occlusion_grids(scorer, mode="insertion", **kw) + occlusion_grids(scorer, **kw), rtol=1e-5, atol=1e-5
    )


def removal_drop(fixed, patches: torch.Tensor, replacement: torch.Tensor) -> torch.Tensor:
    """score(image) - score(image with `patches` (SIDE x SIDE bool) replaced), by the model's own forward."""
    tokens, _ = tokens_and_neutral(fixed)
    removed = torch.where(patches.view(1, N_PATCHES, 1), replacement, tokens)
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=tokens)
        return full - reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans, image_tokens=removed)


def test_centred_occluders_are_clipped_windows_centred_on_each_cell():
    occ = centred_occluders(8, 4, 2)  # 4 x 4 cells of 2 x 2 patches, occluders of 2 x 2 cells
    assert occ.shape == (16, 8, 8)
    inner = torch.zeros(8, 8, dtype=torch.bool)
    inner[1:5, 3:7] = True  # cell (1, 2) covers patches [2, 4) x [4, 6); its occluder is centred on it
    assert torch.equal(occ[1 * 4 + 2], inner)
    corner = torch.zeros(8, 8, dtype=torch.bool)
    corner[0:3, 0:3] = True  # cell (0, 0): the same window, clipped at the border
    assert torch.equal(occ[0], corner)
    # 12 x 12 cells, window 4 (the default): 8 x 8 patches centred on each 2 x 2 cell
    occ = centred_occluders(24, 12, 4)
    assert occ[5 * 12 + 5].sum() == 64 and occ[5 * 12 + 5].nonzero().float().mean(0).tolist() == [10.5, 10.5]
    # window 1: exactly the cells of cell_mask
    cells = cell_mask(24, 6)
    assert torch.equal(centred_occluders(24, 6, 1), torch.stack([cells == k for k in range(36)]))


@pytest.mark.parametrize("baseline", ["grain", "zeros"])
def test_centred_window_cell_equals_manual_removal(fixed, baseline):
    scorer = fixed.scorer()
    grids = occlusion_grids(scorer, grid=4, window=2, baseline=baseline)
    patches = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    patches[1:5, 3:7] = True  # the occluder of cell (1, 2)
    expected = removal_drop(fixed, patches, scorer.baseline_tokens(baseline))
    torch.testing.assert_close(grids[:, 2, 4], expected, rtol=1e-4, atol=1e-4)
    # every patch of the cell carries the cell's value
    torch.testing.assert_close(grids[:, 2:4, 4:6], expected.view(-1, 1, 1).expand(-1, 2, 2), rtol=1e-4, atol=1e-4)
    corner = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    corner[0:3, 0:3] = True
    expected = removal_drop(fixed, corner, scorer.baseline_tokens(baseline))
    torch.testing.assert_close(grids[:, 0, 0], expected, rtol=1e-4, atol=1e-4)


def test_centred_window_on_pixels_replaces_patches_with_the_grain_picture(fixed):
    scorer = fixed.scorer()
    grids = occlusion_grids(scorer, grid=4, window=2, layer="patch_embed", baseline="grain")
    pixels = fixed.inputs["pixel_values"].clone()
    box = (slice(None), slice(None), slice(14, 70), slice(42, 98))  # patches [1, 5) x [3, 7)
    pixels[box] = fixed.grain[box]
    with torch.no_grad():
        full = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
        grain = reference_scores(fixed.model, {**fixed.inputs, "pixel_values": pixels}, fixed.answer, fixed.spans)
    torch.testing.assert_close(grids[:, 2, 4], full - grain, rtol=1e-4, atol=1e-4)


def test_centred_window_pinned_values(fixed):
    grids = occlusion_grids(fixed.scorer(), grid=4, window=2, baseline="grain")
    torch.testing.assert_close(grids[0, ::2, ::2], torch.tensor(PINNED_4X4_WINDOW2_GRAIN), rtol=1e-4, atol=1e-4)


def test_smoothing_averages_the_occluders_centred_nearby(fixed):
    scorer = fixed.scorer()
    raw = occlusion_grids(scorer, grid=4, window=2, baseline="grain")[:, ::2, ::2]  # (P, 4, 4) cells
    smooth = occlusion_grids(scorer, grid=4, window=2, baseline="grain", smooth=1)[:, ::2, ::2]
    torch.testing.assert_close(smooth[:, 1, 2], raw[:, 0:3, 1:4].mean((1, 2)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(smooth[:, 0, 0], raw[:, 0:2, 0:2].mean((1, 2)), rtol=1e-5, atol=1e-6)  # corner: 4 cells
    with pytest.raises(AttributionError, match="centred occluders"):
        occlusion_grids(scorer, grid=4, smooth=1)


def test_centred_window_batching_and_progress(fixed):
    scorer = fixed.scorer()
    seen = []
    one = occlusion_grids(scorer, grid=4, window=3, batch_size=1)
    many = occlusion_grids(scorer, grid=4, window=3, batch_size=6, progress=lambda f, msg: seen.append((f, msg)))
    torch.testing.assert_close(one, many, rtol=1e-4, atol=1e-4)
    # 0/16 once the unoccluded pass is done: the work's size is known (and a cancel can stop it) early
    assert [round(f, 3) for f, _ in seen] == [0.0, 0.375, 0.75, 1.0] and seen[-1][1] == "occlusion 16/16"
    assert seen[0][1] == "occlusion 0/16"


def test_unsupported_combinations_are_refused(fixed):
    scorer = fixed.scorer()
    with pytest.raises(AttributionError, match="insertion"):
        occlusion_grids(scorer, grid=2, mode="insertion", layer="patch_embed")
    with pytest.raises(AttributionError, match="mode"):
        occlusion_grids(scorer, grid=2, mode="sideways")
    with pytest.raises(AttributionError, match="replaces pixels with a picture"):
        occlusion_grids(scorer, grid=2, layer="patch_embed", baseline="zeros")
    with pytest.raises(AttributionError, match="whole patches"):
        occlusion_grids(scorer, grid=3, window=2)
    with pytest.raises(AttributionError, match="window must be between"):
        occlusion_grids(scorer, grid=2, window=3)
    with pytest.raises(AttributionError, match="one cell at a time"):
        occlusion_grids(scorer, grid=4, window=2, mode="insertion")


@pytest.mark.parametrize("side, grid, window", [(24, 24, 8), (24, 24, 9), (24, 8, 2), (24, 12, 3), (8, 8, 2)])
def test_every_occluder_is_centred_on_the_cell_it_scores(side, grid, window):
    """Issue 20, bug 1: with cells of one patch and an even window the occluder for cell i covered
    i-3..i+4 (window 8), so every value landed half a patch up-left of its occluder's centre."""
    c = side // grid
    occ = centred_occluders(side, grid, window)
    for i in range(grid):
        for j in range(grid):
            patches = occ[i * grid + j].nonzero().float()
            rows, cols = patches[:, 0], patches[:, 1]
            centre = (c * i + (c - 1) / 2, c * j + (c - 1) / 2)
            # an occluder clipped at the border is centred only along the unclipped axis
            if rows.min() > 0 and rows.max() < side - 1:
                assert rows.mean().item() == centre[0], (i, j)
            if cols.min() > 0 and cols.max() < side - 1:
                assert cols.mean().item() == centre[1], (i, j)
            assert occ[i * grid + j, c * i : c * i + c, c * j : c * j + c].all()  # covers its own cell
