"""Deletion and insertion curves: does a phrase really depend on the regions its map highlights?

Patches are ranked by the map (highest first). Deletion replaces the top k% of patches with the
baseline's tokens (scoring.PhraseScorer.baseline_tokens: the neutral grey image's, zeros, or the
image's mean token; attribute() uses its `baseline`, "zeros" by default) and rescores the phrase;
insertion starts from the all-baseline image and puts back the top k% of the real tokens. Both run
at the image-token level (the vision tower runs once, whatever method produced the map),
k = 0, 100/steps, ..., 100%, all phrases' perturbed copies batched together.

The curves are in per-token probability, exp(score / n_tokens), which lies in (0, 1] whatever the
phrase's length, and the areas under them (trapezoid over the fraction of patches, in [0, 1]) are
normalised the same way. Every deletion curve comes with the same curve for a random ranking
(seeded, one per phrase): "deletion AUC 0.42, random order 0.87" means that hiding the map's top
patches first destroys the phrase much sooner than hiding patches at random, i.e. the map found
what the phrase rests on; equal numbers mean the map ranks no better than chance. Insertion AUC is
still computed (and stored) but cannot rank maps: on the toy model random maps scored as high as
real ones (issue 20), so it is not part of the JSON the UI and API show.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .gradient import Progress
from .scoring import PhraseScorer


@dataclass(frozen=True)
class Curves:
    fractions: tuple[float, ...]
    deletion: tuple[float, ...]  # per-token probability after removing the top fraction
    insertion: tuple[float, ...]  # per-token probability with only the top fraction present
    deletion_auc: float
    insertion_auc: float
    deletion_random: tuple[float, ...] = ()  # the deletion curve for a seeded random ranking
    deletion_auc_random: float | None = None


RANDOM_SEED = 20  # the random ranking of phrase k uses seed RANDOM_SEED + k: the same on every run


def random_order(n: int, k: int) -> Tensor:
    """The random ranking (patch indices, first removed first) that phrase k's map is compared with."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(RANDOM_SEED + k))


def auc(fractions: Tensor, values: Tensor) -> float:
    return float(torch.trapezoid(values, fractions))


def faithfulness_curves(
    scorer: PhraseScorer,
    grids: Tensor,
    *,
    steps: int = 10,
    baseline: str = "neutral",
    batch_size: int = 16,
    progress: Progress | None = None,
) -> list[Curves | None]:
    """Curves for each scored span's map (grids: (P, side, side)); None for a span with no tokens."""
    n_phrases = len(scorer.spans)
    if steps < 1:
        raise ValueError("faithfulness needs at least one step")
    with torch.no_grad():
        tokens = scorer.image_tokens()[0]
        base = scorer.baseline_tokens(baseline)[0]
        n = tokens.shape[0]
        ends = scorer.scores(torch.stack([tokens, base])).cpu()  # (2, P): image, all-baseline
        fractions = torch.linspace(0.0, 1.0, steps + 1)
        counts = [round(float(f) * n) for f in fractions[1:-1]]
        orders = [torch.argsort(g.flatten().to(tokens.device), descending=True, stable=True) for g in grids]
        randoms = [random_order(n, k).to(tokens.device) for k in range(n_phrases)]
        # interior points only: the end points (image, all-baseline) are shared by all.
        # kind 0: deletion, 1: insertion, 2: deletion in the random order
        jobs = [(k, kind, j) for k in range(n_phrases) for kind in (0, 1, 2) for j in range(len(counts))]
        raw = torch.zeros(n_phrases, 3, len(counts))

        def inputs(batch) -> Iterator[Tensor]:
            for k, kind, j in batch:
                top = (randoms if kind == 2 else orders)[k][: counts[j]]
                x = (base if kind == 1 else tokens).clone()
                x[top] = (tokens if kind == 1 else base)[top]
                yield x

        for start in range(0, len(jobs), max(1, batch_size)):
            batch = jobs[start : start + batch_size]
            out = scorer.scores(torch.stack(list(inputs(batch)))).cpu()
            for row, (k, kind, j) in enumerate(batch):
                raw[k, kind, j] = out[row, k]
            if progress:
                done = min(len(jobs), start + batch_size)
                progress(done / max(1, len(jobs)), f"faithfulness {done}/{len(jobs)}")

    result: list[Curves | None] = []
    for k, n_tok in enumerate(scorer.n_tokens):
        if n_tok == 0:
            result.append(None)
            continue
        full, empty = ends[0, k], ends[1, k]
        deletion = torch.cat([full.view(1), raw[k, 0], empty.view(1)])
        insertion = torch.cat([empty.view(1), raw[k, 1], full.view(1)])
        randomly = torch.cat([full.view(1), raw[k, 2], empty.view(1)])
        deletion, insertion, randomly = (torch.exp(c / n_tok) for c in (deletion, insertion, randomly))
        result.append(
            Curves(
                fractions=tuple(round(float(f), 6) for f in fractions),
                deletion=tuple(float(v) for v in deletion),
                insertion=tuple(float(v) for v in insertion),
                deletion_auc=auc(fractions, deletion),
                insertion_auc=auc(fractions, insertion),
                deletion_random=tuple(float(v) for v in randomly),
                deletion_auc_random=auc(fractions, randomly),
            )
        )
    return result
