"""Captum attribution maps linking each phrase of an explanation to the image patches behind it.

    maps = attribute(detector, checked, explanation, method="gradient")

gives one `PhraseMap` per phrase of `explanation` (phrase 0 is the verdict sentence, so "fake" or
"real" gets its map too; `verdict_token=True` adds the verdict word alone as phrase_index -1): a
24 x 24 grid over the model's 336 x 336 centre crop, row 0 at the top, placed on the original
picture by `crop_box` (and the exact `extra["crop_box_f"]`).

Sign convention: larger = the patch matters more for the phrase. Signed maps
(`extra["signed"] is True`: occlusion, IG, gradient with reduce="sum") are positive where the patch
supports the phrase (raises its teacher-forced log-probability) and negative where it works against
it. The default gradient map is a magnitude (`extra["signed"] is False`, values >= 0): it won the
pointing game (bench/ATTRIBUTION_RESULTS.md). Each map also carries the phrase's score (sum of token
log-probs), its visual reliance (score minus the mean score on a few real reference pictures,
references.py, or on a mid-grey image where there are none: `extra["reliance_reference"]`; too
little gained from the image = a language prior, `extra["language_prior"]`) and its deletion AUC beside that of a random
ranking (`extra["deletion_auc_random"]`; faithfulness.py says what they mean).

Methods: "gradient" (gradient x activation, Captum's LayerGradientXActivation quantity with one
shared forward pass; fast), "occlusion" (occluders centred on every cell of a g x g grid, or Captum
FeatureAblation of single cells; on demand), "ig" (Captum IntegratedGradients /
LayerIntegratedGradients; experimental: `extra["experimental"]`, it points below the others). One module per method; scoring.py defines the score they all explain,
recompute.py keeps backward passes within memory, placement.py puts maps on the picture and plays
the pointing game.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..types import Explanation, PhraseMap
from .faithfulness import Curves, faithfulness_curves
from .gradient import LAYERS, gradient_grids
from .integrated import ig_grids
from .occlusion import cell_mask, occlusion_grids
from .placement import cell_box_original, grid_tuple, map_argmax_original, pointing_hit
from .progress import AttributionCancelled, Stages, Step, work_units
from .references import reference_set_pixels
from .reliance import is_language_prior, reference_kind, scores_and_reliance
from .scoring import AttributionError, PhraseScorer, halving_on_oom, reference_pixel_values, spans_of

METHODS = ("gradient", "occlusion", "ig", "none")
# Defaults chosen by the pointing game on the toy model (bench/ATTRIBUTION_RESULTS.md).
DEFAULT_LAYER = "projector"
DEFAULT_REDUCE = "l2"  # gradient maps: |grad * activation| over channels (signed sums pointed worse)
DEFAULT_BASELINE = "zeros"  # what a removed patch becomes for the faithfulness curves
# IG (experimental): from the grain picture's tokens, 48 steps. From zeros the path starts at the
# language model's RMSNorm singularity and 16 steps missed completeness by a median 40 % of the
# score gap; from grain 48 steps meet it (median 0.2 %, worst 11 %) and point as well or better
# (bench/ATTRIBUTION_RESULTS.md, issue 20), but IG still points below the gradient map.
DEFAULT_IG_BASELINE = "grain"
DEFAULT_IG_STEPS = 48
# Occlusion: every patch carries the mean drop when an occluder of 9 x 9 patches (about a third of
# the crop) centred on it or on a neighbouring patch is replaced by film-grain grey (flat grey reads as
# an artifact to this model family). 576 rescorings; grid=12 gives a 4x cheaper, coarser map.
DEFAULT_GRID = 24
DEFAULT_OCCLUSION_BASELINE = "grain"
DEFAULT_OCCLUSION_SMOOTH = 1


def default_window(grid: int, side: int = 24) -> int:
    """The occluder's side in cells when none is asked for: about a third of the crop (112 model
    pixels), as large as the largest local artifacts; odd where cells are an odd number of patches,
    so that the occluder is centred on its cell (24 cells: 9)."""
    w = max(1, round(grid / 3))
    return w + 1 if (side // grid) % 2 and w % 2 == 0 else w


__all__ = [
    "LAYERS",
    "METHODS",
    "AttributionCancelled",
    "AttributionError",
    "PhraseScorer",
    "attribute",
    "cell_box_original",
    "cell_mask",
    "faithfulness_curves",
    "gradient_grids",
    "ig_grids",
    "is_language_prior",
    "map_argmax_original",
    "maps_to_json",
    "occlusion_grids",
    "pointing_hit",
    "scorer_for",
    "scores_and_reliance",
    "Step",
    "work_units",
]


def scorer_for(detector, checked, explanation: Explanation, *, verdict_token: bool = False) -> PhraseScorer:
    """The teacher-forced phrase scorer for one explanation of one checked image."""
    inputs = detector.prepare(checked, explanation.prompt or None)
    return PhraseScorer(
        detector.model,
        inputs,
        explanation.token_ids,
        spans_of(explanation, verdict_token=verdict_token),
        neutral_pixel_values=reference_pixel_values(detector.processor, "neutral"),
        grain_pixel_values=reference_pixel_values(detector.processor, "grain"),
        reference_set=reference_set_pixels(detector),
    )


def attribute(
    detector,
    checked,
    explanation: Explanation,
    method: str = "gradient",
    *,
    layer: str = DEFAULT_LAYER,
    grid: int = DEFAULT_GRID,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    with_reliance: bool = True,
    with_faithfulness: bool = True,
    verdict_token: bool = False,
    batch_size: int = 16,
    ig_steps: int = DEFAULT_IG_STEPS,
    faithfulness_steps: int = 10,
    reduce: str = DEFAULT_REDUCE,
    baseline: str | None = None,
    occlusion_mode: str = "deletion",
    window: int | None = None,
    smooth: int | None = None,
    gradient_strategy: str = "shared",
) -> list[PhraseMap]:
    """Maps for every phrase of `explanation` (plus, with `verdict_token`, one for the verdict word
    alone, phrase_index -1). `progress(fraction, message)` is called as the work advances (the
    message is a progress.Step; the fraction weighs each stage by its work), and `cancel()`, when
    given, is asked between batches: True stops the run with `AttributionCancelled`.

    `grid` is the occlusion's cells a side, `window` the side of its occluder in cells (centred on
    each cell; 1 = the cell alone; default a third of the grid), `smooth` the radius in cells over
    which centred occluders' drops are averaged (default 1 with windows, 0 without) and
    `occlusion_mode` "deletion", or with `window=1` also "insertion" or "both"; `reduce` how
    gradient maps fold channels ("l2": magnitude, "sum": signed); `baseline` what a removed patch
    becomes (default "grain" for occlusion and IG, "zeros" for the faithfulness curves; reliance
    uses references.py's pictures); `batch_size` bounds the copies in one forward pass, or for
    gradient maps the phrases of one backward pass (halved on out-of-memory); `gradient_strategy`
    is "shared" (one forward for all phrases) or "replicated" (Captum on one input copy a phrase;
    see gradient.py)."""
    if method not in METHODS:
        raise AttributionError(f"unknown attribution method '{method}': use one of {', '.join(METHODS)}")
    if layer not in LAYERS:
        raise AttributionError(f"unknown attribution layer '{layer}': use one of {', '.join(LAYERS)}")
    if method == "none" or not explanation.token_ids or not (explanation.phrases or verdict_token):
        return []
    scorer = scorer_for(detector, checked, explanation, verdict_token=verdict_token)
    units = work_units(method, phrases=len(scorer.spans), grid=grid, ig_steps=ig_steps,
                       faithfulness_steps=faithfulness_steps, with_faithfulness=with_faithfulness)
    stage = Stages(progress, units, cancel)
    stage.check()
    extra_of: list[dict] = [{} for _ in scorer.spans]
    if method == "gradient":
        grids = halving_on_oom(
            lambda bs: gradient_grids(
                scorer, layer=layer, reduce=reduce, batch_size=bs, progress=stage.maps, strategy=gradient_strategy
            ),
            batch_size,
        )
    elif method == "occlusion":
        occlusion_baseline = baseline or DEFAULT_OCCLUSION_BASELINE
        window = default_window(grid) if window is None else window
        smooth = (DEFAULT_OCCLUSION_SMOOTH if window > 1 else 0) if smooth is None else smooth
        grids = halving_on_oom(
            lambda bs: occlusion_grids(
                scorer,
                grid=grid,
                window=window,
                layer=layer,
                baseline=occlusion_baseline,
                mode=occlusion_mode,
                smooth=smooth,
                batch_size=bs,
                progress=stage.maps,
            ),
            batch_size,
        )
        for e in extra_of:
            e.update(
                cells=grid, window=window, smooth=smooth, occlusion_mode=occlusion_mode, baseline=occlusion_baseline
            )
    else:
        ig_baseline = (baseline or DEFAULT_IG_BASELINE) if layer == "projector" else "neutral"
        grids, deltas = halving_on_oom(
            lambda bs: ig_grids(
                scorer,
                layer=layer,
                n_steps=ig_steps,
                baseline=ig_baseline,
                batch_size=bs,
                progress=stage.maps,
            ),
            batch_size,
        )
        for e, d in zip(extra_of, deltas.tolist(), strict=True):
            e.update(ig_delta=d, baseline=ig_baseline, ig_steps=ig_steps, experimental=True)
    curve_baseline = baseline or DEFAULT_BASELINE
    scores = neutral = reliance = None
    if with_reliance or with_faithfulness:
        stage.check()
        scores, neutral, reliance = scores_and_reliance(scorer)
    curves: list[Curves | None] = [None] * len(scorer.spans)
    if with_faithfulness:
        curves = halving_on_oom(
            lambda bs: faithfulness_curves(
                scorer,
                grids,
                steps=faithfulness_steps,
                baseline=curve_baseline,
                batch_size=bs,
                progress=stage.faithfulness,
            ),
            batch_size,
        )
    crop_box_f = tuple(float(v) for v in checked.crop_box_f)
    signed = not (method == "gradient" and reduce != "sum")
    maps = []
    for k, span in enumerate(scorer.spans):
        extra = {
            "layer": layer,
            "crop_box_f": crop_box_f,
            "n_tokens": scorer.n_tokens[k],
            "signed": signed,
            **extra_of[k],
        }
        if reliance is not None and with_reliance:
            kind = reference_kind(scorer)
            extra["reliance_reference"] = kind
            extra["reference_score" if kind == "real" else "neutral_score"] = float(neutral[k])
            extra["language_prior"] = is_language_prior(float(reliance[k]), scorer.n_tokens[k], kind=kind)
        c = curves[k]
        if c is not None:
            extra["faithfulness_baseline"] = curve_baseline
            extra.update(
                fractions=c.fractions,
                deletion_curve=c.deletion,
                insertion_curve=c.insertion,
                deletion_curve_random=c.deletion_random,
                deletion_auc_random=c.deletion_auc_random,
            )
        maps.append(
            PhraseMap(
                phrase_index=span.phrase_index,
                method=method,
                grid=grid_tuple(grids[k]),
                crop_box=tuple(int(v) for v in checked.crop_box),
                score=float(scores[k]) if scores is not None else None,
                reliance=float(reliance[k]) if reliance is not None and with_reliance else None,
                deletion_auc=c.deletion_auc if c else None,
                insertion_auc=c.insertion_auc if c else None,
                extra=extra,
            )
        )
    stage.done()
    return maps


def _number(v: float, digits: int = 4) -> float | None:
    """Round to `digits` significant digits for compact JSON; non-finite values become null."""
    if v is None or not math.isfinite(v):
        return None
    return float(f"{v:.{digits}g}")


# Stored with the map but not shown: insertion AUC ranks random maps as high as real ones (issue 20).
HIDDEN_FROM_JSON = ("insertion_auc", "insertion_curve")


def maps_to_json(maps: list[PhraseMap]) -> list[dict]:
    """JSON-ready dicts for the CLI's JSON line and the UI: grid (24 rows of 24 numbers, 4
    significant digits), crop box, score, reliance, deletion AUC beside the same for a random
    ranking (faithfulness.py), and the curves; insertion is left out (HIDDEN_FROM_JSON)."""
    out = []
    for m in maps:
        extra = {}
        for key, value in m.extra.items():
            if key in HIDDEN_FROM_JSON:
                continue
            if isinstance(value, float):
                value = _number(value, 6)
            elif isinstance(value, tuple) and value and isinstance(value[0], float):
                value = [_number(v, 6) for v in value]
            elif isinstance(value, tuple):
                value = list(value)
            extra[key] = value
        out.append(
            {
                "phrase_index": m.phrase_index,
                "method": m.method,
                "grid": [[_number(v) for v in row] for row in m.grid],
                "crop_box": list(m.crop_box),
                "score": _number(m.score, 6) if m.score is not None else None,
                "reliance": _number(m.reliance, 6) if m.reliance is not None else None,
                "deletion_auc": _number(m.deletion_auc, 6) if m.deletion_auc is not None else None,
                **extra,
            }
        )
    return out
