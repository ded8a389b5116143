"""Occlusion exploration: score every square occluder at every position, then build maps offline.

    python bench/occlusion_windows.py collect --seed 2027 --n 200 --device cuda --workers 7 --out OUT
    python bench/occlusion_windows.py analyse OUT/occ_2027 [OUT/occ_2028 ...]

`collect` explains `--n` held-out fakes of a toy world (as bench/attribution_cpu.py's pointing game
does) and, for each phrase that names a planted artifact, rescores it with every w x w occluder
(w in --windows, stride 1 patch, inside the crop) removed (deletion: the drop) or kept alone
(insertion: the gain), with zero and film-grain tokens as the baseline, plus RISE random masks.
It writes OUT/occ_SEED.npz (float16 drops) and OUT/occ_SEED.json (answers, boxes, crop boxes).

`analyse` plays the pointing game with maps built from those scores in several ways (single
cells, Captum-style mean over covering windows, value at the window's centre, its 3 x 3
neighbourhood mean, RISE) and prints one row per construction. It needs no model. The shipped
method (explain/attribution/occlusion.py) was chosen from this table; bench/ATTRIBUTION_RESULTS.md
records both.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attribution_cpu import held_out_fakes, load  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIDE, PATCH = 24, 14
RISE_CELLS = 6
BASELINES = ("zeros", "grain")


def window_masks(w: int) -> torch.Tensor:
    """(positions, SIDE * SIDE, 1) bool: every w x w window, row-major by its top-left patch."""
    masks = []
    for r in range(SIDE - w + 1):
        for c in range(SIDE - w + 1):
            m = torch.zeros(SIDE, SIDE, dtype=torch.bool)
            m[r : r + w, c : c + w] = True
            masks.append(m)
    return torch.stack(masks).view(-1, SIDE * SIDE, 1)


def rise_masks(seed: int, index: int, n: int) -> torch.Tensor:
    """(n, SIDE, SIDE) bool: RISE masks, a random 7 x 7 grid of 4-patch cells shifted randomly."""
    g = torch.Generator().manual_seed(10_000 * seed + index)
    cell = -(-SIDE // RISE_CELLS)
    grid = torch.rand(n, RISE_CELLS + 1, RISE_CELLS + 1, generator=g) < 0.5
    up = grid.repeat_interleave(cell, 1).repeat_interleave(cell, 2)
    shift = torch.randint(0, cell, (n, 2), generator=g)
    return torch.stack([up[i, shift[i, 0] : shift[i, 0] + SIDE, shift[i, 1] : shift[i, 1] + SIDE] for i in range(n)])


def collect(args) -> None:
    from explain.attribution import scorer_for
    from explain.toy import texts

    detector = load("toy", args.device)
    windows = {w: window_masks(w) for w in args.windows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta, arrays = [], {}
    t0 = time.perf_counter()

    def scores(scorer, keep, image, base, rows):
        parts = []
        for i in range(0, keep.shape[0], args.batch):
            m = keep[i : i + args.batch].to(image.device)
            parts.append(scorer.scores(torch.where(m, image, base))[:, rows].float().cpu())
        return torch.cat(parts)

    for i, (sample, checked) in enumerate(held_out_fakes(args.seed, args.n, args.workers)):
        explanation = detector.explain(checked)
        targets = []
        for a in sample.artifacts:
            for k, ph in enumerate(explanation.phrases):
                if a.kind in texts.kinds_in(ph.text) and a.region in texts.regions_in(ph.text):
                    targets.append((k, a))
                    break
        if not targets:
            continue
        scorer = scorer_for(detector, checked, explanation)
        rows = sorted({k for k, _ in targets})
        with torch.no_grad():
            image = scorer.image_tokens()
            full = scorer.scores(image)[0, rows].float().cpu()
            for name in BASELINES:
                base = scorer.baseline_tokens(name)
                empty = scorer.scores(base)[0, rows].float().cpu()
                for w, keep in windows.items():
                    arrays[f"{sample.index}_{name}_del{w}"] = (full - scores(scorer, ~keep, image, base, rows)).numpy()
                    arrays[f"{sample.index}_{name}_ins{w}"] = (scores(scorer, keep, image, base, rows) - empty).numpy()
                if name == "zeros" and args.rise:
                    keep = rise_masks(args.seed, sample.index, args.rise).view(-1, SIDE * SIDE, 1)
                    arrays[f"{sample.index}_zeros_rise"] = scores(scorer, keep, image, base, rows).numpy()
        meta.append(
            {
                "i": sample.index,
                "rows": rows,
                "text": explanation.text,
                "crop_box_f": list(checked.crop_box_f),
                "targets": [[k, a.kind, a.region, list(a.box)] for k, a in targets],
            }
        )
        if (i + 1) % 20 == 0:
            print(f"{i + 1}/{args.n} {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    np.savez_compressed(out / f"occ_{args.seed}.npz", **{k: v.astype(np.float16) for k, v in arrays.items()})
    (out / f"occ_{args.seed}.json").write_text(json.dumps({"seed": args.seed, "windows": args.windows,
                                                           "rise": args.rise, "fakes": meta}))  # fmt: skip


# -- analysis ---------------------------------------------------------------------------------------


def argmax_point(m: np.ndarray) -> tuple[float, float]:
    """(x, y) in model pixels of a per-patch map's maximum (the centroid of tied maxima)."""
    r, c = np.nonzero(m == m.max())
    return (c.mean() + 0.5) * PATCH, (r.mean() + 0.5) * PATCH


