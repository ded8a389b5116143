"""GPU benchmark of the real 7B path: FakeVLM's exact shape with random weights, on one GPU.

    PYTHONUNBUFFERED=1 python bench/gpu_bench.py --out bench/out

Builds LlavaForConditionalGeneration from assets/reference/llava-1.5-7b-config.json with random
weights (no download), forces answer lengths (no end-of-sequence token), and measures through the
project's own code (Detector, its backends, explain.attribution):

- memory bandwidth of the GPU (device-to-device copy) and the decode floor it implies;
- warm-up before the first fast answer (in this process, and in a fresh process reusing the
  compiled kernels from disk);
- time to first token after the image arrives (check_image + Detector.stream), decode tokens/s over
  256 forced tokens at batch 1, for plain generate and each fast plan, and where their greedy
  tokens first differ;
- all gradient maps for the 10 phrases of a 128-token answer, a 12 x 12 occlusion run and the
  default (24 x 24) one;
- peak GPU memory for generation plus gradient maps; the same in 4-bit where bitsandbytes runs;
- throughput with 4 concurrent requests.

Prints a summary table last and writes everything to OUT/bench.json. bench/RESULTS.md holds the
recorded numbers. Needs a CUDA GPU with about 20 GiB free; it is never run in CI.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GiB = 1024**3
TOKENS = 256
ANSWER_TOKENS = 128
PHRASES = 10
SWEEP_CONFIGS = [
    (2, 1024, 4, 3),
    (2, 512, 2, 4),
    (4, 256, 2, 4),
    (4, 512, 4, 3),
    (4, 512, 4, 4),
    (4, 1024, 4, 3),
    (4, 512, 8, 3),
    (8, 256, 4, 3),
    (8, 512, 4, 4),
]
_SENTENCES = [
    "This is a fake image.",
    "The skin looks overly smooth.",
    "The lighting is inconsistent.",
    "The text on the sign is warped.",
    "The background repeats in a pattern.",
    "Colour banding appears in the sky.",
    "The edges of the object are blurred.",
    "The upper left region shows a checkerboard.",
    "Fine details such as hair look painted.",
]
_FILLER = "the shadows, reflections and textures are not consistent with a photograph of the real scene"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


# --- building blocks ------------------------------------------------------------------------------


def build(device: str = "cuda"):
    """The 7B-shape model and a processor made by the project's loader from the reference configs."""
    import torch

    from explain.model import load_processor
    from tests.factories.checkpoints import PREPROCESSOR_CONFIG, build_7b_shape_model

    t0 = time.perf_counter()
    torch.manual_seed(0)
    model, tokenizer = build_7b_shape_model(device=device, dtype=torch.bfloat16)
    # the reference config's text_config says float16, and transformers builds the language model
    # in it whatever the default dtype: the model must be bf16 throughout, as FakeVLM is
    mixed = sorted({str(p.dtype) for p in model.parameters()})
    if len(mixed) > 1:
        log(f"build_7b_shape_model gave mixed dtypes {mixed}: casting to bfloat16")
        model = model.to(torch.bfloat16)
    torch.cuda.synchronize()
    build_s = time.perf_counter() - t0
    folder = Path(tempfile.mkdtemp(prefix="spot-7b-proc-"))
    tokenizer.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(PREPROCESSOR_CONFIG.read_text())
    processor = load_processor(folder)
    model.generation_config.eos_token_id = None  # forced answer lengths: decoding never stops early
    return model, processor, build_s


