"""Visual reliance: how much each phrase depends on the image at all.

reliance_k = score_k(image) - score_k(neutral image), the neutral image being uniform mid-grey put
through the same processor. Near zero (or negative): the model would say the phrase about any
picture, a language prior rather than evidence, and the UI marks it as such.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .scoring import PhraseScorer


def scores_and_reliance(scorer: PhraseScorer) -> tuple[Tensor, Tensor, Tensor]:
    """(score with the image, score with the neutral image, reliance), each float32 (P,)."""
    with torch.no_grad():
        both = torch.cat([scorer.image_tokens(), scorer.neutral_image_tokens()])
        image, neutral = scorer.scores(both).cpu()
    return image, neutral, image - neutral


def is_language_prior(reliance: float, n_tokens: int, *, per_token: float = 0.05) -> bool:
    """A phrase whose log-probability gains less than `per_token` nats a token from the image
    (on average over its tokens) is treated as a language prior."""
    return n_tokens > 0 and reliance < per_token * n_tokens