def centre_point(v: np.ndarray, w: int) -> tuple[float, float]:
    """(x, y) of the centre of the window with the largest value (v: by top-left position)."""
    r, c = np.nonzero(v == v.max())
    return (c.mean() + w / 2) * PATCH, (r.mean() + w / 2) * PATCH


def cells(v: np.ndarray, w: int) -> np.ndarray:
    """Per-patch map of the non-overlapping w x w cells (w divides 24)."""
    return np.kron(v[::w, ::w], np.ones((w, w)))


def covering_mean(v: np.ndarray, w: int) -> np.ndarray:
    """Captum Occlusion's map: each patch's mean over the windows that cover it."""
    acc, cnt = np.zeros((SIDE, SIDE)), np.zeros((SIDE, SIDE))
    for r in range(v.shape[0]):
        for c in range(v.shape[1]):
            acc[r : r + w, c : c + w] += v[r, c]
            cnt[r : r + w, c : c + w] += 1
    return acc / cnt


def neighbourhood_mean(v: np.ndarray) -> np.ndarray:
    from explain.attribution.occlusion import neighbourhood_mean as mean

    return mean(torch.from_numpy(v).unsqueeze(0), 1)[0].numpy()


def constructions(arr, fake: dict, j: int, windows, seed: int, rise: int):
    """(name, point in model pixels) for every way of building a map from one phrase's scores."""
    i = fake["i"]
    for name in BASELINES:
        for w in windows:
            n = SIDE - w + 1
            dele = arr[f"{i}_{name}_del{w}"][:, j].astype(np.float64).reshape(n, n)
            ins = arr[f"{i}_{name}_ins{w}"][:, j].astype(np.float64).reshape(n, n)
            if SIDE % w == 0:
                yield f"{name} deletion, cells of {w} (grid {SIDE // w})", argmax_point(cells(dele, w))
                yield f"{name} insertion, cells of {w} (grid {SIDE // w})", argmax_point(cells(ins, w))
            yield f"{name} deletion, {w}x{w} windows, mean over covering", argmax_point(covering_mean(dele, w))
            yield f"{name} deletion, {w}x{w} windows, value at centre", centre_point(dele, w)
            yield f"{name} deletion, {w}x{w} windows, centre, 3x3 mean", centre_point(neighbourhood_mean(dele), w)
    if rise:
        scores = arr[f"{i}_zeros_rise"][:, j].astype(np.float64)
        masks = rise_masks(seed, i, rise).numpy().astype(np.float64)
        saliency = ((scores - scores.mean())[:, None, None] * masks).sum(0) / np.maximum(masks.sum(0), 1)
        yield f"RISE, {rise} masks", argmax_point(saliency)


def analyse(args) -> None:
    from explain.intake import crop_to_original

    hits: dict = defaultdict(lambda: [0, 0])
    for stem in args.stems:
        info = json.loads(Path(stem + ".json").read_text())
        arr = np.load(stem + ".npz")
        for fake in info["fakes"]:
            for k, _kind, _region, box in fake["targets"]:
                j = fake["rows"].index(k)
                for name, (x, y) in constructions(arr, fake, j, info["windows"], info["seed"], info["rise"]):
                    ox, oy = crop_to_original(tuple(fake["crop_box_f"]), x, y)
                    hits[name][0] += box[0] <= ox < box[2] and box[1] <= oy < box[3]
                    hits[name][1] += 1
    print("| map | pointing game | artifacts |\n|---|---|---|")
    for name, (h, n) in sorted(hits.items(), key=lambda kv: -kv[1][0] / kv[1][1]):
        print(f"| {name} | {h / n:.3f} | {n} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("collect")
    p.add_argument("--seed", type=int, default=2027)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--device", default="cpu")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--windows", type=int, nargs="+", default=[2, 4, 6, 8, 12])
    p.add_argument("--rise", type=int, default=512, help="RISE masks per image (0: none)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--out", required=True)
    p = sub.add_parser("analyse")
    p.add_argument("stems", nargs="+", help="OUT/occ_SEED (without .npz/.json)")
    args = parser.parse_args(argv)
    collect(args) if args.cmd == "collect" else analyse(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
