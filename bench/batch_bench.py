"""Benchmark of continuous batching (explain/decoding: BatchedBackend, BatchScheduler, BatchEngine).

    PYTHONUNBUFFERED=1 python bench/batch_bench.py --model 7b --out bench/out-batch     # a CUDA GPU
    python bench/batch_bench.py --model toy --streams 4 --tokens 64 --out /tmp/b        # CPU, proves it runs

Measures, through the project's own backends and the Detector's inputs:

- one visitor alone: decode tokens/s of the serial static engine and of the batched engine with a
  single stream (the issue's ">= 255 tokens/s" row on an H200);
- N visitors arriving together (default 8): aggregate tokens/s, each stream's decode tokens/s,
  first token after submission (p50, p95, max), for the batched backend and for today's serial
  path (the same requests on threads, which the serial engine takes one after another);
- peak GPU memory of the batched run, and of the streams with a map beside them (CUDA only);
- exactness: each stream's logits in the batch against the same stream alone in the batched engine
  and against `generate`'s scores, both fed generate's own tokens (teacher forcing: max and mean
  absolute logit difference, argmax agreement, the reference's top-2 gap where they disagree), and
  the free-running greedy tokens' first difference against the serial engine.

`--model 7b` builds FakeVLM's exact shape with random weights (bench/gpu_bench.py's `build`; bf16,
answer lengths forced); `--model toy` is the shipped toy model on the CPU. Writes OUT/batch.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._machine import cpu_model  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else None


def load(model: str, device: str):
    """(model, processor, pictures as the app checks them) for the toy model or the 7B shape."""
    import io

    from explain.intake import check_image

    if model == "7b":
        from bench.gpu_bench import build, checked_images

        m, processor, _ = build(device)
        return m, processor, checked_images
    from explain.model import load_detector
    from explain.toy.world import generate

    det = load_detector(model, device=device)
    det.model.generation_config.eos_token_id = None  # forced answer lengths, as on the GPU

    def pictures(n):
        out = []
        for i in range(n):
            buf = io.BytesIO()
            generate(31, i, label="fake" if i % 2 else "real").image.save(buf, "PNG")
            out.append(check_image(buf.getvalue()))
        return out

    return det.model, det.processor, pictures


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def one_stream(backend, model, inputs, vids, n):
    """(first token s, decode tokens/s, tokens) of one request alone."""
    stamps, toks = [], []
    sync(next(model.parameters()).device)
    t0 = time.perf_counter()
    backend.run(model, inputs, max_new_tokens=n, verdict_ids=vids, cancel=threading.Event(),
                emit=lambda t, _p: (stamps.append(time.perf_counter()), toks.append(t)))  # fmt: skip
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return stamps[0] - t0, rate, toks


def together(backend, model, inputs_list, vids, n) -> dict:
    """All requests submitted at once, each on its own thread (as the app's visitors are)."""
    results: list = [None] * len(inputs_list)
    go = threading.Barrier(len(inputs_list) + 1)

    def work(i):
        stamps, toks = [], []
        go.wait()
        t0 = time.perf_counter()
        backend.run(model, inputs_list[i], max_new_tokens=n, verdict_ids=vids, cancel=threading.Event(),
                    emit=lambda t, _p: (stamps.append(time.perf_counter()), toks.append(t)))  # fmt: skip
        results[i] = (t0, stamps, toks)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs_list))]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    firsts = [s[0] - start for start, s, _ in results]
    rates = [(len(s) - 1) / (s[-1] - s[0]) for _, s, _ in results if len(s) > 1]
    total = sum(len(toks) for _, _, toks in results)
    return {"streams": len(inputs_list), "tokens_total": total, "wall_s": round(wall, 3),
            "aggregate_tok_s": round(total / wall, 1), "per_stream_tok_s_mean": round(statistics.mean(rates), 1),
            "per_stream_tok_s_min": round(min(rates), 1), "first_token_p50_s": round(pct(firsts, 0.5), 4),
            "first_token_p95_s": round(pct(firsts, 0.95), 4), "first_token_max_s": round(max(firsts), 4),
            "tokens": [toks for _, _, toks in results]}  # fmt: skip


