"""Attribution on CPU with the toy model: speed, and the pointing game that picks the default method.

    python bench/attribution_cpu.py [--model toy] [--threads 2] speed [--repeat 5]
    python bench/attribution_cpu.py [--model toy] pointing --n 200 [--seed 2026] [--variants gradient:projector ...]

`speed` times `explain.attribution.attribute` for one explanation of a held-out toy fake: all
gradient maps (maps only, then with reliance and faithfulness), occlusion (the 24 x 24 default and
12 x 12) and Integrated Gradients; median of `--repeat` runs after one warm-up, on `--threads` CPU threads.

`pointing` explains `--n` held-out fakes of the toy world through the Detector (as an upload would
be; `--answers truth` teacher-forces the world's true answer instead) and, for every planted artifact that one phrase names (kind and region), asks whether that
phrase's map maximum lands inside the artifact's box (in original pixels, through the crop
mapping). Every variant is scored on the same explanations. A variant is
`method:layer[:key=value,...]`, e.g. `gradient:patch_embed:reduce=l2`, `occlusion:projector:grid=12`,
`ig:projector:n_steps=16`, `gradient:projector:smooth=8`.

Results go to stdout as JSON (one line per run) and a Markdown table; bench/ATTRIBUTION_RESULTS.md
records them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from _machine import cpu_model  # bench/ is on sys.path when a bench script runs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_VARIANTS = (
    "gradient:projector",
    "gradient:patch_embed",
    "occlusion:projector:grid=12",
    "occlusion:patch_embed:grid=12",
)


def machine() -> dict:
    import torch
    import transformers

    cpu = cpu_model()
    return {
        "cpu": cpu,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def parse_variant(spec: str) -> tuple[str, str, dict]:
    parts = spec.split(":")
    method, layer = parts[0], parts[1] if len(parts) > 1 else "projector"
    options: dict = {}
    if len(parts) > 2 and parts[2]:
        for kv in parts[2].split(","):
            key, value = kv.split("=")
            options[key] = int(value) if value.lstrip("-").isdigit() else value
    return method, layer, options


def variant_grids(scorer, spec: str):
    from explain.attribution import gradient_grids, ig_grids, occlusion_grids

    method, layer, options = parse_variant(spec)
    if method == "gradient":
        return gradient_grids(scorer, layer=layer, **options)
    if method == "occlusion":
        return occlusion_grids(scorer, layer=layer, **options)
    if method == "ig":
        return ig_grids(scorer, layer=layer, **options)[0]
    raise SystemExit(f"unknown method in variant '{spec}'")


def load(model: str, device: str = "cpu"):
    from explain.model import load_detector

    return load_detector(model, device=device, dtype="fp32")


def _fake(job: tuple[int, int]):
    from explain.toy import world

    seed, index = job
    sample = world.generate(seed, index, label="fake")
    return sample, png(sample.image)


def held_out_fakes(seed: int, n: int, workers: int):
    """(sample, CheckedImage) for fakes 0..n-1 of world `seed`, drawn by `workers` processes."""
    from explain.intake import check_image

    jobs = [(seed, i) for i in range(n)]
    if workers <= 1:
        for job in jobs:
            sample, data = _fake(job)
            yield sample, check_image(data)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        for sample, data in pool.imap(_fake, jobs, chunksize=2):
            yield sample, check_image(data)


def truth_explanation(detector, text: str):
    """The world's ground-truth answer as an Explanation (teacher forcing needs no generation)."""
    from explain.decoding import IncrementalDecoder
    from explain.phrases import split_phrases
    from explain.types import Explanation, Timings
    from explain.verdict import verdict_of

    ids = detector.tokenizer.encode(text, add_special_tokens=False)
    decoder = IncrementalDecoder(detector.tokenizer)
    for t in ids:
        decoder.push(t)
    decoded, ends = decoder.finish()
    return Explanation(decoded, tuple(ids), verdict_of(decoded), None, split_phrases(decoded, ends), Timings())


def held_out_fake(seed: int, index: int):
    from explain.intake import check_image
    from explain.toy import world

    sample = world.generate(seed, index, label="fake")
    return sample, check_image(png(sample.image))


# -- speed ----------------------------------------------------------------------------------------


