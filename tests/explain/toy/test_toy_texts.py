"""Answer phrasings of the toy world, and reading kind and region back out of an answer."""

from __future__ import annotations

import numpy as np

from explain.toy import texts
from explain.toy.evaluate import score
from explain.verdict import verdict_of


def test_each_phrasing_names_exactly_its_kind_and_region():
    for kind, options in texts.PHRASINGS.items():
        assert len(options) >= 3
        for template in options:
            for region in texts.REGIONS:
                sentence = template.format(r=region)
                assert texts.kinds_in(sentence) == {kind}, sentence
                assert texts.regions_in(sentence) == {region}, sentence
                assert ";" not in sentence and ":" not in sentence  # one phrase per sentence


def test_real_phrasings_name_no_artifact_and_no_region():
    assert len(texts.REAL_PHRASINGS) >= 3
    for sentence in texts.REAL_PHRASINGS:
        assert texts.kinds_in(sentence) == set() and texts.regions_in(sentence) == set()


def test_explanations_follow_fakevlm_answer_style():
    rng = np.random.default_rng(0)
    fake = texts.explanation(rng, "fake", [("banding", "upper left"), ("speckle", "lower right")])
    assert fake.startswith("This is a fake image. ") and verdict_of(fake) == "fake"
    assert texts.pairs_in(fake) == {("banding", "upper left"), ("speckle", "lower right")}
    assert len(texts.sentences(fake)) == 3
    real = texts.explanation(rng, "real", [])
    assert real.startswith("This is a real image. ") and verdict_of(real) == "real"


def test_score_counts_what_is_named():
    truth = [
        ("fake", [("checkerboard", "center")]),
        ("fake", [("banding", "upper left"), ("blocking", "lower right")]),
        ("real", []),
        ("real", []),
    ]
    perfect = [
        "This is a fake image. The center region shows a checkerboard pattern typical of upsampling.",
        "This is a fake image. Colour banding breaks up the gradient in the upper left region. "
        "Square compression blocks are visible in the lower right region.",
        "This is a real image. The grain is even and natural throughout the image.",
        "This is a real image. Edges, shadows and noise look consistent everywhere.",
    ]
    s = score(truth, perfect)
    assert s["verdict_accuracy"] == 1.0 and s["kind_accuracy"] == 1.0 and s["region_accuracy"] == 1.0
    assert s["exact_accuracy"] == 1.0 and s["real_clean_rate"] == 1.0 and s["fakes_called_fake"] == 1.0
    wrong = [
        "This is a real image. The grain is even and natural throughout the image.",
        "This is a fake image. Colour banding breaks up the gradient in the lower right region.",
        "This is a fake image. The center region shows a checkerboard pattern typical of upsampling.",
        "This image",
    ]
    s = score(truth, wrong)
    assert s["verdict_accuracy"] == 0.25
    assert s["fakes_called_fake"] == 0.5  # the first fake was called real
    assert s["kind_accuracy"] == 0.0  # the second fake names banding but not blocking
    assert s["region_accuracy"] == 0.0
    assert s["real_clean_rate"] == 0.5 and s["undecided"] == 1