def map_while_streaming(backend, det, model, inputs_list, vids, n, checked, method: str, turns: bool = True) -> dict:
    """The streams of `together`, and once each has 16 tokens, one attribution map of `checked` run
    between decode steps with its turns shared (what the app's ModelWorker does): the map's latency,
    and the streams' aggregate tokens/s while it ran against before it started. turns=False: the map
    runs in one piece, as before issue 16's shared turns (the streams stand still meanwhile)."""
    from explain.attribution import attribute
    from explain.model import sharing_turns
    from explain.types import Explanation

    explanation = next(x for x in det.stream(checked, max_new_tokens=min(n, 96)) if isinstance(x, Explanation))
    stamps: list[list[float]] = [[] for _ in inputs_list]
    window: dict = {}

    def stream(i):
        backend.run(model, inputs_list[i], max_new_tokens=n, verdict_ids=vids, cancel=threading.Event(),
                    emit=lambda _t, _p: stamps[i].append(time.perf_counter()))  # fmt: skip

    def a_map():
        while min(len(s) for s in stamps) < 16:
            time.sleep(0.001)
        window["start"] = time.perf_counter()
        maps = backend.between_steps(model, attribute, det, checked, explanation, method,
                                     cancel=sharing_turns(det) if turns else None,
                                     with_faithfulness=False)  # fmt: skip
        window["end"] = time.perf_counter()
        window["phrases"] = len(maps)

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(len(inputs_list))]
    threads.append(threading.Thread(target=a_map))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t0, t1 = window["start"], window["end"]
    first = min(s[0] for s in stamps)
    during = sum(1 for s in stamps for x in s if t0 <= x <= t1)
    before = sum(1 for s in stamps for x in s if x < t0)
    return {"method": method, "turns": turns, "phrases": window["phrases"], "map_s": round(t1 - t0, 3),
            "streams_tok_s_during_map": round(during / max(t1 - t0, 1e-9), 1),
            "streams_tok_s_before_map": round(before / max(t0 - first, 1e-9), 1),
            "pumped_steps": backend.describe().get("pumped_steps", 0)}  # fmt: skip


def compare(fast, ref) -> dict:
    diff = (fast - ref).abs()
    agree = fast.argmax(-1) == ref.argmax(-1)
    top2 = ref.topk(2, dim=-1).values
    gap = top2[:, 0] - top2[:, 1]
    return {"max_abs_logit_diff": diff.max().item(), "mean_abs_logit_diff": diff.mean().item(),
            "argmax_agreement": agree.float().mean().item(), "disagreements": int((~agree).sum()),
            "ref_top2_gap_at_disagreements": [round(v, 4) for v in gap[~agree].tolist()[:10]]}  # fmt: skip


