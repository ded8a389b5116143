"""`python -m explain IMAGE [IMAGE ...]`: judge images from the command line.

With --json, one JSON object per line per image (or {"image", "error"} for a file that cannot be
judged); a bad file never stops the batch, and the exit status is 1 when any file failed, 2 when the
model could not be loaded. Without --json, the explanation streams as it is generated, with a
progress counter over the batch on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict

from .intake import CELL_GRIDS, GRID, PREPROCESSING, ImageRejected, IntakeLimits, check_image, load_image_bytes
from .model import DECODERS, FAKEVLM_ID, ModelUnavailable, load_detector
from .types import Explanation, TextDelta, VerdictReady
from .verdict import RULES

MAP_METHODS = ("gradient", "occlusion", "ig", "none")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explain", description="Is this image AI-generated, and why?")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to judge")
    p.add_argument(
        "--model",
        default="auto",
        help=f"auto (default: FakeVLM '{FAKEVLM_ID}' with a GPU and reachable weights, else the toy model), "
        "toy, a Hub id, or a local llava-hf folder",
    )
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of --model")
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu, ... (default: cuda when available)")
    p.add_argument("--dtype", default="auto", help="bf16, fp16, fp32 or auto (bf16 on GPU, fp32 on CPU)")
    p.add_argument("--quantization", default="none", choices=("none", "4bit", "8bit"), help="bitsandbytes, GPU only")
    p.add_argument(
        "--decoder",
        default=os.environ.get("SPOT_DECODER", "auto"),
        choices=DECODERS,
        help="greedy decoding path: auto (static KV cache + CUDA graphs on GPU, else generate), generate, static",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per image")
    p.add_argument("--maps", default="none", choices=MAP_METHODS, help="attribution maps per phrase")
    p.add_argument(
        "--occlusion-grid",
        type=int,
        default=GRID,
        choices=CELL_GRIDS,
        help="cells a side of occlusion maps (24: 576 rescorings; 12: 4x faster, coarser)",
    )
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--prompt", default=None, help="override the paper's prompt (must contain <image>)")
    p.add_argument(
        "--rule",
        default=os.environ.get("SPOT_RULE", "word"),
        choices=RULES,
        help="verdict rule: word (whole words, the default) or substring (the paper's) [env SPOT_RULE]",
    )
    p.add_argument(
        "--preprocess",
        default=os.environ.get("SPOT_PREPROCESS", "default"),
        choices=PREPROCESSING,
        help="default (EXIF rotation applied, alpha on grey) or paper (FakeVLM's loader: PIL convert('RGB'), "
        "no rotation, alpha dropped) [env SPOT_PREPROCESS]",
    )
    p.add_argument("--no-provenance", action="store_true", help="skip reading file metadata")
    p.add_argument("--max-upload-mb", type=float, default=None, help="refuse files larger than this")
    return p


def _provenance(data: bytes) -> dict | None:
    try:
        from .provenance import read_provenance
    except ImportError:  # provenance readers are optional extras of the CLI
        return None
    return read_provenance(data).to_json()


def _print_evidence(prov: dict | None, out) -> None:
    for f in (prov or {}).get("findings", []):
        print(f"  evidence: {f['title']} ({f['strength']}, points to {f['points_to']})", file=out)


def _maps(detector, checked, explanation: Explanation, method: str, grid: int) -> list[dict]:
    from .attribution import attribute, maps_to_json

    return maps_to_json(attribute(detector, checked, explanation, method=method, grid=grid))


def judge(detector, path: str, args, limits: IntakeLimits, out) -> bool:
    """Judge one file; print its result. Returns False when the file could not be judged."""
    data = None
    try:
        data = load_image_bytes(path, limits)
        checked = check_image(data, limits, args.preprocess)
    except ImageRejected as exc:
        # The model cannot judge it, but its metadata was read all the same: keep that evidence.
        prov = _provenance(data) if data and not args.no_provenance else None
        if args.json:
            record = {"image": path, "error": str(exc), "code": exc.code}
            if prov is not None:
                record["provenance"] = prov
            print(json.dumps(record), file=out, flush=True)
        else:
            print(f"{path}: cannot judge: {exc}", file=out, flush=True)
            _print_evidence(prov, out)
        return False
    explanation = None
    if not args.json:
        print(f"{path}:", file=out, flush=True)
    for item in detector.stream(checked, max_new_tokens=args.max_new_tokens, prompt=args.prompt):
        if isinstance(item, TextDelta) and not args.json:
            print(item.text, end="", file=out, flush=True)
        elif isinstance(item, VerdictReady) and not args.json:
            pass  # the verdict line is printed after the explanation, with p_fake
        elif isinstance(item, Explanation):
            explanation = item
    record = {
        "image": path,
        "sha256": checked.sha256,
        "format": checked.format,
        "width": checked.width,
        "height": checked.height,
        "verdict": explanation.verdict,
        "rule": explanation.rule,
        "preprocess": checked.preprocess,
        "p_fake": explanation.p_fake,
        "text": explanation.text,
        "phrases": [asdict(ph) for ph in explanation.phrases],
        "crop_box": list(checked.crop_box),
        "notes": list(checked.notes),
        "model": detector.model_id,
        "timings": asdict(explanation.timings),
    }
    if not args.no_provenance:
        record["provenance"] = _provenance(data)
    if args.maps != "none":
        record["maps"] = _maps(detector, checked, explanation, args.maps, args.occlusion_grid)
    if args.json:
        print(json.dumps(record), file=out, flush=True)
    else:
        p = f" (p_fake {explanation.p_fake:.3f})" if explanation.p_fake is not None else ""
        print(f"\n  verdict: {explanation.verdict}{p}", file=out)
        for note in checked.notes:
            print(f"  note: {note}", file=out)
        _print_evidence(record.get("provenance"), out)
        print(
            f"  {explanation.timings.new_tokens} tokens, first after {explanation.timings.first_token_s * 1000:.0f} ms, "
            f"{explanation.timings.tokens_per_s:.1f} tokens/s",
            file=out,
            flush=True,
        )
    return True


def main(argv: list[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    limits = IntakeLimits.from_env()
    if args.max_upload_mb:
        limits = IntakeLimits(
            max_bytes=int(args.max_upload_mb * 1024 * 1024),
            max_pixels=limits.max_pixels,
            min_side=limits.min_side,
            max_aspect=limits.max_aspect,
        )
    try:
        detector = load_detector(
            args.model,
            revision=args.revision,
            device=args.device,
            dtype=args.dtype,
            quantization=args.quantization,
            decoder=args.decoder,
            rule=args.rule,
        )
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if detector.notice:
        print(f"note: {detector.notice}", file=sys.stderr)
    failed = 0
    total = len(args.images)
    for i, path in enumerate(args.images, 1):
        if not args.json and total > 1:
            print(f"[{i}/{total}] ", end="", file=sys.stderr, flush=True)
        if not judge(detector, path, args, limits, out):
            failed += 1
    if failed and not args.json:
        print(f"{failed} of {total} files could not be judged.", file=sys.stderr)
    return 1 if failed else 0
