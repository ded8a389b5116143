"""The verdict card's "uncertain" band (explain/confidence.py), shown beside provenance evidence."""

from __future__ import annotations

import pytest

from explain.confidence import UNCERTAIN_BAND_WIDTH, confidence, is_uncertain


@pytest.mark.parametrize(
    ("p_fake", "expected"),
    [(0.5, True), (0.35, True), (0.65, True), (0.34, False), (0.66, False), (0.0, False), (1.0, False)],
)
def test_band_around_even(p_fake, expected):
    assert UNCERTAIN_BAND_WIDTH == 0.15
    assert is_uncertain(p_fake) is expected


def test_width_is_adjustable_and_checked():
    assert is_uncertain(0.7, width=0.25)
    assert not is_uncertain(0.55, width=0.0)
    with pytest.raises(ValueError):
        is_uncertain(0.5, width=0.6)


@pytest.mark.parametrize(
    ("p_fake", "label"),
    [(None, "unknown"), (float("nan"), "unknown"), (1.5, "unknown"), (0.5, "uncertain"), (0.97, "confident")],
)
def test_confidence_labels(p_fake, label):
    assert confidence(p_fake) == label
