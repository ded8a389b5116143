"""`python -m explain.evaluate --data FAKECLUE_JSON --images DIR`: the paper's table, one command.

Reads a FakeClue-format JSON list (`image` relative to DIR, `label` 1 = real / 0 = fake, `cate`),
runs each picture through the project's detector path (intake with the chosen preprocessing,
greedy decoding, the chosen verdict rule) and reports accuracy and F1, overall and per category.
Defaults are the paper's evaluation: the substring rule, `paper` preprocessing (PIL convert("RGB")),
256 new tokens. The paper's script guesses at random when an answer says neither real nor fake;
here such an answer counts as wrong and is counted under `undecided`. F1 takes fake (0) as the
positive class; `f1_real` and `f1_macro` are given too. Pictures that cannot be read are listed
under `errors` and left out of the metrics. Intake size limits are lifted: every picture is judged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from .intake import PREPROCESSING, ImageRejected, IntakeLimits, check_image
from .model import DECODERS, ModelUnavailable, load_detector
from .verdict import RULES

LABEL_OF = {"real": 1, "fake": 0}  # FakeClue's convention


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def metrics(labels: list[int], preds: list[int | None]) -> dict:
    """Accuracy, F1 and the paper script's confusion counts; a None prediction (undecided) is wrong."""
    pairs = list(zip(labels, preds, strict=True))
    n = len(pairs)
    right_real = sum(y == 1 and p == 1 for y, p in pairs)
    right_fake = sum(y == 0 and p == 0 for y, p in pairs)
    n_real = sum(y == 1 for y, _ in pairs)
    n_fake = n - n_real
    said_real = sum(p == 1 for _, p in pairs)
    said_fake = sum(p == 0 for _, p in pairs)
    f1_fake = _f1(right_fake, said_fake - right_fake, n_fake - right_fake)
    f1_real = _f1(right_real, said_real - right_real, n_real - right_real)
    return {
        "n": n,
        "accuracy": (right_real + right_fake) / n if n else 0.0,
        "f1": f1_fake,
        "f1_real": f1_real,
        "f1_macro": (f1_fake + f1_real) / 2,
        "real_accuracy": right_real / n_real if n_real else 0.0,
        "fake_accuracy": right_fake / n_fake if n_fake else 0.0,
        "undecided": sum(p is None for _, p in pairs),
        "confusion": {"right_real": right_real, "wrong_real": n_real - right_real,
                      "right_fake": right_fake, "wrong_fake": n_fake - right_fake},
    }


def evaluate(detector, records: list[dict], images: Path, *, preprocess: str = "paper",
             max_new_tokens: int = 256, progress: bool = True) -> dict:
    from tqdm import tqdm

    t0 = time.perf_counter()
    answers, errors = [], []
    by_cate: dict[str, tuple[list[int], list[int | None]]] = defaultdict(lambda: ([], []))
    for rec in tqdm(records, desc="evaluating", unit="picture", disable=not progress, file=sys.stderr):
        path = Path(images) / rec["image"]
        try:
            data = path.read_bytes()
            limits = IntakeLimits(max_bytes=len(data) + 1, max_pixels=2**40, min_side=1, max_aspect=1e9)
            checked = check_image(data, limits, preprocess)
        except (OSError, ImageRejected) as exc:
            errors.append({"image": rec["image"], "error": str(exc)})
            continue
        explanation = detector.explain(checked, max_new_tokens=max_new_tokens)
        pred = LABEL_OF.get(explanation.verdict)
        cate = str(rec.get("cate", "unknown"))
        by_cate[cate][0].append(int(rec["label"]))
        by_cate[cate][1].append(pred)
        answers.append({"image": rec["image"], "label": int(rec["label"]), "cate": cate, "pred": pred,
                        "verdict": explanation.verdict, "p_fake": explanation.p_fake, "output": explanation.text})
    labels = [y for ys, _ in by_cate.values() for y in ys]
    preds = [p for _, ps in by_cate.values() for p in ps]
    return {
        "model": detector.model_id, "revision": detector.revision, "rule": detector.rule,
        "preprocess": preprocess, "max_new_tokens": max_new_tokens,
        "overall": metrics(labels, preds),
        "per_category": {c: metrics(ys, ps) for c, (ys, ps) in sorted(by_cate.items())},
        "errors": errors, "seconds": time.perf_counter() - t0, "records": answers,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explain.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, metavar="FAKECLUE_JSON", help="a FakeClue-format JSON list")
    p.add_argument("--images", required=True, metavar="DIR", help="the folder the records' `image` paths start in")
    p.add_argument("--model", default="auto", help="auto, toy, a Hub id (lingcco/fakeVLM) or a local folder")
    p.add_argument("--revision", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default="auto")
    p.add_argument("--decoder", default="auto", choices=DECODERS)
    p.add_argument("--rule", default="substring", choices=RULES, help="verdict rule (default: the paper's)")
    p.add_argument("--preprocess", default="paper", choices=PREPROCESSING, help="default: the paper's loader")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--limit", type=int, default=None, help="only the first N records")
    p.add_argument("--out", default=None, help="also write the full result, with every answer, to this file")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        records = json.loads(Path(args.data).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(records, list) or not all(isinstance(r, dict) and "image" in r and "label" in r
                                                for r in records):
        print(f"error: {args.data} is not a FakeClue JSON list of records with image and label", file=sys.stderr)
        return 2
    try:
        detector = load_detector(args.model, revision=args.revision, device=args.device, dtype=args.dtype,
                                 decoder=args.decoder, rule=args.rule)
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = evaluate(detector, records[: args.limit], Path(args.images), preprocess=args.preprocess,
                      max_new_tokens=args.max_new_tokens, progress=not args.no_progress)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "records"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