def speed(args) -> dict:
    from explain.attribution import attribute

    detector = load(args.model)
    # the first held-out fake whose answer names two artifacts: three phrases with the verdict
    for index in range(50):
        sample, checked = held_out_fake(args.seed, index)
        explanation = detector.explain(checked)
        if len(explanation.phrases) >= 3:
            break
    runs = {
        "gradient (maps only)": dict(method="gradient", with_reliance=False, with_faithfulness=False),
        "gradient + reliance": dict(method="gradient", with_faithfulness=False),
        "gradient + reliance + faithfulness": dict(method="gradient"),
        "gradient patch_embed (maps only)": dict(
            method="gradient", layer="patch_embed", with_reliance=False, with_faithfulness=False
        ),
        "occlusion default, 24x24 (maps only)": dict(method="occlusion", with_reliance=False, with_faithfulness=False),
        "occlusion default + reliance + faithfulness": dict(method="occlusion"),
        "occlusion 12x12 (maps only)": dict(method="occlusion", grid=12, with_reliance=False, with_faithfulness=False),
        "ig 16 steps (maps only)": dict(method="ig", with_reliance=False, with_faithfulness=False),
    }
    result = {
        "kind": "speed",
        "model": detector.model_id,
        "sample": index,
        "phrases": len(explanation.phrases),
        "answer_tokens": len(explanation.token_ids),
        "text": explanation.text,
        "timings_s": {},
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for kw in runs.values():
        attribute(detector, checked, explanation, **kw)  # warm-up
    # round-robin, so that a busy spell of the machine does not land on one run only
    for _ in range(args.repeat):
        for name, kw in runs.items():
            t0 = time.perf_counter()
            attribute(detector, checked, explanation, **kw)
            times[name].append(time.perf_counter() - t0)
    for name, ts in times.items():
        result["timings_s"][name] = {"median": round(statistics.median(ts), 3), "min": round(min(ts), 3)}
        print(f"{name}: median {statistics.median(ts):.3f} s, min {min(ts):.3f} s", file=sys.stderr, flush=True)
    return result


# -- pointing game ---------------------------------------------------------------------------------


def pointing(args) -> dict:
    from explain.attribution import pointing_hit, scorer_for
    from explain.attribution.placement import grid_tuple
    from explain.toy import texts
    from explain.types import PhraseMap

    variants = args.variants or list(DEFAULT_VARIANTS)
    detector = load(args.model, args.device)
    hits = dict.fromkeys(variants, 0)
    seconds = {v: 0.0 for v in variants}
    pointed = named_none = 0
    chance = []
    t_start = time.perf_counter()
    for i, (sample, checked) in enumerate(held_out_fakes(args.seed, args.n, args.workers)):
        if args.answers == "truth":
            explanation = truth_explanation(detector, sample.explanation)
        else:
            explanation = detector.explain(checked)
        targets = []
        for a in sample.artifacts:
            k = next(
                (
                    j
                    for j, ph in enumerate(explanation.phrases)
                    if a.kind in texts.kinds_in(ph.text) and a.region in texts.regions_in(ph.text)
                ),
                None,
            )
            if k is None:
                named_none += 1
            else:
                targets.append((k, a))
        if not targets:
            continue
        scorer = scorer_for(detector, checked, explanation)
        for v in variants:
            t0 = time.perf_counter()
            grids = variant_grids(scorer, v)
            seconds[v] += time.perf_counter() - t0
            for k, a in targets:
                m = PhraseMap(k, v, grid_tuple(grids[k]), checked.crop_box)
                hits[v] += pointing_hit(m, checked, a.box)
        for _k, a in targets:
            x0, y0, x1, y1 = a.box
            cx0, cy0, cx1, cy1 = checked.crop_box_f
            inside = max(0.0, min(x1, cx1) - max(x0, cx0)) * max(0.0, min(y1, cy1) - max(y0, cy0))
            chance.append(inside / ((cx1 - cx0) * (cy1 - cy0)))
        pointed += len(targets)
        if (i + 1) % args.report_every == 0:
            line = ", ".join(f"{v} {hits[v] / max(1, pointed):.3f}" for v in variants)
            print(f"{i + 1}/{args.n} fakes, {pointed} artifacts: {line}", file=sys.stderr, flush=True)
    return {
        "kind": "pointing",
        "model": detector.model_id,
        "seed": args.seed,
        "answers": args.answers,
        "fakes": args.n,
        "artifacts_pointed": pointed,
        "artifacts_not_named": named_none,
        "chance": round(statistics.fmean(chance), 4) if chance else None,
        "pointing_game": {v: round(hits[v] / pointed, 4) if pointed else None for v in variants},
        "mean_map_s": {v: round(seconds[v] / max(1, args.n), 4) for v in variants},
        "wall_s": round(time.perf_counter() - t_start, 1),
    }


def markdown(result: dict) -> str:
    if result["kind"] == "speed":
        rows = [f"| {k} | {v['median']:.3f} | {v['min']:.3f} |" for k, v in result["timings_s"].items()]
        return "\n".join(["| run | median s | min s |", "|---|---|---|", *rows])
    rows = [
        f"| `{v}` | {p:.3f} | {result['mean_map_s'][v]:.3f} |"
        for v, p in result["pointing_game"].items()
        if p is not None
    ]
    return "\n".join(["| variant | pointing game | mean s / image |", "|---|---|---|", *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="toy")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026, help="held-out world seed (the toy trains on 0 and 1)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_speed = sub.add_parser("speed")
    p_speed.add_argument("--repeat", type=int, default=5)
    p_point = sub.add_parser("pointing")
    p_point.add_argument("--n", type=int, default=200)
    p_point.add_argument("--device", default="cpu")
    p_point.add_argument("--workers", type=int, default=1, help="processes drawing the world's images")
    p_point.add_argument("--report-every", type=int, default=10)
    p_point.add_argument(
        "--answers",
        choices=("generated", "truth"),
        default="generated",
        help="map the model's own answers (as in the app) or the world's true answers, teacher-forced",
    )
    p_point.add_argument("--variants", nargs="+", help="method:layer[:key=value,...] specs")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    result = speed(args) if args.cmd == "speed" else pointing(args)
    result["machine"] = machine()
    result["command"] = "python bench/attribution_cpu.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(json.dumps(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
