"""`python -m explain.selfcheck [--model ID_OR_PATH] [--json]`: check the loaded weights against the
paper's evaluation path (see explain.selfcheck). Exit status 0 when every check passes, 1 on any
mismatch, 2 when the model cannot be loaded."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ..intake import PREPROCESSING
from ..model import DECODERS, ModelUnavailable, load_detector
from ..verdict import RULES
from . import run_selfcheck


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explain.selfcheck", description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.environ.get("SPOT_MODEL", "auto"),
                   help="auto, toy, a Hub id (lingcco/fakeVLM) or a local llava-hf folder")
    p.add_argument("--revision", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--decoder", default=os.environ.get("SPOT_DECODER", "auto"), choices=DECODERS)
    p.add_argument("--rule", default=os.environ.get("SPOT_RULE", "word"), choices=RULES)
    p.add_argument("--preprocess", default=os.environ.get("SPOT_PREPROCESS", "default"), choices=PREPROCESSING)
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--pictures", nargs="*", default=None, help="default: the shipped assets/examples")
    p.add_argument("--json", action="store_true", help="the report as one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    try:
        detector = load_detector(args.model, revision=args.revision, device=args.device, dtype=args.dtype,
                                 decoder=args.decoder, rule=args.rule)
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load_s = time.perf_counter() - t0
    warm = detector.warmup(args.max_new_tokens)
    report = run_selfcheck(detector, pictures=args.pictures, max_new_tokens=args.max_new_tokens,
                           preprocess=args.preprocess)
    report.timings = {"load s": load_s, "warmup s": warm, **report.timings}
    print(json.dumps(report.to_json()) if args.json else report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