def sample_image(seed: int, w: int = 1024, h: int = 768) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    # smooth noise: a photo-like JPEG, not incompressible static
    small = rng.integers(0, 255, (h // 16, w // 16, 3), dtype="uint8")
    img = Image.fromarray(small).resize((w, h), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def checked_images(n: int):
    from explain.intake import check_image

    return [check_image(sample_image(i)) for i in range(n)]


def forced_explanation(detector, n_tokens: int = ANSWER_TOKENS):
    """A FakeVLM-like answer of exactly n_tokens tokens: 9 short sentences and a long tenth."""
    from explain.decoding import IncrementalDecoder
    from explain.model.detector import PROMPT
    from explain.phrases import split_phrases
    from explain.types import Explanation, Timings

    tok = detector.tokenizer
    text = " ".join(_SENTENCES) + " The"
    while len(tok.encode(text, add_special_tokens=False)) < n_tokens:
        text += " " + _FILLER
    ids = tok.encode(text, add_special_tokens=False)[:n_tokens]
    dec = IncrementalDecoder(tok)
    for i in ids:
        dec.push(i)
    final, ends = dec.finish()
    fake = detector.verdict_ids["fake"]
    return Explanation(
        text=final,
        token_ids=tuple(ids),
        verdict="fake",
        p_fake=0.9,
        phrases=split_phrases(final, ends),
        timings=Timings(),
        verdict_token_index=ids.index(fake) if fake in ids else None,
        prompt=PROMPT,
        model_id="llava-1.5-7b-shape-random",
    )


def timed_run(backend, model, inputs, vids, n: int):
    """backend.run with a timestamp per emitted token: (ttft_s, decode tokens/s, token ids)."""
    import torch

    stamps: list[float] = []
    toks: list[int] = []

    def emit(t, _pair):
        stamps.append(time.perf_counter())
        toks.append(t)

    torch.cuda.synchronize()
    t0 = time.perf_counter()
    backend.run(model, inputs, max_new_tokens=n, verdict_ids=vids, cancel=threading.Event(), emit=emit)
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return stamps[0] - t0, rate, toks


def teacher_forced(backend, model, inputs, vids, n: int) -> dict:
    """Logits of the fast path against plain generate's scores at every step, the fast path fed
    generate's own tokens (so one early near-tie does not decide the whole comparison)."""
    import torch

    with torch.inference_mode():
        g = model.generate(
            **inputs, do_sample=False, max_new_tokens=n, output_scores=True, return_dict_in_generate=True
        )
    start = inputs["input_ids"].shape[1]
    ref_toks = g.sequences[0, start:].tolist()
    ref = torch.stack([sc[0].float() for sc in g.scores])
    backend.warmup(model, inputs, max_new_tokens=n)
    eng = next(reversed(backend._engines.values()))
    with backend._lock, torch.inference_mode():
        eng.vids.copy_(torch.tensor(vids))
        eng.prefill(model, inputs)
        outs = [eng.logits.float().clone()]
        for t in range(1, len(ref_toks)):
            eng.tok.fill_(ref_toks[t - 1])
            eng.step()
            outs.append(eng.logits.float().clone())
    fast = torch.stack(outs)
    diff = (fast - ref).abs()
    agree = fast.argmax(-1) == ref.argmax(-1)
    top2 = ref.topk(2, dim=-1).values
    gap = top2[:, 0] - top2[:, 1]
    return {
        "steps": len(ref_toks),
        "max_abs_logit_diff": diff.max().item(),
        "mean_abs_logit_diff": diff.mean().item(),
        "first_step_max_abs_diff": diff[0].max().item(),
        "mean_abs_logit": ref.abs().mean().item(),
        "argmax_agreement": agree.float().mean().item(),
        "disagreements": int((~agree).sum()),
        "ref_top2_gap_median": gap.median().item(),
        "ref_top2_gap_at_disagreements": [round(v, 4) for v in gap[~agree].tolist()[:10]],
    }


def first_difference(a, b) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def gpu_mem():
    import torch

    return {
        "allocated_gib": torch.cuda.memory_allocated() / GiB,
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / GiB,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / GiB,
    }


# --- sections -------------------------------------------------------------------------------------


def environment(argv) -> dict:
    import torch
    import transformers

    env = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python", "bench/gpu_bench.py", *argv]),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0),
        "sms": torch.cuda.get_device_properties(0).multi_processor_count,
        "gpu_memory_gib": torch.cuda.get_device_properties(0).total_memory / GiB,
    }
    for name in ("triton", "captum", "bitsandbytes"):
        try:
            env[name] = __import__(name).__version__
        except Exception as exc:
            env[name] = f"missing ({type(exc).__name__})"
    try:
        env["driver"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
        ).stdout.strip()
    except Exception:
        pass
    return env


def bandwidth() -> dict:
    """Device-to-device copy of 2 GiB, counting bytes read plus written (as the floor counts)."""
    import torch

    n = 2 * GiB // 2
    a = torch.empty(n, dtype=torch.bfloat16, device="cuda").normal_()
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    reps = 20
    for _ in range(reps):
        b.copy_(a)
    end.record()
    torch.cuda.synchronize()
    s = start.elapsed_time(end) / 1000 / reps
    del a, b
    torch.cuda.empty_cache()
    return {"copy_tb_s": 2 * 2 * GiB / s / 1e12}


def gemv_sweep() -> dict:
    """Each matrix-vector shape of a decode step: cuBLAS (F.linear) against the triton kernel's
    block configurations; weights rotated over 4 copies so that L2 does not serve them."""
    import torch
    import torch.nn.functional as F

    from explain.decoding import kernels as tk

    shapes = {"qkv": (12288, 4096), "o": (4096, 4096), "gate_up": (22016, 4096), "down": (4096, 11008),
              "lm_head": (32000, 4096)}  # fmt: skip
    out = {}
    for name, (n, k) in shapes.items():
        ws = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(4)]
        x = torch.randn(k, device="cuda", dtype=torch.bfloat16)
        y = torch.empty(n, device="cuda", dtype=torch.bfloat16)
        nbytes = n * k * 2

        def bench(fn, reps=40, ws=ws):
            for i in range(4):
                fn(ws[i])
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for i in range(reps):
                fn(ws[i % 4])
            e.record()
            torch.cuda.synchronize()
            return s.elapsed_time(e) / reps / 1000

        row = {"cublas_us": bench(lambda w, x=x: F.linear(x.view(1, -1), w)) * 1e6}
        ref = F.linear(x.view(1, -1).float(), ws[0].float()).view(-1)
        best = None
        for cfg in SWEEP_CONFIGS:
            tk.GEMV_CONFIGS[f"{n}x{k}"] = cfg
            try:
                tk.norm_gemv(x, None, 0.0, ws[0], y)
                err = ((y.float() - ref).norm() / ref.norm()).item()
                t = bench(lambda w, x=x, y=y: tk.norm_gemv(x, None, 0.0, w, y))
            except Exception as exc:
                row[str(cfg)] = f"failed: {type(exc).__name__}"
                continue
            row[str(cfg)] = {"us": t * 1e6, "rel_err": err}
            if err < 1e-2 and (best is None or t < best[1]):
                best = (cfg, t)
        tk.GEMV_CONFIGS.pop(f"{n}x{k}", None)
        row["cublas_tb_s"] = nbytes / (row["cublas_us"] / 1e6) / 1e12
        if best:
            row["best"] = list(best[0])
            row["best_us"] = best[1] * 1e6
            row["best_tb_s"] = nbytes / best[1] / 1e12
        out[f"{name} {n}x{k}"] = row
        log(f"gemv {name}: cublas {row['cublas_us']:.1f} us ({row['cublas_tb_s']:.2f} TB/s); "
            f"triton best {row.get('best')} {row.get('best_us', float('nan')):.1f} us "
            f"({row.get('best_tb_s', float('nan')):.2f} TB/s)")  # fmt: skip
    torch.cuda.empty_cache()
    return out


def apply_gemv_configs(configs: dict) -> None:
    if not configs:
        return
    from explain.decoding import kernels as tk

    for key, cfg in configs.items():
        tk.GEMV_CONFIGS[key] = tuple(cfg)


def graph_step_rate(backend) -> float | None:
    """Tokens/s of the captured decode step alone (replays timed by events, no host loop)."""
    import torch

    eng = next(reversed(backend._engines.values()), None)
    if eng is None or eng.graph is None:
        return None
    with torch.inference_mode():
        eng.pos.fill_(max(0, eng.max_len - 120))  # room for the replays below inside the cache
        for _ in range(5):
            eng.graph.replay()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        reps = 100
        for _ in range(reps):
            eng.graph.replay()
        e.record()
        torch.cuda.synchronize()
    # the replays ran past the prefilled position into stale cache: only the timing is kept
    return reps / (s.elapsed_time(e) / 1000)


def kernel_profile(backend, steps: int = 4) -> dict:
    """GPU time per decode step by kernel name (eager steps under torch.profiler), top 10, in us."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    eng = next(reversed(backend._engines.values()))
    with torch.inference_mode():
        eng.pos.fill_(700)
        eng._step()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(steps):
                eng._step()
            torch.cuda.synchronize()
    rows = []
    total = 0.0
    for ev in prof.key_averages():
        t = getattr(ev, "device_time_total", None) or getattr(ev, "cuda_time_total", 0.0)
        if t and ev.key and not ev.key.startswith(("ProfilerStep", "cudaGraph")):
            rows.append((t / steps, ev.count // steps, ev.key[:60]))
            total += t / steps
    rows.sort(reverse=True)
    return {"kernel_us_per_step": round(total, 1), "top": [(round(t, 1), n, k) for t, n, k in rows[:10]]}


def ttft_probe(model, processor, images, vids, backend) -> dict:
    """Where the time to first token goes: the backend alone in the calling thread, in a new thread
    per request (as Detector.stream does), in one long-lived thread; then Detector.stream with the
    backend's marks, and with the backend's own dedicated thread."""
    from concurrent.futures import ThreadPoolExecutor

    from explain.decoding import StaticCacheBackend
    from explain.model.detector import Detector

    det = Detector(model, processor, backend=backend)
    inputs = det.prepare(images[0])

    def once():
        return timed_run(backend, model, inputs, vids, 4)[0]

    def in_new_thread():
        box: list = []
        th = threading.Thread(target=lambda: box.append(once()))
        th.start()
        th.join()
        return box[0]

    pool = ThreadPoolExecutor(1)
    out = {
        "backend_main_thread_s": median([once() for _ in range(5)]),
        "backend_new_thread_s": median([in_new_thread() for _ in range(5)]),
        "backend_persistent_thread_s": median([pool.submit(once).result() for _ in range(5)]),
    }
    pool.shutdown()
    marks = []
    for i in range(5):
        t_call = time.perf_counter()
        e = det.explain(images[i % len(images)], max_new_tokens=4)
        tr = dict(backend.last_trace)
        marks.append(
            {
                "first_token_s": e.timings.first_token_s,
                "preprocess_s": e.timings.preprocess_s,
                "until_backend_start_s": tr["start"] - t_call,
                "embeddings_cpu_s": tr.get("embeddings_queued", tr["engine"]) - tr["engine"],
                "prefill_cpu_s": tr["prefill_queued"] - tr.get("embeddings_queued", tr["engine"]),
                "until_token0_s": tr["first_token"] - tr["prefill_queued"],
                "backend_total_s": tr["first_token"] - tr["start"],
            }
        )
    out["stream_marks_median"] = {k: median([m[k] for m in marks]) for k in marks[0]}
    dedicated = StaticCacheBackend(dedicated_thread=True)
    d2 = Detector(model, processor, backend=dedicated)
    dedicated.warmup(model, inputs, max_new_tokens=TOKENS)
    d2.explain(images[0], max_new_tokens=4)
    out["stream_dedicated_thread_ttft_s"] = median(
        [d2.explain(images[i % len(images)], max_new_tokens=4).timings.first_token_s for i in range(5)]
    )
    return out


def decode_section(model, processor, images, res: dict) -> dict:
    """Warm-up, TTFT and tokens/s per backend, and greedy agreement with plain generate."""
    import torch

    from explain.decoding import GenerateBackend, StaticCacheBackend
    from explain.intake import check_image
    from explain.model.detector import Detector

    out: dict = {}
    det = Detector(model, processor, backend=GenerateBackend())
    vids = (det.verdict_ids["real"], det.verdict_ids["fake"])
    inputs = [det.prepare(c) for c in images]

    intake = []
    raw = sample_image(0)
    for _ in range(5):
        t0 = time.perf_counter()
        check_image(raw)
        intake.append(time.perf_counter() - t0)
    out["check_image_s"] = median(intake)
    out["image_processor"] = type(processor.image_processor).__name__
    prep = []
    for _ in range(5):
        t0 = time.perf_counter()
        det.prepare(images[0])
        torch.cuda.synchronize()
        prep.append(time.perf_counter() - t0)
    out["prepare_s"] = median(prep)
    log(f"check_image {out['check_image_s']:.4f} s; prepare ({out['image_processor']}) {out['prepare_s']:.4f} s")

    backends = {"generate": GenerateBackend()}
    for plan in ("triton", "torch", "triton-hfprefill"):
        be = (
            StaticCacheBackend(plan="triton", prefill="hf")
            if plan == "triton-hfprefill"
            else StaticCacheBackend(plan=plan)
        )
        t0 = time.perf_counter()
        be.warmup(model, inputs[0], max_new_tokens=TOKENS)
        torch.cuda.synchronize()
        out[f"warmup_{plan}_s"] = time.perf_counter() - t0
        out[f"describe_{plan}"] = be.describe()
        log(f"warm-up {plan}: {out[f'warmup_{plan}_s']:.2f} s {be.describe()}")
        backends[f"static-{plan}"] = be

    for plan in ("triton", "torch"):  # noqa: B007
        try:
            out[f"kernels_{plan}"] = kernel_profile(backends[f"static-{plan}"])
            log(f"kernels {plan}: {out[f'kernels_{plan}']}")
        except Exception as exc:
            out[f"kernels_{plan}"] = {"error": repr(exc)[:300]}

    tokens: dict = {}
    for name, be in backends.items():
        d = Detector(model, processor, backend=be)
        d.explain(images[0], max_new_tokens=8)  # first-call costs (cuDNN/cuBLAS handles) out of the numbers
        timings = [d.explain(images[i % len(images)], max_new_tokens=8).timings for i in range(5)]
        row = {
            "ttft_stream_s": median([t.first_token_s for t in timings]),
            "preprocess_s": median([t.preprocess_s for t in timings]),
        }
        if name == "static-triton-hfprefill":
            out[name] = row
            log(f"{name}: {json.dumps(row)}")
            continue
        rates, raw_ttft = [], []
        tokens[name] = []
        for inp in inputs[:2]:
            t, r, toks = timed_run(be, model, inp, vids, TOKENS)
            raw_ttft.append(t)
            rates.append(r)
            tokens[name].append(toks)
        row["ttft_backend_s"] = median(raw_ttft)
        row["decode_tok_s"] = median(rates)
        row["decode_tok_s_all"] = rates
        e = d.explain(images[0], max_new_tokens=TOKENS if name != "generate" else 64)
        row["stream_tok_s"] = e.timings.tokens_per_s
        if name != "generate":
            row["graph_step_tok_s"] = graph_step_rate(be)
            try:
                row["teacher_forced_vs_generate"] = teacher_forced(be, model, inputs[0], vids, TOKENS)
            except Exception as exc:
                row["teacher_forced_vs_generate"] = {"error": repr(exc)[:300]}
            row["first_diff_vs_generate"] = [
                first_difference(a, b) for a, b in zip(tokens["generate"], tokens[name], strict=True)
            ]
        out[name] = row
        log(f"{name}: {json.dumps(row)}")
    try:
        out["ttft_probe"] = ttft_probe(model, processor, images, vids, backends["static-triton"])
    except Exception:
        out["ttft_probe"] = {"error": traceback.format_exc()[-1500:]}
    log(f"ttft probe: {out['ttft_probe']}")
    res["decode"] = out
    return backends


def attribution_section(detector, checked, res: dict, key: str = "attribution", only: tuple = ()) -> None:
    import torch

    try:
        from explain.attribution import attribute
    except Exception as exc:
        res[key] = {"error": f"explain.attribution.attribute unavailable: {exc}"}
        return
    expl = forced_explanation(detector)
    out = {"answer_tokens": len(expl.token_ids), "phrases": len(expl.phrases)}
    # gradient: the default shared forward (batch_size phrases a vmapped backward; 1 = a backward
    # per phrase) and Captum's replicated input for comparison
    runs = [
        ("gradient_b16", dict(method="gradient", batch_size=16), 3),
        ("gradient_b1", dict(method="gradient", batch_size=1), 3),
        ("gradient_replicated_b4", dict(method="gradient", batch_size=4, gradient_strategy="replicated"), 1),
        ("occlusion12_b16", dict(method="occlusion", grid=12, batch_size=16), 1),
        ("occlusion12_b32", dict(method="occlusion", grid=12, batch_size=32), 1),
        ("occlusion24_default_b32", dict(method="occlusion", batch_size=32), 1),
    ]
    for name, kw, reps in runs:
        if only and name not in only:
            continue
        try:
            attribute(detector, checked, expl, with_reliance=False, with_faithfulness=False, **kw)  # warm
            times, peaks = [], []
            for _ in range(reps):
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                maps = attribute(detector, checked, expl, with_reliance=False, with_faithfulness=False, **kw)
                torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
                peaks.append(torch.cuda.max_memory_allocated() / GiB)
            out[name] = {"s": median(times), "peak_gib": max(peaks), "maps": len(maps)}
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
            torch.cuda.empty_cache()
        log(f"{key} {name}: {out[name]}")
    try:  # what the app runs by default: maps + reliance + faithfulness curves
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        attribute(detector, checked, expl, method="gradient")
        torch.cuda.synchronize()
        out["gradient_full_default"] = {
            "s": time.perf_counter() - t0,
            "peak_gib": torch.cuda.max_memory_allocated() / GiB,
        }
    except Exception as exc:
        out["gradient_full_default"] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
    log(f"{key} full default: {out['gradient_full_default']}")
    res[key] = out


def peak_memory_section(detector, checked, res: dict, key: str = "peak_memory") -> None:
    """Peak for one request as the app serves it: a 256-token answer, then its gradient maps."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    weights = torch.cuda.memory_allocated() / GiB
    torch.cuda.reset_peak_memory_stats()
    e = detector.explain(checked, max_new_tokens=TOKENS)
    gen_peak = torch.cuda.max_memory_allocated() / GiB
    try:
        from explain.attribution import attribute

        attribute(detector, checked, forced_explanation(detector), method="gradient",
                  with_reliance=False, with_faithfulness=False)  # fmt: skip
        err = None
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"[:300]
    torch.cuda.synchronize()
    res[key] = {
        "resident_before_gib": weights,
        "generation_peak_gib": gen_peak,
        "generation_plus_maps_peak_gib": torch.cuda.max_memory_allocated() / GiB,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / GiB,
        "tokens": len(e.token_ids),
        "error": err,
    }
    log(f"{key}: {res[key]}")


def concurrency_section(detector, images, res: dict, key: str = "concurrency") -> None:
    results: list = [None] * 4
    errors: list = []

    def work(i):
        try:
            t0 = time.perf_counter()
            e = detector.explain(images[i % len(images)], max_new_tokens=TOKENS)
            results[i] = (time.perf_counter() - t0, len(e.token_ids))
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    done = [r for r in results if r]
    res[key] = {
        "requests": 4,
        "wall_s": wall,
        "tokens_total": sum(n for _, n in done),
        "throughput_tok_s": sum(n for _, n in done) / wall,
        "latency_s": sorted(round(t, 3) for t, _ in done),
        "errors": errors,
    }
    log(f"{key}: {res[key]}")


def fresh_process_warmup(res: dict, gemv_configs: dict) -> None:
    """A new Python process: import, build, warm-up, first answer (compiled kernels come from the
    on-disk cache the first process filled)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--fresh-warmup", "--gemv-configs", json.dumps(gemv_configs)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("{")), None)
    res["fresh_process"] = json.loads(line) if line else {"error": (p.stderr or p.stdout)[-1500:]}
    res["fresh_process"]["process_wall_s"] = wall
    log(f"fresh process: {res['fresh_process']}")


def fresh_warmup_main(gemv_configs: dict) -> None:
    t_start = time.perf_counter()
    import torch

    from explain.decoding import StaticCacheBackend
    from explain.model.detector import Detector

    apply_gemv_configs(gemv_configs)
    t_import = time.perf_counter() - t_start
    model, processor, build_s = build()
    checked = checked_images(1)[0]
    be = StaticCacheBackend()
    det = Detector(model, processor, backend=be)
    t0 = time.perf_counter()
    be.warmup(model, det.prepare(checked), max_new_tokens=TOKENS)
    torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    t1 = time.perf_counter()
    e = det.explain(checked, max_new_tokens=16)
    first = time.perf_counter() - t1
    # the app's whole request in a process holding one backend, as a Space does: a 256-token answer
    # (warm-up included in the peak), then the default gradient maps of a 128-token answer
    from explain.attribution import attribute

    det.explain(checked, max_new_tokens=TOKENS)
    gen_peak = torch.cuda.max_memory_allocated() / GiB
    attribute(det, checked, forced_explanation(det), method="gradient", with_reliance=False, with_faithfulness=False)
    torch.cuda.synchronize()
    print(json.dumps({"import_s": t_import, "model_build_s": build_s, "warmup_s": warm, "first_answer_16tok_s": first,
                      "first_answer_ttft_s": e.timings.first_token_s, "describe": be.describe(),
                      "one_backend_generation_peak_gib": gen_peak,
                      "one_backend_generation_plus_maps_peak_gib": torch.cuda.max_memory_allocated() / GiB}))  # fmt: skip


def quantize_4bit_in_place(model) -> int:
    """Every nn.Linear but the LM head -> bitsandbytes NF4 (bf16 compute), as the loader's
    BitsAndBytesConfig(load_in_4bit, nf4, bf16) does at load time. Returns the count."""
    import bitsandbytes as bnb
    import torch
    from torch import nn

    head = model.get_output_embeddings()
    count = 0
    for _name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is not nn.Linear or child is head:
                continue
            q = bnb.nn.Linear4bit(
                child.in_features, child.out_features, bias=child.bias is not None,
                compute_dtype=torch.bfloat16, compress_statistics=False, quant_type="nf4", device="meta",
            )  # fmt: skip
            q.weight = bnb.nn.Params4bit(child.weight.data, requires_grad=False, quant_type="nf4",
                                         compress_statistics=False)  # fmt: skip
            if child.bias is not None:
                q.bias = nn.Parameter(child.bias.data, requires_grad=False)
            q = q.to("cuda")
            setattr(parent, child_name, q)
            count += 1
    torch.cuda.empty_cache()
    return count


def four_bit_section(model, processor, images, res: dict) -> None:
    import torch

    from explain.decoding import GenerateBackend, StaticCacheBackend
    from explain.model.detector import Detector

    out: dict = {}
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:
        res["4bit"] = {"error": f"bitsandbytes unavailable: {exc}"}
        return
    import gc

    gc.collect()
    torch.cuda.empty_cache()
    out["resident_before_gib"] = torch.cuda.memory_allocated() / GiB
    t0 = time.perf_counter()
    out["quantized_linears"] = quantize_4bit_in_place(model)
    out["quantize_s"] = time.perf_counter() - t0
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    out["resident_gib"] = torch.cuda.memory_allocated() / GiB
    out["param_gib"] = sum(p.numel() * p.element_size() for p in model.parameters()) / GiB
    q = model.model.language_model.layers[0].self_attn.q_proj
    out["q_proj"] = f"{type(q).__name__} {q.weight.dtype} {tuple(q.weight.shape)}"
    be = StaticCacheBackend()
    t0 = time.perf_counter()
    det = Detector(model, processor, backend=be)
    inputs = det.prepare(images[0])
    be.warmup(model, inputs, max_new_tokens=TOKENS)
    out["warmup_s"] = time.perf_counter() - t0
    out["describe"] = be.describe()
    vids = (det.verdict_ids["real"], det.verdict_ids["fake"])
    det.explain(images[0], max_new_tokens=8)
    out["ttft_stream_s"] = median([det.explain(images[0], max_new_tokens=8).timings.first_token_s for _ in range(3)])
    _, rate, toks = timed_run(be, model, inputs, vids, TOKENS)
    out["decode_tok_s"] = rate
    gen = GenerateBackend()
    _, grate, gtoks = timed_run(gen, model, inputs, vids, 64)
    out["generate_decode_tok_s_64"] = grate
    out["first_diff_vs_generate_64"] = first_difference(gtoks, toks[:64])
    log(f"4bit decode: {out}")
    res["4bit"] = out
    peak_memory_section(det, images[0], res, key="4bit_peak_memory")
    attribution_section(det, images[0], res, key="4bit_attribution", only=("gradient_b16", "gradient_b1", "occlusion12_b16"))


# --- summary --------------------------------------------------------------------------------------


def summary(res: dict) -> str:
    def g(path, fmt="{:.3g}"):
        cur = res
        for p in path.split("/"):
            if not isinstance(cur, dict) or p not in cur:
                return "n/a"
            cur = cur[p]
        if isinstance(cur, (int, float)):
            return fmt.format(cur)
        return str(cur)

    bw = res.get("bandwidth", {}).get("copy_tb_s")
    wbytes = res.get("model", {}).get("param_bytes")
    floor = bw * 1e12 / wbytes if bw and wbytes else None
    lines = [
        f"device {g('env/device')} | torch {g('env/torch')} | transformers {g('env/transformers')} | {g('env/date_utc')}",
        f"copy bandwidth {g('bandwidth/copy_tb_s')} TB/s; weights {wbytes / 1e9 if wbytes else float('nan'):.2f} GB; "
        f"floor {floor or float('nan'):.0f} tok/s; 75% = {0.75 * floor if floor else float('nan'):.0f} tok/s",
        "| metric | generate | static-torch | static-triton |",
        "| --- | --- | --- | --- |",
    ]
    for m in (
        "preprocess_s",
        "decode_tok_s",
        "graph_step_tok_s",
        "stream_tok_s",
        "ttft_stream_s",
        "ttft_backend_s",
        "first_diff_vs_generate",
    ):
        lines.append(
            f"| {m} | {g('decode/generate/' + m)} | {g('decode/static-torch/' + m)} | {g('decode/static-triton/' + m)} |"
        )
    lines += [
        f"warm-up: triton {g('decode/warmup_triton_s')} s, torch {g('decode/warmup_torch_s')} s; "
        f"fresh process {g('fresh_process/warmup_s')} s",
        f"check_image {g('decode/check_image_s')} s; prepare {g('decode/prepare_s')} s ({g('decode/image_processor')})",
        f"static-triton with hf prefill: {g('decode/static-triton-hfprefill')}",
        f"ttft probe: {g('decode/ttft_probe')}",
        f"teacher-forced triton: {g('decode/static-triton/teacher_forced_vs_generate')}",
        f"teacher-forced torch: {g('decode/static-torch/teacher_forced_vs_generate')}",
        f"gradient maps b16 {g('attribution/gradient_b16')}",
        f"gradient maps b1 {g('attribution/gradient_b1')}",
        f"gradient maps replicated b4 {g('attribution/gradient_replicated_b4')}",
        f"occlusion 12x12 b16 {g('attribution/occlusion12_b16')}",
        f"occlusion 12x12 b32 {g('attribution/occlusion12_b32')}",
        f"occlusion default (24x24 cells, 8-patch occluders) b32 {g('attribution/occlusion24_default_b32')}",
        f"peak memory {g('peak_memory')}",
        f"concurrency {g('concurrency')}",
        f"4bit {g('4bit')}",
        f"4bit peak {g('4bit_peak_memory')}",
        f"4bit attribution {g('4bit_attribution')}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument(
        "--skip", default="", help="comma list of sections to skip: sweep,attribution,concurrency,fresh,4bit"
    )
    ap.add_argument("--fresh-warmup", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--gemv-configs", default="{}", help="JSON {'NxK': [rows, cols, warps, stages]}")
    args = ap.parse_args(argv)
    if args.fresh_warmup:
        fresh_warmup_main(json.loads(args.gemv_configs))
        return 0
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    # kernels compiled by this run go to a cache the fresh-process measurement then reuses
    os.environ.setdefault("TRITON_CACHE_DIR", tempfile.mkdtemp(prefix="spot-triton-"))
    skip = set(filter(None, args.skip.split(",")))
    import torch

    res: dict = {"env": environment(argv)}
    log(json.dumps(res["env"]))

    def save():
        (out_dir / "bench.json").write_text(json.dumps(res, indent=2, default=str))

    def section(name, fn):
        if name in skip:
            return None
        t0 = time.perf_counter()
        try:
            return fn()
        except Exception as exc:
            res.setdefault("errors", {})[name] = traceback.format_exc()[-3000:]
            log(f"section {name} failed: {exc!r}")
        finally:
            res.setdefault("section_s", {})[name] = time.perf_counter() - t0
            save()

    res["bandwidth"] = section("bandwidth", bandwidth)
    gemv_configs = json.loads(args.gemv_configs)
    sweep = section("sweep", gemv_sweep)
    if sweep:
        res["gemv_sweep"] = sweep
        for key, row in sweep.items():
            if "best" in row and row.get("best_us", 1e9) < row["cublas_us"] * 1.5:
                gemv_configs.setdefault(key.split()[-1], row["best"])
    apply_gemv_configs(gemv_configs)
    res["gemv_configs_used"] = gemv_configs

    model, processor, build_s = build()
    res["model"] = {
        "build_s": build_s,
        "params": sum(p.numel() for p in model.parameters()),
        "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
    }
    log(f"model: {res['model']}")
    images = checked_images(3)
    backends = section("decode", lambda: decode_section(model, processor, images, res)) or {}
    from explain.model.detector import Detector

    fast = backends.get("static-triton") or backends.get("static-torch")
    det = Detector(model, processor, backend=fast) if fast else Detector(model, processor)
    section("attribution", lambda: attribution_section(det, images[0], res))
    section("peak_memory", lambda: peak_memory_section(det, images[0], res))
    section("concurrency", lambda: concurrency_section(det, images, res))
    section("fresh", lambda: fresh_process_warmup(res, gemv_configs))
    det = fast = backends = None  # the 4-bit section replaces the weights: free the bf16 engines
    import gc

    gc.collect()
    torch.cuda.empty_cache()
    section("4bit", lambda: four_bit_section(model, processor, images, res))
    save()
    text = summary(res)
    (out_dir / "summary.txt").write_text(text + "\n")
    print("\n" + text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
