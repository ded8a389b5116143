"""Sanity checks for saliency maps (Adebayo et al., NeurIPS 2018) on the toy model.

- Cascading model-parameter randomisation: re-initialise the weights from the top (LM head) down to
  the bottom (the ViT's patch embedding), one block at a time and cumulatively, on a copy of the
  model, and recompute each phrase's map for the *same* teacher-forced answer. A map that explains
  the model must change as the model does: its rank correlation with the original map falls towards
  0 and it stops pointing at the artifact. A map that stays put reads something else (edges, the
  words, the position of the image tokens).
- Input independence (same words, another picture): the map of the same phrase on an unrelated
  fake. A map that reads the picture does not follow the words there; a map that reads only the
  words peaks at the named region again. (Adebayo's data-randomisation test, retraining on permuted
  labels, is not run here: it needs a second training run; see bench/ATTRIBUTION_RESULTS.md.)

Weights of two or more dimensions are redrawn from a normal with the original tensor's standard
deviation (scale kept, content gone); norms and biases are left as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch import Tensor, nn


def spearman(a, b) -> float:
    """Spearman rank correlation of two maps (flattened); ties broken by position."""
    x, y = (torch.as_tensor(v, dtype=torch.float64).flatten() for v in (a, b))
    rx, ry = (v.argsort().argsort().double() for v in (x, y))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = float(rx.norm() * ry.norm())
    return float((rx * ry).sum() / denom) if denom else 0.0


def blocks_top_down(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of a llava-hf model from the output down to the pixels."""
    from ..attribution.scoring import submodule

    lm = submodule(model, "model.language_model", "language_model")
    vt = submodule(model, "model.vision_tower", "vision_tower")
    vision = getattr(vt, "vision_model", vt)
    out: list[tuple[str, nn.Module]] = [("lm_head", model.get_output_embeddings())]
    out += [(f"lm.layers.{i}", layer) for i, layer in reversed(list(enumerate(lm.layers)))]
    out.append(("lm.embed_tokens", lm.embed_tokens))
    out.append(("projector", submodule(model, "model.multi_modal_projector", "multi_modal_projector")))
    out += [(f"vision.layers.{i}", layer) for i, layer in reversed(list(enumerate(vision.encoder.layers)))]
    out.append(("vision.embeddings", vision.embeddings))
    return out


def randomise_(module: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() >= 2:
                std = float(p.float().std()) or 0.02
                p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float32).to(p.dtype) * std)


def cascade(model: nn.Module, *, seed: int = 0) -> Iterator[tuple[str, nn.Module]]:
    """Yields ("original", a copy) and then, block by block from the top, (block name, the copy with
    that block and all above it re-initialised). The model itself is never changed."""
    twin = copy.deepcopy(model)
    yield "original", twin
    generator = torch.Generator().manual_seed(seed)
    names = dict(blocks_top_down(twin))
    for name, block in names.items():
        randomise_(block, generator)
        yield name, twin


def with_model(detector, model: nn.Module):
    """A shallow copy of the detector that runs `model` (tokenizer and processor shared)."""
    twin = copy.copy(detector)
    twin.model = model
    return twin


def grid_tensor(phrase_map) -> Tensor:
    return torch.as_tensor(phrase_map.grid, dtype=torch.float64)


def world_cases(detector, seed: int, n_fakes: int) -> list[tuple]:
    """(checked, explanation, phrase index, artifact box) for every phrase that names a planted
    artifact in the detector's answers on `n_fakes` fakes of world `seed`."""
    from ..intake import check_image
    from . import texts, world
    from .evaluate import png_bytes

    cases = []
    for i in range(n_fakes):
        sample = world.generate(seed, i, label="fake")
        checked = check_image(png_bytes(sample.image))
        explanation = detector.explain(checked)
        for a in sample.artifacts:
            k = next(
                (
                    j
                    for j, ph in enumerate(explanation.phrases)
                    if a.kind in texts.kinds_in(ph.text) and a.region in texts.regions_in(ph.text)
                ),
                None,
            )
            if k is not None:
                cases.append((checked, explanation, k, a.box))
    return cases


def _maps(detector, cases, method: str, images=None, **kw) -> list:
    from ..attribution import attribute

    out = []
    for n, (checked, explanation, k, _box) in enumerate(cases):
        image = images[n] if images is not None else checked
        maps = attribute(detector, image, explanation, method, with_reliance=False, with_faithfulness=False, **kw)
        out.append(next(m for m in maps if m.phrase_index == k))
    return out


def randomisation(detector, cases, method: str = "gradient", *, seed: int = 0, **kw) -> list[dict]:
    """One row per cascade stage: mean Spearman correlation with the original maps and the
    pointing game (the original row first)."""
    from ..attribution import pointing_hit

    rows, original = [], None
    for stage, model in cascade(detector.model, seed=seed):
        maps = _maps(with_model(detector, model), cases, method, **kw)
        original = original or maps
        rho = [spearman(grid_tensor(a), grid_tensor(b)) for a, b in zip(original, maps, strict=True)]
        hits = [pointing_hit(m, c[0], c[3]) for m, c in zip(maps, cases, strict=True)]
        rows.append(
            {"stage": stage, "spearman": round(sum(rho) / len(rho), 4), "pointing": round(sum(hits) / len(hits), 4)}
        )
    return rows


def other_picture(cases, n: int):
    """The picture of the next case that is not case n's own (a fake with two artifacts gives two
    cases on one picture)."""
    for step in range(1, len(cases)):
        checked = cases[(n + step) % len(cases)][0]
        if checked.sha256 != cases[n][0].sha256:
            return checked
    raise ValueError("input independence needs cases on at least two pictures")


def input_independence(detector, cases, method: str = "gradient", **kw) -> dict:
    """The same phrase mapped on another case's picture (`other_picture`): mean Spearman with the map on its own
    picture, and how often that map still points into the own picture's artifact box."""
    from ..attribution import pointing_hit

    own = _maps(detector, cases, method, **kw)
    others = [other_picture(cases, n) for n in range(len(cases))]
    moved = _maps(detector, cases, method, images=others, **kw)
    rho = [spearman(grid_tensor(a), grid_tensor(b)) for a, b in zip(own, moved, strict=True)]
    hits = [pointing_hit(m, c[0], c[3]) for m, c in zip(moved, cases, strict=True)]
    return {
        "spearman_other_picture": round(sum(rho) / len(rho), 4),
        "pointing_other_picture": round(sum(hits) / len(hits), 4),
    }
