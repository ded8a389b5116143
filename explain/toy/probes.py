"""What the toy evaluation measures beside accuracy: is a map better than reading the words, and does
the language-prior flag tell grounded phrases from hallucinated ones?

- `text_baseline_hit`: a "map" that only reads the phrase and peaks at the centre of the region it
  names. Where it points as well as a real map, the pointing game cannot tell faithful from guessed.
- `energy_share`: the share of a map's positive mass on patches whose centre lies in the artifact's
  box (beside `area_share`, what a flat map gets), which credits a map for more than its argmax.
- `reliance_probe`: teacher-forces "This is a fake image." plus one artifact sentence, once naming a
  planted (kind, region) - grounded - and once naming a kind and region not in the picture -
  hallucinated -, and returns the sentence's reliance and language-prior flag, computed by the
  same functions `attribute()` uses.
- `write_references`: the toy model's real reference pictures for reliance (attribution/references.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import texts, world


def region_centre_model(region: str) -> tuple[float, float]:
    """(x, y) of a region's centre in the 336-px crop."""
    row, col = divmod(texts.REGIONS.index(region), 3)
    return (col + 0.5) * world.CELL, (row + 0.5) * world.CELL


def text_baseline_hit(checked, region: str, box: Sequence[float]) -> bool:
    """Pointing game for the text-only map: is the named region's centre inside the box?"""
    from ..intake import crop_to_original

    x, y = crop_to_original(tuple(checked.crop_box_f), *region_centre_model(region))
    x0, y0, x1, y1 = box
    return x0 <= x < x1 and y0 <= y < y1


def _in_box(model_box: Sequence[float], side: int) -> np.ndarray:
    centres = (np.arange(side) + 0.5) * (world.MODEL_SIZE / side)
    x0, y0, x1, y1 = model_box
    inside_x = (centres >= x0) & (centres < x1)
    inside_y = (centres >= y0) & (centres < y1)
    return inside_y[:, None] & inside_x[None, :]


def energy_share(grid: Sequence[Sequence[float]], model_box: Sequence[float]) -> float:
    """Share of the map's positive mass on patches whose centre is inside the box (model pixels)."""
    g = np.clip(np.asarray(grid, dtype=np.float64), 0, None)
    total = g.sum()
    return float(g[_in_box(model_box, g.shape[0])].sum() / total) if total > 0 else 0.0


def area_share(model_box: Sequence[float], side: int = world.GRID) -> float:
    """The share a flat map would get: the box's patches over all patches (the chance level of
    both `energy_share` and the pointing game of a random map)."""
    return float(_in_box(model_box, side).mean())


def forced_explanation(detector, text: str):
    """An `Explanation` of `text` as if the detector had generated it (for teacher forcing)."""
    from ..decoding.tokens import IncrementalDecoder
    from ..phrases import split_phrases
    from ..types import Explanation, Timings

    ids = detector.tokenizer.encode(text, add_special_tokens=False)
    decoder = IncrementalDecoder(detector.tokenizer)
    for t in ids:
        decoder.push(t)
    decoded, ends = decoder.finish()
    return Explanation(decoded, tuple(ids), "fake", None, split_phrases(decoded, ends), Timings())


def hallucinated_pair(sample, rng: np.random.Generator) -> tuple[str, str]:
    """A (kind, region) with a kind not planted in the sample and a region holding no artifact."""
    kinds = [k for k in texts.KINDS if k not in {a.kind for a in sample.artifacts}]
    regions = [r for r in texts.REGIONS if r not in {a.region for a in sample.artifacts}]
    return kinds[int(rng.integers(len(kinds)))], regions[int(rng.integers(len(regions)))]


def reliance_probe(detector, checked, kind: str, region: str) -> tuple[float, bool]:
    """(reliance in nats a token, language-prior flag) of one artifact sentence after the fake
    verdict, against the detector's own reference (real pictures, or grey without them)."""
    from ..attribution import is_language_prior, reference_kind, scorer_for, scores_and_reliance

    sentence = texts.PHRASINGS[kind][0].format(r=region)
    explanation = forced_explanation(detector, f"{texts.VERDICT['fake']} {sentence}")
    k = next(i for i, ph in enumerate(explanation.phrases) if kind in texts.kinds_in(ph.text))
    scorer = scorer_for(detector, checked, explanation)
    _, _, reliance = scores_and_reliance(scorer)
    n = scorer.n_tokens[k]
    return float(reliance[k]) / n, is_language_prior(float(reliance[k]), n, kind=reference_kind(scorer))


REFERENCE_SEED = 9001  # a world seed used for nothing else: training uses 0 and 1, evaluations others
N_REFERENCES = 4


def write_references(out, *, seed: int = REFERENCE_SEED, n: int = N_REFERENCES) -> list:
    """Write the toy model's reliance references: `n` real images of world `seed`, as the 336-px
    crop the model sees (so the files stay small and the processor's resize is a no-op)."""
    from pathlib import Path

    from PIL import Image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image = Image.fromarray(world.model_view(world.generate(seed, i, label="real").image))
        paths.append(out / f"real-{seed}-{i}.png")
        image.save(paths[-1], optimize=True)
    return paths
