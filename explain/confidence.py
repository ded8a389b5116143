"""When the model's own probability is too close to even to show its verdict as a firm answer.

The verdict card shows an "uncertain" band when p_fake (the softmax over the model's "real" and
"fake" tokens at the verdict position) lies within `UNCERTAIN_BAND_WIDTH` of 0.5. It qualifies
the model's answer; it does not replace it, and provenance findings never move it.
"""

from __future__ import annotations

import math
from typing import Literal

UNCERTAIN_BAND_WIDTH = 0.15  # p_fake in [0.35, 0.65] is "uncertain"

Confidence = Literal["uncertain", "confident", "unknown"]


def is_uncertain(p_fake: float | None, width: float = UNCERTAIN_BAND_WIDTH) -> bool:
    """True when p_fake lies within `width` of 0.5 (inclusive). No probability is not
    "uncertain" in this sense: see `confidence()` for that case."""
    if p_fake is None or not math.isfinite(p_fake):
        return False
    if not 0.0 <= width <= 0.5:
        raise ValueError("width must lie in [0, 0.5]")
    return abs(p_fake - 0.5) <= width + 1e-12  # so 0.35 and 0.65 are inside despite rounding


def confidence(p_fake: float | None, width: float = UNCERTAIN_BAND_WIDTH) -> Confidence:
    """"unknown" without a usable probability, else "uncertain" inside the band, else "confident"."""
    if p_fake is None or not math.isfinite(p_fake) or not 0.0 <= p_fake <= 1.0:
        return "unknown"
    return "uncertain" if is_uncertain(p_fake, width) else "confident"
