"""Calibrate the language-prior threshold on the toy world (issue 20).

    python bench/reliance_calibration.py --seed 7777 --n-fakes 120 [--threads 1]

For each fake of world `--seed` (never 0/1: training; never 9001: the references) it teacher-forces
"This is a fake image." plus one sentence naming a planted artifact (grounded) and one naming a
kind and region that are not in the picture (hallucinated), and records each sentence's reliance in
nats a token against the toy model's real reference pictures (explain/attribution/references.py).
It prints the quantiles, the flag rates (hallucinated, grounded) over a sweep of thresholds, and
the middle of the range of thresholds where Youden's J (hallucinated flagged minus grounded
flagged) is largest. Check the chosen value on a fresh seed
with `python -m explain.toy eval --reliance`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7777)
    parser.add_argument("--n-fakes", type=int, default=120)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch
    from _machine import cpu_model

    from explain.intake import check_image
    from explain.model import load_detector
    from explain.toy import probes, world
    from explain.toy.evaluate import png_bytes

    torch.set_num_threads(args.threads)
    detector = load_detector("toy", device="cpu")
    t0 = time.perf_counter()
    grounded, hallucinated = [], []
    for i in range(args.n_fakes):
        sample = world.generate(args.seed, i, label="fake")
        checked = check_image(png_bytes(sample.image))
        a = sample.artifacts[0]
        grounded.append(probes.reliance_probe(detector, checked, a.kind, a.region)[0])
        pair = probes.hallucinated_pair(sample, np.random.default_rng([args.seed, i, 0x5EA]))
        hallucinated.append(probes.reliance_probe(detector, checked, *pair)[0])
    g, h = np.array(grounded), np.array(hallucinated)
    sweep = {}
    for t in np.round(np.arange(-1.5, 0.51, 0.05), 2):
        sweep[float(t)] = (float((h < t).mean()), float((g < t).mean()))
    # Youden's J (hallucinated flagged minus grounded flagged) over the sweep; the middle of the
    # plateau of its maximum, so the threshold does not sit on one measured phrase
    best = max(h_rate - g_rate for h_rate, g_rate in sweep.values())
    plateau = [t for t, (h_rate, g_rate) in sweep.items() if h_rate - g_rate >= best - 1e-9]
    t_star = (min(plateau) + max(plateau)) / 2
    result = {
        "seed": args.seed,
        "n_fakes": args.n_fakes,
        "grounded_quantiles": np.quantile(g, [0, 0.1, 0.5, 0.9, 1]).round(3).tolist(),
        "hallucinated_quantiles": np.quantile(h, [0, 0.1, 0.5, 0.9, 1]).round(3).tolist(),
        "youden_j": round(best, 4),
        "plateau": [min(plateau), max(plateau)],
        "threshold": round(t_star, 3),
        "flag_hallucinated_at_threshold": float((h < t_star).mean()),
        "flag_grounded_at_threshold": float((g < t_star).mean()),
        "sweep": {str(k): v for k, v in sweep.items()},
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": cpu_model(),
        "threads": args.threads,
        "date": time.strftime("%Y-%m-%d"),
        "command": "python bench/reliance_calibration.py " + " ".join(sys.argv[1:]),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
