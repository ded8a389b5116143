"""Issue 18: `preprocess="paper"` gives the model exactly what FakeVLM's evaluation loader gives it."""

from __future__ import annotations

import numpy as np
import pytest

from explain.intake import check_image
from tests.factories.pictures import fakevlm_reads, grey16_png, rgb16_png, rotated_jpeg, transparent_png

PICTURES = {"rotated": rotated_jpeg, "transparent": transparent_png, "rgb16": rgb16_png, "grey16": grey16_png}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_paper_pixels_are_pil_convert_rgb(name):
    data = PICTURES[name]()
    paper = check_image(data, preprocess="paper")
    expected = fakevlm_reads(data)
    assert paper.preprocess == "paper" and (paper.width, paper.height) == expected.size
    assert np.array_equal(np.asarray(paper.image), np.asarray(expected))


def test_paper_ignores_orientation_and_says_so():
    data = rotated_jpeg(600, 450)
    default, paper = check_image(data), check_image(data, preprocess="paper")
    assert (default.width, default.height) == (450, 600)  # as a person sees it
    assert (paper.width, paper.height) == (600, 450)  # as FakeVLM's loader reads it
    assert paper.crop_box != default.crop_box
    assert any("orientation ignored" in n for n in paper.notes)


def test_paper_drops_alpha_instead_of_compositing():
    data = transparent_png()
    default, paper = check_image(data), check_image(data, preprocess="paper")
    assert np.asarray(default.image)[0, 0].tolist() == [128, 128, 128]  # composited on grey
    assert np.asarray(paper.image)[0, 0].tolist() == [255, 0, 0]  # the colour under alpha 0 shows
    assert any("transparency dropped" in n for n in paper.notes)


def test_unknown_preprocessing_is_refused():
    with pytest.raises(ValueError, match="preprocessing"):
        check_image(transparent_png(), preprocess="raw")
