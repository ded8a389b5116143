"""End-to-end benchmark of batched decoding through the real app: N gradio_client visitors at once.

    PYTHONUNBUFFERED=1 python bench/batch_app_bench.py --model 7b --out bench/out-batch-app   # a CUDA GPU
    python bench/batch_app_bench.py --model toy --clients 4 --out /tmp/bab                    # CPU, proves it runs

Starts `app.py` in a subprocess (a free loopback port, a fresh data folder, `--batch-decode on`, or
`auto` on CUDA, `--concurrency N`, `--max-new-tokens T`), waits until it answers, then:

- warm-up: one visitor, not counted (the first request's lazy set-ups);
- alone: one visitor, its first text after submission and its stream's tokens/s;
- together: N gradio_client visitors (default 8), each with a picture of its own, submit /explain at
  the same instant (a Barrier). Per visitor: first text after submission, end, answer tokens (the
  final details' timings), its stream's tokens/s as the visitor sees it ((tokens - 1) / (end - first
  text)) and as the Detector measured it (first token to the consumer's last: it includes the page
  updates, one per text piece, which the app renders as the tokens come), the updates received; for
  all: aggregate tokens/s (all tokens / (last end - submission)), first text p50/p95/max;
- through one batch: from the app's log, the batch's rows ("batched decoding: up to R streams
  together", explain/model/batching.py) and the most streams one decode step ran ("batched decoding:
  the most streams in one decode step so far: K", explain/decoding/scheduler.py); `through_one_batch`
  says K == N.

Then the same visitors against a second app started with `--batch-decode off` (the serial path).
Writes OUT/batch_app.json (command, machine, versions, date) and the apps' logs (OUT/app-*.log).

Flags: --model toy|7b|PATH (`toy`: the shipped toy model, whose answers end at its own end of
sequence; `7b`: FakeVLM's exact shape with random weights in bf16, built by bench/gpu_bench.py's
`build` and written once by tests/factories/checkpoints.py's `write_checkpoint` (safetensors, the
llava-hf layout) to WORKDIR/fakevlm-7b-shape-random, reused when there; its generation_config.json has
no end-of-sequence token, so every answer runs to --tokens; CUDA and about 14 GB of disk; PATH: a
checkpoint folder). --tokens T: the app's own `--max-new-tokens` (env SPOT_MAX_NEW_TOKENS), default
256. --clients N (8). --device (cuda if available, else cpu). --batch-decode auto|on (default: auto on
CUDA, on elsewhere). --skip-serial: no second app. --workdir: where the checkpoint and the apps'
data folders go (default: a new temporary folder). --start-timeout: seconds an app may take to answer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._machine import cpu_model  # noqa: E402
from bench._server import start_app, stop_app  # noqa: E402
from bench.batch_bench import log, pct  # noqa: E402

SLOTS_LINE = re.compile(r"batched decoding: up to (\d+) streams together")
HIGH_LINE = re.compile(r"batched decoding: the most streams in one decode step so far: (\d+)")
CHECKPOINT_7B = "fakevlm-7b-shape-random"


# -- the model and the pictures ---------------------------------------------------------------------
def write_7b_checkpoint(workdir: Path, device: str) -> Path:
    """FakeVLM's 7B shape with random bf16 weights as a llava-hf checkpoint folder (once per workdir),
    with no end-of-sequence token: the app then decodes every answer to its --max-new-tokens."""
    folder = workdir / CHECKPOINT_7B
    if (folder / "config.json").is_file():
        log(f"reusing {folder}")
        return folder
    import gc

    import torch

    from bench.gpu_bench import build
    from tests.factories.checkpoints import write_checkpoint

    t0 = time.perf_counter()
    model, processor, _ = build(device)  # sets generation_config.eos_token_id = None
    partial = workdir / (CHECKPOINT_7B + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    write_checkpoint(model, processor.tokenizer, partial)
    partial.rename(folder)  # whole or not at all: a run killed mid-write leaves no half folder
    del model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**30
    log(f"wrote {folder} ({size:.1f} GiB) in {time.perf_counter() - t0:.0f} s")
    return folder


def pictures(model: str, n: int, folder: Path) -> list[Path]:
    """n different pictures: toy-world ones for the toy model, photo-like JPEGs otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        if model == "toy":
            from explain.toy.world import generate

            path = folder / f"visitor-{i}.png"
            generate(31, i, label="fake" if i % 2 else "real").image.save(path)
        else:
            from bench.gpu_bench import sample_image

            path = folder / f"visitor-{i}.jpg"
            path.write_bytes(sample_image(i))
        out.append(path)
    return out


