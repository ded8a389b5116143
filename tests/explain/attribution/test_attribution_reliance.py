"""Visual reliance: score with the image minus score with a mid-grey image through the same processor."""

from __future__ import annotations

import torch
from PIL import Image

from explain.attribution.reliance import is_language_prior, scores_and_reliance
from explain.attribution.scoring import (
    GRAIN_SIGMA,
    NEUTRAL_RGB,
    neutral_pixel_values,
    reference_image,
    reference_pixel_values,
)
from tests.explain.attribution.fixed_model import SIZE, image_processor, reference_scores


def test_neutral_image_is_mid_grey_through_the_processor():
    pv = neutral_pixel_values(image_processor(), size=SIZE)
    direct = image_processor()(images=Image.new("RGB", (SIZE, SIZE), NEUTRAL_RGB), return_tensors="pt")["pixel_values"]
    assert pv.shape == (1, 3, SIZE, SIZE)
    torch.testing.assert_close(pv, direct)
    # uniform per channel: (128/255 - mean) / std
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711])
    torch.testing.assert_close(pv[0, :, 50, 60], (128 / 255 - mean) / std, rtol=1e-5, atol=1e-5)


def test_grain_picture_is_seeded_film_grain_on_grey_computed_once_per_processor():
    pixels = torch.tensor(list(reference_image("grain", SIZE).getdata()), dtype=torch.float64)
    assert abs(float(pixels.mean()) - 128) < 0.5 and abs(float(pixels.std()) - GRAIN_SIGMA) < 0.3
    assert list(reference_image("grain", SIZE).getdata()) == list(reference_image("grain", SIZE).getdata())
    processor = image_processor()
    grain = reference_pixel_values(processor, "grain", size=SIZE)
    assert reference_pixel_values(processor, "grain", size=SIZE) is grain  # cached with the processor
    # a fresh processor computes it again, to the same values
    torch.testing.assert_close(reference_pixel_values(image_processor(), "grain", size=SIZE), grain)
    assert not torch.allclose(grain, neutral_pixel_values(processor, size=SIZE))


def test_reliance_is_score_minus_neutral_score(fixed):
    image, neutral, reliance = scores_and_reliance(fixed.scorer())
    with torch.no_grad():
        ref_image = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
        grey_inputs = {**fixed.inputs, "pixel_values": fixed.neutral}
        ref_neutral = reference_scores(fixed.model, grey_inputs, fixed.answer, fixed.spans)
    torch.testing.assert_close(image, ref_image, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(neutral, ref_neutral, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(reliance, ref_image - ref_neutral, rtol=1e-4, atol=1e-4)


def test_language_prior_threshold_is_per_token():
    assert is_language_prior(0.01, 4)
    assert is_language_prior(-2.0, 1)
    assert not is_language_prior(0.3, 4)  # 0.075 nats a token
    assert not is_language_prior(0.0, 0)  # nothing scored, nothing to judge


def test_reliance_against_real_references_is_score_minus_their_mean_score(fixed):
    """Issue 20: reliance against a set of reference pictures instead of one flat grey square."""
    import dataclasses

    from explain.attribution.scoring import PhraseScorer, ScoredSpan

    pictures = torch.cat([fixed.grain, fixed.inputs["pixel_values"].flip(-1)])  # two stand-ins for real pictures
    scorer = PhraseScorer(
        fixed.model,
        fixed.inputs,
        fixed.answer,
        [ScoredSpan(*s) for s in fixed.spans],
        neutral_pixel_values=fixed.neutral,
        reference_set=pictures,
    )
    image, reference, reliance = scores_and_reliance(scorer)
    with torch.no_grad():
        each = [
            reference_scores(fixed.model, {**fixed.inputs, "pixel_values": p[None]}, fixed.answer, fixed.spans)
            for p in pictures
        ]
    torch.testing.assert_close(reference, torch.stack(each).mean(0), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(reliance, image - reference, rtol=1e-5, atol=1e-5)
    assert dataclasses.replace(fixed).scorer().has_reference_set is False


def test_the_threshold_follows_the_kind_of_reference():
    from explain.attribution.references import PER_TOKEN_THRESHOLD

    real = PER_TOKEN_THRESHOLD["real"]
    assert is_language_prior((real - 0.01) * 5, 5, kind="real")
    assert not is_language_prior((real + 0.01) * 5, 5, kind="real")
    assert is_language_prior(0.01, 4, kind="grey") == is_language_prior(0.01, 4)
