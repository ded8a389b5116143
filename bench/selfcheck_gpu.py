"""`python -m explain.selfcheck` on a GPU, where the fast decoder (static KV cache + CUDA graphs) runs:
on the shipped toy model (trained weights) and on FakeVLM's exact 7B shape with random weights.

    PYTHONUNBUFFERED=1 python bench/selfcheck_gpu.py --out OUT_DIR [--max-new-tokens 256]

Writes OUT_DIR/selfcheck_toy.json and OUT_DIR/selfcheck_7b.json (the reports) and prints both.
Random 7B weights give near-flat logits, so bf16 near-ties may flip a token between the two decoders;
that is what the real weights must show not to happen (the report says where the first difference is).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def seven_b(max_new_tokens: int):
    import torch

    from explain.model import ModelChoice, load_processor
    from explain.model.detector import Detector
    from explain.model.loader import make_backend
    from tests.factories.checkpoints import PREPROCESSOR_CONFIG, build_7b_shape_model

    torch.manual_seed(0)
    model, tokenizer = build_7b_shape_model(device="cuda", dtype=torch.bfloat16)
    model = model.to(torch.bfloat16)
    folder = Path(tempfile.mkdtemp(prefix="spot-7b-selfcheck-"))
    tokenizer.save_pretrained(folder)
    model.config.save_pretrained(folder)  # config and tokenizer: what the reference processor reads
    (folder / "preprocessor_config.json").write_text(PREPROCESSOR_CONFIG.read_text())
    choice = ModelChoice(str(folder), folder, "llava-1.5-7b-shape-random", None, False)
    detector = Detector(model, load_processor(folder), choice=choice, backend=make_backend("auto", model))
    return detector


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--only", choices=("toy", "7b"), default=None)
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from explain.model import load_detector
    from explain.selfcheck import run_selfcheck

    status = 0
    for name in ("toy", "7b"):
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        detector = load_detector("toy", device="cuda") if name == "toy" else seven_b(args.max_new_tokens)
        load_s = time.perf_counter() - t0
        warm = detector.warmup(args.max_new_tokens)
        report = run_selfcheck(detector, max_new_tokens=args.max_new_tokens)
        report.timings = {"load s": load_s, "warmup s": warm, **report.timings}
        (out / f"selfcheck_{name}.json").write_text(json.dumps(report.to_json(), indent=1))
        print(report.text(), flush=True)
        status |= not report.ok
        del detector
    return status


if __name__ == "__main__":
    raise SystemExit(main())
