"""The phrase score every method explains: teacher-forced log-probs, checked against the full model."""

from __future__ import annotations

import pytest
import torch

from explain.attribution.scoring import AttributionError, PhraseScorer, ScoredSpan, halving_on_oom
from tests.explain.attribution.fixed_model import SIDE, reference_image_tokens, reference_scores


def test_scores_equal_the_full_model_forward(fixed):
    scorer = fixed.scorer()
    with torch.no_grad():
        mine = scorer.scores(scorer.image_tokens())[0]
        ref = reference_scores(fixed.model, fixed.inputs, fixed.answer, fixed.spans)
    torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-5)
    assert (mine < 0).all()  # log-probabilities of real tokens


def test_every_depth_gives_the_same_scores(fixed):
    scorer = fixed.scorer()
    with torch.no_grad():
        a = scorer.scores(scorer.image_tokens())
        b = scorer.scores_from_vision(scorer.vision_features)
        c = scorer.scores_from_pixels(fixed.inputs["pixel_values"])
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


def test_image_tokens_are_the_models_own(fixed):
    scorer = fixed.scorer()
    with torch.no_grad():
        torch.testing.assert_close(
            scorer.image_tokens(), reference_image_tokens(fixed.model, fixed.inputs["pixel_values"])
        )
    assert scorer.grid_side == SIDE


def test_batched_scores_are_per_example(fixed):
    scorer = fixed.scorer()
    with torch.no_grad():
        both = torch.cat([scorer.image_tokens(), scorer.neutral_image_tokens()])
        batch = scorer.scores(both)
        one = scorer.scores(both[1:])
    torch.testing.assert_close(batch[1:], one, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(batch[0], batch[1])


@pytest.mark.parametrize(
    "answer, spans, message",
    [
        ([], [(0, 0, 0)], "no tokens"),
        ([10, 999], [(0, 0, 2)], "vocabulary"),
        ([10, 47], [(0, 0, 2)], "placeholder"),
    ],
)
def test_bad_answers_are_refused_in_words(fixed, answer, spans, message):
    with pytest.raises(AttributionError, match=message):
        PhraseScorer(fixed.model, fixed.inputs, answer, [ScoredSpan(*s) for s in spans])


def test_prompt_without_a_square_image_grid_is_refused(fixed):
    ids = fixed.inputs["input_ids"][:, :-10]  # 59 placeholders left
    inputs = {**fixed.inputs, "input_ids": ids, "attention_mask": torch.ones_like(ids)}
    with pytest.raises(AttributionError, match="square grid"):
        PhraseScorer(fixed.model, inputs, fixed.answer, [ScoredSpan(0, 0, 2)])


def test_batches_halve_when_the_accelerator_runs_out_of_memory():
    tried = []

    def run(batch_size: int) -> int:
        tried.append(batch_size)
        if batch_size > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return batch_size

    assert halving_on_oom(run, 16) == 2
    assert tried == [16, 8, 4, 2]

    def never(batch_size: int) -> int:
        raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        halving_on_oom(never, 4)


@pytest.mark.parametrize("change", ["in_place", "load_state_dict"])
def test_reference_features_are_keyed_to_the_weights_they_came_from(fixed, change):
    """Issue 20, bug 3: reference (grey, grain) features were cached per model object and checked only
    against the pixels, so after the weights changed in place reliance and occlusion used stale ones."""
    import copy
    import dataclasses

    model = copy.deepcopy(fixed.model)  # a model of our own to change
    own = dataclasses.replace(fixed, model=model)
    stale = own.scorer().reference_vision_features("grain").clone()
    with torch.no_grad():
        if change == "in_place":
            for p in model.parameters():
                p.mul_(0.5)
        else:
            model.load_state_dict({k: v * 0.5 for k, v in model.state_dict().items()})
    scorer = own.scorer()
    fresh = scorer.vision_features_of(scorer.reference_pixel_values("grain"))
    got = scorer.reference_vision_features("grain")
    assert not torch.allclose(fresh, stale)
    torch.testing.assert_close(got, fresh)
    # unchanged weights still share the cached features
    assert own.scorer().reference_vision_features("grain") is got
