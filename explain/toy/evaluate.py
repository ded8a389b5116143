"""Measure the toy model on freshly generated images, through the project's own detector path.

Each image of `world.generate(seed, i)` is encoded as PNG bytes, checked by `explain.intake.
check_image` and explained by `Detector.explain` (loaded by `explain.model.load_detector`), exactly
as an upload in the app would be. With `maps`, `explain.attribution.attribute` maps every phrase
and the pointing game asks, for each planted artifact whose kind and region one phrase names,
whether that phrase's map maximum (centre of the strongest patch, in original pixels through the
crop mapping the UI uses) falls inside the artifact's box.

Scores (`score`): verdict accuracy over all images (FakeVLM's verdict rule); over fakes, the share
called fake (`fakes_called_fake`), the share whose every planted kind is named (`kind_accuracy`),
every planted region is named
(`region_accuracy`), every (kind, region) pair is named in one sentence (`pair_accuracy`), and
exactly the planted pairs and nothing else (`exact_accuracy`); over reals, the share that name no
artifact (`real_clean_rate`). `ci95` holds each share's 95 % Wilson score interval.
"""

from __future__ import annotations

import io
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import probes, texts, world

TRAINING_SEEDS = (0, 1)  # train.py's training and validation worlds: never evaluate on these


def score(truth: Sequence[tuple[str, Sequence[tuple[str, str]]]], answers: Sequence[str]) -> dict:
    """truth[i] = (label, [(kind, region), ...]); answers[i] = the generated text."""
    from ..verdict import verdict_of

    n = len(truth)
    verdict_ok = undecided = 0
    fakes = fake_ok = kind_ok = region_ok = pair_ok = exact_ok = 0
    reals = real_clean = 0
    for (label, planted), answer in zip(truth, answers, strict=True):
        verdict = verdict_of(answer)
        verdict_ok += verdict == label
        undecided += verdict == "undecided"
        if label == "fake":
            fakes += 1
            fake_ok += verdict == "fake"
            kinds = {k for k, _ in planted}
            regions = {r for _, r in planted}
            pairs = set(planted)
            kind_ok += kinds <= texts.kinds_in(answer)
            region_ok += regions <= texts.regions_in(answer)
            named = texts.pairs_in(answer)
            pair_ok += pairs <= named
            exact_ok += verdict == "fake" and named == pairs
        else:
            reals += 1
            real_clean += not texts.kinds_in(answer) and not texts.regions_in(answer)
    return {
        "n": n,
        "n_fake": fakes,
        "n_real": reals,
        "verdict_accuracy": round(verdict_ok / max(1, n), 4),
        "fakes_called_fake": round(fake_ok / max(1, fakes), 4),
        "kind_accuracy": round(kind_ok / max(1, fakes), 4),
        "region_accuracy": round(region_ok / max(1, fakes), 4),
        "pair_accuracy": round(pair_ok / max(1, fakes), 4),
        "exact_accuracy": round(exact_ok / max(1, fakes), 4),
        "real_clean_rate": round(real_clean / max(1, reals), 4),
        "undecided": undecided,
    }


