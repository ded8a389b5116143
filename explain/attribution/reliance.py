"""Visual reliance: how much each phrase depends on this image rather than on any picture.

reliance_k = score_k(image) - score_k(reference), the reference score being the mean over a few
real reference pictures (references.py; the toy model's own real images, for FakeVLM a folder of
licensed photographs) or, where there are none, the score on a uniform mid-grey image. A phrase
that gains too little from the image (PER_TOKEN_THRESHOLD nats a token, calibrated on the toy
world) is one the model would say about other pictures too: a language prior rather than
evidence, and the UI and API mark it as such.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .references import PER_TOKEN_THRESHOLD
from .scoring import PhraseScorer


def reference_kind(scorer: PhraseScorer) -> str:
    """ "real" when the scorer has real reference pictures, else "grey"."""
    return "real" if scorer.has_reference_set else "grey"


def scores_and_reliance(scorer: PhraseScorer) -> tuple[Tensor, Tensor, Tensor]:
    """(score with the image, reference score, reliance), each float32 (P,)."""
    with torch.no_grad():
        image = scorer.scores(scorer.image_tokens()).cpu()[0]
        if scorer.has_reference_set:
            reference = scorer.scores(scorer.reference_image_tokens("set")).cpu().mean(0)
        else:
            reference = scorer.scores(scorer.neutral_image_tokens()).cpu()[0]
    return image, reference, image - reference


def is_language_prior(reliance: float, n_tokens: int, *, per_token: float | None = None, kind: str = "grey") -> bool:
    """A phrase whose log-probability gains less than `per_token` nats a token from the image (on
    average over its tokens; default: the threshold calibrated for the `kind` of reference) is
    treated as a language prior."""
    threshold = PER_TOKEN_THRESHOLD[kind] if per_token is None else per_token
    return n_tokens > 0 and reliance < threshold * n_tokens
