"""CI guard for the sanity checks of Adebayo et al. (2018) on the default map (bench/sanity_checks.py
runs them at full size): maps must change when the model is randomised and must not follow the words
onto another picture."""

from __future__ import annotations

import pytest
import torch

from explain.toy import sanity


@pytest.fixture(scope="module")
def toy():
    from explain.model import load_detector

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    detector = load_detector("toy", device="cpu")
    yield detector, sanity.world_cases(detector, 3131, 3)
    torch.set_num_threads(before)


def test_spearman():
    assert sanity.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert sanity.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_the_default_map_passes_cascading_randomisation(toy):
    from explain.attribution import attribute

    detector, cases = toy
    assert len(cases) >= 3
    before = [p.detach().clone() for p in detector.model.parameters()]
    rows = {r["stage"]: r for r in sanity.randomisation(detector, cases)}
    assert rows["original"] == {"stage": "original", "spearman": 1.0, "pointing": 1.0}
    assert rows["lm_head"]["spearman"] < 0.9  # the top layer alone already moves the map
    last = rows["vision.embeddings"]
    assert abs(last["spearman"]) < 0.3 and last["pointing"] == 0.0
    # the detector's own model is untouched (the cascade works on a copy)
    assert all(torch.equal(a, b) for a, b in zip(before, detector.model.parameters(), strict=True))
    checked, explanation, k, _ = cases[0]
    assert attribute(detector, checked, explanation, with_reliance=False, with_faithfulness=False)[k].grid


def test_the_default_map_does_not_follow_the_words_to_another_picture(toy):
    detector, cases = toy
    result = sanity.input_independence(detector, cases)
    assert result["spearman_other_picture"] < 0.5 and result["pointing_other_picture"] <= 1 / 3


def test_the_other_picture_is_never_the_cases_own():
    from types import SimpleNamespace

    pics = [SimpleNamespace(sha256=s) for s in "aab"]
    cases = [(p, None, 0, None) for p in pics]  # a fake with two artifacts gives two cases on one picture
    assert [sanity.other_picture(cases, n).sha256 for n in range(3)] == ["b", "b", "a"]
    with pytest.raises(ValueError, match="two pictures"):
        sanity.other_picture(cases[:2], 0)