# -- one app ----------------------------------------------------------------------------------------
def launch(model: str, device: str, mode: str, clients: int, tokens: int, home: Path, log_path: Path,
           timeout_s: float) -> tuple[subprocess.Popen, str]:  # fmt: skip
    """The app as this benchmark runs it: one model, batched or not, `clients` at once."""
    app_args = ["--model", model, "--device", device, "--rate-limit", "100000", "--max-new-tokens", str(tokens),
                "--concurrency", str(clients), "--batch-decode", mode]  # fmt: skip
    log(f"starting app.py {' '.join(app_args)}")
    t0 = time.monotonic()
    proc, url = start_app(app_args, home, log_path, timeout_s)
    log(f"app answers after {time.monotonic() - t0:.0f} s")
    return proc, url


# -- visitors ---------------------------------------------------------------------------------------
def details_of(update) -> dict | None:
    """The /explain output's details (the dict with a "stage")."""
    return next((x for x in update if isinstance(x, dict) and "stage" in x), None)


def visit(client, path: Path, t0: float) -> dict:
    """One explanation of `path`, submitted at t0: when its first text came, when it ended, its tokens."""
    from gradio_client import handle_file

    first = None
    last = None
    updates = 0
    for update in client.submit(handle_file(str(path)), api_name="/explain"):
        d = details_of(update)
        if d is not None:
            last = d
            updates += 1
            if first is None and d.get("text"):
                first = time.perf_counter()
    end = time.perf_counter()
    tm = (last or {}).get("timings") or {}
    tokens = int(tm.get("new_tokens") or 0)
    first = first or end
    return {"picture": path.name, "first_text_s": round(first - t0, 4), "end_s": round(end - t0, 4),
            "tokens": tokens, "stream_tok_s_client": round((tokens - 1) / (end - first), 1) if end > first else None,
            "stream_tok_s_server": tm.get("tokens_per_s"), "server_first_token_s": tm.get("first_token_s"),
            "updates": updates, "verdict": (last or {}).get("verdict"), "stage": (last or {}).get("stage")}  # fmt: skip


def new_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def together(url: str, paths: list[Path]) -> dict:
    """Every visitor's client made first, then all submit at one instant."""
    clients = [new_client(url) for _ in paths]
    go = threading.Barrier(len(paths))
    got: list = [None] * len(paths)

    def visitor(i: int) -> None:
        go.wait(timeout=120)
        t0 = time.perf_counter()
        try:
            got[i] = visit(clients[i], paths[i], t0)
        except Exception as exc:  # noqa: BLE001 - recorded, the others go on
            got[i] = {"picture": paths[i].name, "error": f"{type(exc).__name__}: {exc}"}
        got[i]["submitted"] = t0

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [g for g in got if "error" not in g]
    start = min(g["submitted"] for g in got)
    for g in got:
        g["submitted"] = round(g["submitted"] - start, 4)
    res: dict = {"visitors": got, "errors": len(got) - len(ok)}
    if not ok:
        return res
    firsts = [g["first_text_s"] for g in ok]
    wall = max(g["submitted"] + g["end_s"] for g in ok)
    total = sum(g["tokens"] for g in ok)
    streams = [g["stream_tok_s_client"] for g in ok if g["stream_tok_s_client"]]
    server = [g["stream_tok_s_server"] for g in ok if g["stream_tok_s_server"]]
    res.update({"tokens_total": total, "tokens_each": sorted({g["tokens"] for g in ok}), "wall_s": round(wall, 3),
                "aggregate_tok_s": round(total / wall, 1),
                "stream_tok_s_client_mean": round(statistics.mean(streams), 1) if streams else None,
                "stream_tok_s_client_min": round(min(streams), 1) if streams else None,
                "stream_tok_s_server_mean": round(statistics.mean(server), 1) if server else None,
                "stream_tok_s_server_min": round(min(server), 1) if server else None,
                "first_text_p50_s": pct(firsts, 0.5), "first_text_p95_s": pct(firsts, 0.95),
                "first_text_max_s": max(firsts),
                "all_streaming_at_once": max(firsts) < min(g["end_s"] for g in ok)})  # fmt: skip
    return res


