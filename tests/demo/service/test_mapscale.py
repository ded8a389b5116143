"""The maps' plain-words scale: each patch's share of the phrase's evidence, bands, hover sentences,
and the figures drawn on it (raw values stay in the JSON)."""

from __future__ import annotations

import random

import pytest

from demo import figures
from demo.service import PhraseMap, maps_json
from demo.service.mapscale import evidence_scale, hover_text, legend_text, share_text


def _grid(seed: int, signed: bool = True) -> list[list[float]]:
    rng = random.Random(seed)
    lo = -1e-5 if signed else 0.0
    return [[rng.uniform(lo, 3e-5) for _ in range(24)] for _ in range(24)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shares_sum_to_100_percent_over_the_positive_mass(seed):
    grid = _grid(seed)
    scale = evidence_scale(grid)
    positive = sum(v for row in grid for v in row if v > 0)
    assert scale.positive_mass == pytest.approx(positive)
    assert sum(s for row in scale.shares for s in row if s > 0) == pytest.approx(100.0)
    for row, srow in zip(grid, scale.shares, strict=True):
        for v, s in zip(row, srow, strict=True):
            assert s == pytest.approx(100 * v / positive)  # linear: the picture's colours do not change


def test_bands_gather_half_then_four_fifths_of_the_evidence_strongest_first():
    # 40 + 15 % reach half (strong), + 14 + 11 % reach four fifths (some), the two 10 % are faint
    grid = [[0.0] * 4 for _ in range(4)]
    for (r, c), v in zip([(0, 0), (1, 1), (2, 2), (3, 3), (0, 3), (3, 0)], [40, 15, 14, 11, 10, 10], strict=True):
        grid[r][c] = float(v)
    grid[1][2] = -5.0
    scale = evidence_scale(grid)
    bands = {(r, c): b for r, row in enumerate(scale.bands) for c, b in enumerate(row)}
    assert [bands[p] for p in [(0, 0), (1, 1)]] == ["strong", "strong"]
    assert bands[(2, 2)] == "some" and bands[(3, 3)] == "some"  # 55 % + 14 % + 11 % reaches 80 %
    assert bands[(0, 3)] == "faint" and bands[(3, 0)] == "faint"
    assert bands[(1, 2)] == "against" and bands[(0, 1)] == "none"
    assert scale.strong_patches == 2 and scale.strong_min == pytest.approx(15.0)
    assert scale.shares[1][2] == pytest.approx(-5.0)  # against, on the same percent scale


def test_a_map_without_evidence_says_so():
    scale = evidence_scale([[0.0, -1.0], [float("nan"), 0.0]])
    assert scale.positive_mass == 0 and scale.strong_patches == 0
    assert scale.bands == (("none", "against"), ("none", "none"))
    assert legend_text(scale, 4) == "Nothing in the picture supports this phrase"


def test_hover_sentences_in_both_languages():
    phrase = "checkerboard pattern in the upper left"
    assert hover_text(12.0, "strong", phrase) == (
        "This patch holds 12 % of the evidence for “checkerboard pattern in the upper left” (strong)")
    zh = hover_text(12.0, "strong", phrase, "zh-CN")
    assert "12%" in zh and phrase in zh and "强" in zh
    assert "against" in hover_text(-3.0, "against", phrase)
    assert share_text(0.04) == "<0.1" and share_text(0.0) == "0" and share_text(37.4) == "37"


def test_the_heatmap_reads_in_percent_and_words(tmp_path):
    grid = tuple(tuple(v for v in row) for row in _grid(3))
    pm = PhraseMap(1, "occlusion", grid, (100, 0, 400, 300))
    fig = figures.heatmap_figure(None, (500, 300), pm, title="fine checkerboard texture from upsampling in the "
                                 "lower left region of the picture", phrase="fine checkerboard texture")
    heat = next(t for t in fig.data if t.type == "heatmap")
    scale = evidence_scale(grid)
    assert heat.z[5][7] == pytest.approx(scale.shares[5][7])
    assert heat.colorbar.title.text == "share of the evidence"
    assert any(w.startswith("strong ≥") for w in heat.colorbar.ticktext) and "none" in heat.colorbar.ticktext
    assert "of the evidence for “fine checkerboard texture”" in heat.customdata[5][7] or \
        "against" in heat.customdata[5][7]
    # a title longer than a phone's line wraps instead of running off the figure, and clears the label
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 3 and all(len(x) <= 60 for x in lines if not x.startswith("<span"))
    assert fig.layout.margin.t >= figures.LABEL_PX + 18 * len(lines)
    # the "not seen" tag sits in the dimmed margin, not on the crop's corner
    tag = fig.layout.annotations[0]
    assert tag.x < 100 or tag.x > 400
    # the raw values are what the API gives
    assert maps_json([pm])[0]["grid"][5][7] == pytest.approx(grid[5][7], rel=1e-3)


def test_small_multiple_titles_sit_below_the_component_label():
    pm = PhraseMap(0, "gradient", tuple(tuple(float(r * c) for c in range(24)) for r in range(24)), (0, 0, 300, 300))
    fig = figures.small_multiples(None, (300, 300), [pm, pm], ["a long phrase about the speckles in the corner", "b"])
    assert fig.layout.margin.t >= figures.LABEL_PX + 20
    assert "<br>" in fig.layout.annotations[0].text  # wrapped, not cut at the edge of its panel
