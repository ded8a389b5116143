"""A phrase's map in plain words: each patch's share of the phrase's evidence, and bands.

Raw map values (gradient magnitudes around 1e-5, occlusion drops in nats) mean nothing to a
visitor. Here every value is divided by the map's positive mass: a patch's share is the percent of
all the evidence *for* the phrase that it holds (the positive shares sum to 100 %; a patch that
speaks against the phrase gets a negative percent on the same scale). Bands name the shares by how
much of the evidence they gather, strongest first: "strong" is the fewest patches that together
hold half of it, "some" the next ones up to four fifths, "faint" the rest with a positive share,
"none" zero, "against" negative. The raw values stay in the API and the JSON; only the drawing and
its words use this scale. Plain Python: the UI draws it (demo/figures.py), tests pin it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..i18n import tr

STRONG_MASS = 0.5  # the strongest patches holding half of the evidence
SOME_MASS = 0.8  # ... and those up to four fifths of it
BANDS = ("strong", "some", "faint", "none", "against")


@dataclass(frozen=True)
class EvidenceScale:
    shares: tuple[tuple[float, ...], ...]  # percent of the positive mass, same shape as the grid
    bands: tuple[tuple[str, ...], ...]
    strong_min: float  # the smallest share in the "strong" band (0 when there is no evidence)
    some_min: float  # the smallest share in the "some" band
    strong_patches: int  # how many patches hold half of the evidence
    positive_mass: float  # the raw sum the shares divide by (0: no evidence for the phrase)


def _finite(v: float | None) -> float:
    return v if v is not None and math.isfinite(v) else 0.0


def evidence_scale(grid: Sequence[Sequence[float | None]]) -> EvidenceScale:
    """Shares and bands of one map (any rectangular grid of raw values; non-finite cells count 0)."""
    raw = [[_finite(v) for v in row] for row in grid]
    mass = sum(v for row in raw for v in row if v > 0)
    if mass <= 0:
        shares = tuple(tuple(0.0 for _ in row) for row in raw)
        bands = tuple(tuple("against" if v < 0 else "none" for v in row) for row in raw)
        return EvidenceScale(shares, bands, 0.0, 0.0, 0, 0.0)
    shares = tuple(tuple(100.0 * v / mass for v in row) for row in raw)
    # strongest first; ties keep reading order, so equal cells fall into one band or the next evenly
    order = sorted(((s, r, c) for r, row in enumerate(shares) for c, s in enumerate(row) if s > 0),
                   key=lambda x: -x[0])
    band_of: dict[tuple[int, int], str] = {}
    total = 0.0
    strong_min = some_min = 0.0
    strong = 0
    for s, r, c in order:
        if total < 100.0 * STRONG_MASS:
            band_of[(r, c)], strong_min, strong = "strong", s, strong + 1
        elif total < 100.0 * SOME_MASS:
            band_of[(r, c)], some_min = "some", s
        else:
            band_of[(r, c)] = "faint"
        total += s
    bands = tuple(tuple(band_of.get((r, c), "against" if s < 0 else "none") for c, s in enumerate(row))
                  for r, row in enumerate(shares))
    return EvidenceScale(shares, bands, strong_min, some_min or strong_min, strong, mass)


def share_text(share: float) -> str:
    """A share as people read it: one decimal below 10 %, whole percents above; never "0 %" for a
    patch that holds some evidence."""
    a = abs(share)
    if a == 0:
        return "0"
    if a < 0.1:
        return "<0.1" if share > 0 else "-<0.1"
    return f"{share:.1f}" if a < 10 else f"{share:.0f}"


def hover_text(share: float, band: str, phrase: str, lang: str | None = None) -> str:
    """The sentence shown when pointing at a patch."""
    quoted = phrase if len(phrase) <= 60 else phrase[:58] + "…"
    if band == "against":
        return tr("hover_against", lang, phrase=quoted)
    if band == "none":
        return tr("hover_none", lang, phrase=quoted)
    return tr("hover_share", lang, share=share_text(share), phrase=quoted, band=tr(f"band_{band}", lang))


def legend_text(scale: EvidenceScale, n_patches: int, lang: str | None = None) -> str:
    """One line under the title: what the colours mean for this map."""
    if scale.positive_mass <= 0:
        return tr("legend_no_evidence", lang)
    area = round(100 * scale.strong_patches / max(1, n_patches))
    return tr("legend_strong", lang, patches=scale.strong_patches, area=max(1, area))