def wilson(successes: int, n: int, z: float = 1.959964) -> list[float] | None:
    """95 % Wilson score interval of a share (Wilson 1927). Written out rather than imported: the
    formula is three lines, and scipy or statsmodels would be a large dependency for it alone."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


# each share the result reports -> the count it is a share of
_DENOMINATORS = {
    "verdict_accuracy": "n",
    "fakes_called_fake": "n_fake",
    "kind_accuracy": "n_fake",
    "region_accuracy": "n_fake",
    "pair_accuracy": "n_fake",
    "exact_accuracy": "n_fake",
    "real_clean_rate": "n_real",
    "pointing_game": "pointing_n",
    "pointing_text_baseline": "pointing_n",
    "prior_flag_grounded": "reliance_n",
    "prior_flag_hallucinated": "reliance_n",
}


def intervals(result: dict) -> dict:
    """`ci95` for every share in `result` whose count is there too (the share times the count
    gives back the number of successes exactly: shares are rounded to 4 places of counts < 5000)."""
    out = {}
    for key, den in _DENOMINATORS.items():
        if result.get(key) is not None and result.get(den):
            n = int(result[den])
            out[key] = wilson(round(result[key] * n), n)
    return out


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def evaluate(
    seed: int,
    n: int,
    *,
    model: str = "toy",
    maps: str | None = None,
    detector=None,
    progress: bool = False,
    device: str | None = None,
    dtype: str | None = None,
    reliance: bool = False,
) -> dict:
    """Generate `n` images of world `seed`, explain each through the detector, score the answers.
    With `maps`, also the pointing game beside the text-only baseline and the energy in the box
    (probes.py); with `reliance`, the language-prior flag on grounded and hallucinated phrases."""
    if seed in TRAINING_SEEDS:
        raise ValueError(f"seed {seed} is a training seed ({TRAINING_SEEDS}); evaluate on a fresh one")
    if maps is not None:
        try:
            from ..attribution import METHODS, attribute, pointing_hit
        except ImportError as exc:
            raise RuntimeError(f"attribution not available yet ({exc})") from None
        if maps not in METHODS or maps == "none":
            raise ValueError(f"unknown map method '{maps}': use one of {', '.join(m for m in METHODS if m != 'none')}")
    from ..intake import check_image
    from ..model import load_detector

    t_load = time.perf_counter()
    detector = detector or load_detector(model, device=device, dtype=dtype)
    load_s = time.perf_counter() - t_load
    truth, answers, totals, firsts, new_tokens, map_times = [], [], [], [], [], []
    hits = pointed = text_hits = 0
    shares, areas = [], []
    probe = {"grounded": [], "hallucinated": []}  # (reliance, flagged) per probed sentence
    for i in range(n):
        sample = world.generate(seed, i)
        checked = check_image(png_bytes(sample.image))
        explanation = detector.explain(checked)
        truth.append((sample.label, [(a.kind, a.region) for a in sample.artifacts]))
        answers.append(explanation.text)
        totals.append(explanation.timings.total_s)
        firsts.append(explanation.timings.first_token_s)
        new_tokens.append(explanation.timings.new_tokens)
        if maps is not None and sample.artifacts:
            t0 = time.perf_counter()
            phrase_maps = attribute(detector, checked, explanation, maps, with_reliance=False, with_faithfulness=False)
            map_times.append(time.perf_counter() - t0)
            by_phrase = {m.phrase_index: m for m in phrase_maps}
            for a in sample.artifacts:
                k = next(
                    (
                        j
                        for j, ph in enumerate(explanation.phrases)
                        if a.kind in texts.kinds_in(ph.text) and a.region in texts.regions_in(ph.text)
                    ),
                    None,
                )
                if k is None or k not in by_phrase:
                    continue
                pointed += 1
                hits += pointing_hit(by_phrase[k], checked, a.box)
                text_hits += probes.text_baseline_hit(checked, a.region, a.box)
                shares.append(probes.energy_share(by_phrase[k].grid, a.model_box))
                areas.append(probes.area_share(a.model_box))
        if reliance and sample.artifacts:
            a = sample.artifacts[0]
            probe["grounded"].append(probes.reliance_probe(detector, checked, a.kind, a.region))
            rng = np.random.default_rng([seed, i, 0x5EA])
            probe["hallucinated"].append(
                probes.reliance_probe(detector, checked, *probes.hallucinated_pair(sample, rng))
            )
        if progress and (i + 1) % 25 == 0:
            print(f"{i + 1}/{n}", file=sys.stderr, flush=True)
    result = score(truth, answers)
    result.update(
        model=detector.model_id,
        is_toy=detector.is_toy,
        seed=seed,
        device=str(detector.device),
        dtype=str(detector.dtype).replace("torch.", ""),
        load_s=round(load_s, 3),
        mean_total_s=round(statistics.fmean(totals), 4) if totals else None,
        p95_total_s=round(sorted(totals)[int(0.95 * (len(totals) - 1))], 4) if totals else None,
        mean_first_token_s=round(statistics.fmean(firsts), 4) if firsts else None,
        mean_new_tokens=round(statistics.fmean(new_tokens), 2) if new_tokens else None,
    )
    if maps is not None:
        result.update(
            maps=maps,
            pointing_game=round(hits / pointed, 4) if pointed else None,
            pointing_n=pointed,
            pointing_text_baseline=round(text_hits / pointed, 4) if pointed else None,
            pointing_random=round(statistics.fmean(areas), 4) if areas else None,
            energy_share=round(statistics.fmean(shares), 4) if shares else None,
            energy_share_flat=round(statistics.fmean(areas), 4) if areas else None,
            mean_maps_s=round(statistics.fmean(map_times), 4) if map_times else None,
        )
    if reliance:
        for key, rows in probe.items():
            result[f"prior_flag_{key}"] = round(statistics.fmean(f for _, f in rows), 4) if rows else None
            result[f"reliance_per_token_median_{key}"] = (
                round(statistics.median(r for r, _ in rows), 4) if rows else None
            )
        result["reliance_n"] = len(probe["grounded"])
    result["ci95"] = intervals(result)
    result["versions"] = _versions()
    return result


def _versions() -> dict:
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
    }


def main(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = evaluate(
            args.seed,
            args.n,
            model=args.model,
            maps=args.maps,
            progress=not args.json,
            device=args.device,
            dtype=args.dtype,
            reliance=args.reliance,
        )
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["command"] = "python -m explain.toy " + " ".join(sys.argv[1:])
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0
