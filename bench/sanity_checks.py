"""Sanity checks for the attribution maps on the toy model (Adebayo et al., NeurIPS 2018), on a CPU.

    python bench/sanity_checks.py --seed 3131 --n-fakes 12 --methods gradient ig occlusion:12 [--threads 1]

For each method (occlusion:G = occlusion on a G x G grid) and every phrase of the toy model's
answers that names a planted artifact: the cascading model-parameter randomisation (Spearman
correlation with the original map, pointing game, per stage from the LM head down to the patch
embedding) and the input-independence test (the same phrase mapped on another picture).
explain/toy/sanity.py holds the checks; tests/explain/toy/test_toy_sanity.py keeps the default
method passing them. One JSON line per method; record them in bench/ATTRIBUTION_RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3131)
    parser.add_argument("--n-fakes", type=int, default=12)
    parser.add_argument("--methods", nargs="+", default=["gradient"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch
    from _machine import cpu_model

    from explain.model import load_detector
    from explain.toy import sanity

    torch.set_num_threads(args.threads)
    detector = load_detector("toy", device="cpu")
    cases = sanity.world_cases(detector, args.seed, args.n_fakes)
    for spec in args.methods:
        method, _, grid = spec.partition(":")
        kw = {"grid": int(grid)} if grid else {}
        t0 = time.perf_counter()
        rows = sanity.randomisation(detector, cases, method, **kw)
        independence = sanity.input_independence(detector, cases, method, **kw)
        print(
            json.dumps(
                {
                    "method": spec,
                    "phrases": len(cases),
                    "randomisation": rows,
                    **independence,
                    "seconds": round(time.perf_counter() - t0, 1),
                    "seed": args.seed,
                    "machine": cpu_model(),
                    "threads": args.threads,
                    "date": time.strftime("%Y-%m-%d"),
                    "command": "python bench/sanity_checks.py " + " ".join(sys.argv[1:]),
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
