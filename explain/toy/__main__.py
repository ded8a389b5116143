"""`python -m explain.toy train|eval|sample`: train the toy FakeVLM, measure it, or look at its world.

python -m explain.toy train [--out assets/toy-fakevlm] [--device auto|cpu|cuda] [...]
python -m explain.toy eval --seed 2026 --n 500 [--maps gradient] [--reliance] [--json] [--model toy|PATH]
python -m explain.toy sample --seed 7 --n 8 --out /tmp/toy-samples
python -m explain.toy references [--out assets/toy-fakevlm/reliance_references]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _sample(args) -> int:
    from . import world

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        s = world.generate(args.seed, i)
        name = f"toy-{args.seed}-{i:04d}-{s.label}.png"
        s.image.save(out / name)
        record = {
            "image": name,
            "label": s.label,
            "width": s.image.width,
            "height": s.image.height,
            "crop_box": [round(v, 3) for v in s.crop_box],
            "artifacts": [{"kind": a.kind, "region": a.region, "box": list(a.box)} for a in s.artifacts],
            "explanation": s.explanation,
        }
        print(json.dumps(record))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explain.toy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    from .train import add_arguments

    p_train = sub.add_parser("train", help="train from scratch and write the checkpoint folder")
    add_arguments(p_train)

    p_eval = sub.add_parser("eval", help="score the model on fresh images through the detector path")
    p_eval.add_argument("--seed", type=int, required=True, help="world seed (not 0 or 1: those train)")
    p_eval.add_argument("--n", type=int, default=500)
    p_eval.add_argument("--maps", default=None, help="attribution method for the pointing game: gradient|occlusion|ig")
    p_eval.add_argument("--model", default="toy", help="toy (assets/toy-fakevlm) or a checkpoint folder")
    p_eval.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p_eval.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: the loader's choice)")
    p_eval.add_argument("--dtype", default=None, help="fp32, bf16 or fp16 (default: the loader's choice)")
    p_eval.add_argument(
        "--reliance", action="store_true", help="teacher-force grounded and hallucinated phrases on each fake"
    )
    p_eval.add_argument("--json", action="store_true", help="print one JSON line")
    for p in (p_train, p_eval):
        p.add_argument(
            "--world", choices=("inset", "anywhere"), default=None, help="artifact layout (world.py; default inset)"
        )

    p_sample = sub.add_parser("sample", help="write generated images and their ground truth")
    p_sample.add_argument("--seed", type=int, default=7)
    p_sample.add_argument("--n", type=int, default=8)
    p_sample.add_argument("--out", default="toy-samples")

    p_refs = sub.add_parser("references", help="write the toy model's real reference pictures for reliance")
    p_refs.add_argument("--out", default="assets/toy-fakevlm/reliance_references")

    args = parser.parse_args(argv)
    if getattr(args, "world", None):
        import os

        os.environ["SPOT_TOY_WORLD"] = args.world  # world.generate's default, inherited by workers
    if args.command == "references":
        from .probes import write_references

        for path in write_references(args.out):
            print(path)
        return 0
    if args.command == "train":
        from .train import config_from_args, train

        train(config_from_args(args))
        return 0
    if args.command == "eval":
        from .evaluate import main as eval_main

        return eval_main(args)
    return _sample(args)


if __name__ == "__main__":
    sys.exit(main())