def teacher_forced(model, inputs_list, vids, n, slots) -> dict:
    """Each stream's logits in one batch and alone in the batched engine, against generate's scores,
    all fed generate's tokens."""
    import torch

    from explain.decoding import BatchScheduler

    refs = []
    with torch.inference_mode():
        for inputs in inputs_list:
            g = model.generate(**inputs, do_sample=False, max_new_tokens=n, output_scores=True,
                               return_dict_in_generate=True)  # fmt: skip
            start = inputs["input_ids"].shape[1]
            refs.append((g.sequences[0, start:].tolist(), torch.stack([s[0].float() for s in g.scores])))
    sched = BatchScheduler(model, slots=slots)
    need = max(x["input_ids"].shape[1] for x in inputs_list) + n
    eng = sched.warmup(need)

    def forced(rows_inputs):
        """Logits (T, vocab) per stream, the streams in rows 0..k-1 of one batch."""
        with torch.inference_mode():
            eng.reset()
            for r, (_, inputs) in enumerate(rows_inputs):
                eng.prefill([eng.embeddings(model, inputs)], [r], [vids])
            outs = [[eng.logits[r].float().clone()] for r in range(len(rows_inputs))]
            k = len(rows_inputs)
            for t in range(1, n):
                for r, (i, _) in enumerate(rows_inputs):
                    eng.tok[r] = refs[i][0][t - 1]
                eng.step(eng.bucket(k))
                for r in range(k):
                    outs[r].append(eng.logits[r].float().clone())
            return [torch.stack(o) for o in outs]

    pairs = list(enumerate(inputs_list))
    batched = sched.call(forced, pairs)
    alone = [sched.call(forced, [p])[0] for p in pairs]
    sched.close()
    return {"vs_generate": [compare(b, ref) for b, (_, ref) in zip(batched, refs, strict=True)],
            "vs_batch_1": [compare(b, a) for b, a in zip(batched, alone, strict=True)],
            "batch_1_vs_generate": [compare(a, ref) for a, (_, ref) in zip(alone, refs, strict=True)]}  # fmt: skip


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="toy", help="7b (random weights, CUDA), toy, or a checkpoint folder")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--skip", default="", help="comma list of: serial, exactness")
    ap.add_argument("--map", default="gradient", choices=("gradient", "occlusion", "none"),
                    help="also measure one map of this method requested while the streams run")
    ap.add_argument("--map-turns", default="shared", choices=("shared", "none"),
                    help="none: the map runs in one piece between two steps (the streams wait), for comparison")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out-batch"))
    args = ap.parse_args(argv)
    import torch
    import transformers

    from explain.decoding import BatchedBackend, StaticCacheBackend
    from explain.decoding.tokens import verdict_token_ids
    from explain.model.detector import Detector

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    skip = set(filter(None, args.skip.split(",")))
    res: dict = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                 "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]), "model": args.model,
                 "device": torch.cuda.get_device_name() if device == "cuda" else cpu_model(),
                 "torch": torch.__version__, "transformers": transformers.__version__,
                 "python": platform.python_version(), "threads": torch.get_num_threads(),
                 "streams": args.streams, "tokens": args.tokens}  # fmt: skip
    model, processor, pictures = load(args.model, device)
    det = Detector(model, processor)
    vids = tuple(verdict_token_ids(processor.tokenizer)[k] for k in ("real", "fake"))
    inputs_list = [det.prepare(c) for c in pictures(args.streams)]
    n = args.tokens

    serial = StaticCacheBackend()
    batched = BatchedBackend(slots=args.streams, fallback=serial)
    for backend in (serial, batched):
        backend.warmup(model, inputs_list[0], max_new_tokens=n)
        one_stream(backend, model, inputs_list[0], vids, 8)  # kernels, allocator, threads
    ft, rate, serial_toks = one_stream(serial, model, inputs_list[0], vids, n)
    res["alone_serial"] = {"first_token_s": round(ft, 4), "decode_tok_s": round(rate, 1)}
    ft, rate, batch_toks = one_stream(batched, model, inputs_list[0], vids, n)
    res["alone_batched"] = {"first_token_s": round(ft, 4), "decode_tok_s": round(rate, 1),
                            "tokens_equal_serial": batch_toks == serial_toks}  # fmt: skip
    log(f"alone: serial {res['alone_serial']}, batched {res['alone_batched']}")
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    res["together_batched"] = together(batched, model, inputs_list, vids, n)
    if device == "cuda":
        res["together_batched"]["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    res["batch_engine"] = {k: v for k, v in batched.describe().items() if k != "notes"}
    res["batch_engine"]["cache_gib"] = round(batched.scheduler(model).engine.cache_bytes() / 2**30, 3)
    res["notes"] = batched.describe().get("notes", [])
    log(f"together, batched: { {k: v for k, v in res['together_batched'].items() if k != 'tokens'} }")
    serial_each = [one_stream(serial, model, x, vids, n)[2] for x in inputs_list]
    res["together_batched"]["first_difference_vs_serial"] = [
        first_difference(a, b) for a, b in zip(res["together_batched"].pop("tokens"), serial_each, strict=True)]
    if args.map != "none":
        det_b = Detector(model, processor, backend=batched)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        res["map_while_streaming"] = map_while_streaming(batched, det_b, model, inputs_list, vids, n,
                                                         pictures(1)[0], args.map,
                                                         turns=args.map_turns == "shared")  # fmt: skip
        if device == "cuda":  # the "memory at 8 streams with maps" row
            res["map_while_streaming"]["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        log(f"a map while {args.streams} stream: {res['map_while_streaming']}")
    batched.close()
    if "serial" not in skip:
        res["together_serial"] = together(serial, model, inputs_list, vids, n)
        res["together_serial"].pop("tokens")
        log(f"together, serial: {res['together_serial']}")
    if "exactness" not in skip:
        res["exactness"] = teacher_forced(model, inputs_list, vids, n, args.streams)
        worst = {k: max(c["max_abs_logit_diff"] for c in v) for k, v in res["exactness"].items()}
        log(f"exactness, worst max |logit diff|: {worst}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.json").write_text(json.dumps(res, indent=2) + "\n")
    log(f"wrote {out / 'batch.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