def batch_seen(log_text: str) -> dict:
    """What the app's log says about its batch: rows, and the most streams one decode step ran."""
    slots = [int(x) for x in SLOTS_LINE.findall(log_text)]
    highs = [int(x) for x in HIGH_LINE.findall(log_text)]
    return {"slots": slots[-1] if slots else None, "max_streams_in_one_step": max(highs) if highs else None}


def one_app(args, model: str, device: str, mode: str, home: Path, out: Path, label: str, paths, spare) -> dict:
    log_path = out / f"app-{label}.log"
    shutil.rmtree(home, ignore_errors=True)  # a fresh data folder, also when --workdir is reused
    proc, url = launch(model, device, mode, args.clients, args.tokens, home, log_path, args.start_timeout)
    try:
        visit(new_client(url), spare[0], time.perf_counter())  # warm-up, not counted
        alone = visit(new_client(url), spare[1], time.perf_counter())
        log(f"{label}, alone: {alone}")
        res = {"batch_decode": mode, "alone": alone, "together": together(url, paths)}
        seen = {k: v for k, v in res["together"].items() if k != "visitors"}
        log(f"{label}, {args.clients} together: {seen}")
    finally:
        stop_app(proc)
    res.update(batch_seen(log_path.read_text(errors="replace")))
    res["through_one_batch"] = res["max_streams_in_one_step"] == args.clients
    log(f"{label}: the app's batch had {res['slots']} rows, at most {res['max_streams_in_one_step']} "
        f"streams in one decode step")  # fmt: skip
    return res


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "transformers", "gradio", "gradio_client"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="toy", help="toy, 7b (random weights, CUDA) or a checkpoint folder")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=256, help="the app's --max-new-tokens")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--batch-decode", default=None, choices=("auto", "on"), help="default: auto on CUDA, else on")
    ap.add_argument("--skip-serial", action="store_true", help="no second app with --batch-decode off")
    ap.add_argument("--workdir", default=None, help="checkpoint and data folders (default: a temporary folder)")
    ap.add_argument("--start-timeout", type=float, default=600.0, help="seconds an app may take to answer")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out-batch-app"))
    args = ap.parse_args(argv)
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    mode = args.batch_decode or ("auto" if device == "cuda" else "on")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="spot-app-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model = str(write_7b_checkpoint(work, device)) if args.model == "7b" else args.model
    kind = "toy" if args.model == "toy" else "photo"
    every = pictures(kind, args.clients + 2, work / "pictures")
    paths, spare = every[: args.clients], every[args.clients :]  # spare: warm-up and alone, never reused
    res: dict = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                 "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
                 "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                             "gpu": torch.cuda.get_device_name() if device == "cuda" else None},
                 "versions": versions(), "model": args.model, "device": device, "clients": args.clients,
                 "tokens": args.tokens}  # fmt: skip
    runs = [("batched", mode)] + ([] if args.skip_serial else [("serial", "off")])
    for label, app_mode in runs:
        try:
            res[label] = one_app(args, model, device, app_mode, work / f"app-{label}", out, label, paths, spare)
        except Exception as exc:  # noqa: BLE001 - recorded; the other app still runs
            log(f"{label}: {type(exc).__name__}: {exc}")
            res[label] = {"batch_decode": app_mode, "error": f"{type(exc).__name__}: {exc}"[:4000]}
        (out / "batch_app.json").write_text(json.dumps(res, indent=2) + "\n")  # after each app
    log(f"wrote {out / 'batch_app.json'}")
    summary(res)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if res["batched"].get("together", {}).get("errors", 1) == 0 else 1


def summary(res: dict) -> None:
    keys = ("aggregate_tok_s", "stream_tok_s_client_mean", "stream_tok_s_server_mean", "first_text_p50_s",
            "first_text_p95_s", "first_text_max_s", "tokens_each", "errors")  # fmt: skip
    for label in ("batched", "serial"):
        if label in res and "together" in res[label]:
            r = res[label]
            t = r["together"]
            print(f"{label:8s} " + "  ".join(f"{k}={t.get(k)}" for k in keys)
                  + f"  alone={r['alone'].get('stream_tok_s_client')} tok/s"
                  + f"  max_streams_in_one_step={r['max_streams_in_one_step']}", flush=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
