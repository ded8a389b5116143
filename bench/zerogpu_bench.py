"""ZeroGPU's process model on a real GPU, with FakeVLM's 7B shape (random weights, no download).

    PYTHONUNBUFFERED=1 python bench/zerogpu_bench.py --out bench/out

The main process builds the model on the CPU and never initialises CUDA (as on ZeroGPU, where
`cuda` in the main process is the `spaces` package's placeholder). The app's real GPU functions
(`ModelWorker.stream` and `.attribute`, demo/service/gpu.py) run under the harness of
tests/deploy/zerogpu_harness.py: each call forks a process, which moves the weights onto the GPU
(ZeroGPU does this itself, from its own packed copy) and runs the call; results come back pickled.
Records, per call: the duration it asked for, its wall time, the weights' move, time to first token
and tokens/s inside the call, for plain `generate` and the static-cache engine built inside the call.
bench/ZEROGPU_RESULTS.md holds the recorded numbers. Needs a CUDA GPU with 20 GiB free.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT), str(ROOT / "tests" / "deploy")):
    if p not in sys.path:
        sys.path.insert(0, p)

from gpu_bench import checked_images, forced_explanation, log  # noqa: E402


def gpu_module():
    """demo/service/gpu.py alone (the service package's __init__ would also load the store)."""
    spec = importlib.util.spec_from_file_location("spot_service_gpu", ROOT / "demo" / "service" / "gpu.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


_WRITE = """
import sys, torch
from tests.factories.checkpoints import build_7b_shape_model, write_checkpoint
torch.manual_seed(0)
model, tokenizer = build_7b_shape_model(device="cuda", dtype=torch.bfloat16)
write_checkpoint(model.to("cpu"), tokenizer, sys.argv[1])
"""


def build_checkpoint(folder: Path) -> float:
    """The 7B-shape checkpoint, random weights, written by another process (random init is fast on
    the GPU and would take minutes on the CPU; this process must never initialise CUDA)."""
    import subprocess

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _WRITE, str(folder)], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--smoke", action="store_true", help="a tiny random model on the CPU: checks the script only")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import torch
    from zerogpu_harness import ZeroGPU

    from explain.decoding import GenerateBackend, StaticCacheBackend

    if args.smoke:
        from explain.model import load_detector
        from tests.factories.checkpoints import build_tiny_random

        t0 = time.perf_counter()
        detector = load_detector(str(build_tiny_random(tempfile.mkdtemp(), seed=0)), device="cpu")
        detector.model.generation_config.eos_token_id = None
        build_s = time.perf_counter() - t0
    else:  # the app's own loader, as on ZeroGPU (SPACES_ZERO_GPU set), onto the CPU
        from explain.model import load_detector

        folder = Path(tempfile.mkdtemp(prefix="spot-7b-"))
        log(f"checkpoint written in {build_checkpoint(folder):.1f} s")
        os.environ["SPACES_ZERO_GPU"] = "true"
        t0 = time.perf_counter()
        detector = load_detector(str(folder), device="cpu", dtype="bf16")
        build_s = time.perf_counter() - t0
        detector.model.generation_config.eos_token_id = None  # forced answer lengths
        log(f"backend chosen for ZeroGPU: {type(detector.backend).__name__}")
    log(f"model loaded on the CPU in {build_s:.1f} s")

    def move_to_gpu():  # in each forked call: what the platform does before the function runs
        if args.smoke:
            return
        t0 = time.perf_counter()
        detector.model.to("cuda")
        detector.device = torch.device("cuda")
        torch.cuda.synchronize()
        Path(f"/tmp/zerogpu-setup-{os.getpid()}").write_text(str(time.perf_counter() - t0))

    gpu = gpu_module()
    harness = ZeroGPU(max_duration_s=gpu.MAX_CALL_S, child_setup=move_to_gpu)
    sys.modules["spaces"] = harness
    checked = checked_images(1)[0]
    rows = []

    def record(label: str, extra: dict) -> None:
        call = harness.calls[-1]
        setup = Path(f"/tmp/zerogpu-setup-{call.pid}")
        row = {"call": label, "asked_s": call.asked_s, "wall_s": round(call.wall_s, 2),
               "weights_to_gpu_s": round(float(setup.read_text()), 2) if setup.exists() else None,
               "first_item_after_s": round(call.first_item_s, 2) if call.first_item_s else None, **extra}
        rows.append(row)
        log(json.dumps(row))

    for decoder in ("static", "static", "generate"):  # static twice: the second finds its kernels on disk
        detector.backend = GenerateBackend() if decoder == "generate" else StaticCacheBackend(dedicated_thread=False)
        worker = gpu.ModelWorker(detector, occlusion_grid=24)
        items = list(worker.stream(checked, args.tokens))
        t = items[-1].timings
        record(f"stream {decoder} {args.tokens} tokens", {
            "ttft_in_call_s": round(t.first_token_s, 3), "tokens_per_s": round(t.tokens_per_s, 1),
            "new_tokens": t.new_tokens, "items": len(items)})

    detector.backend = GenerateBackend()
    answer = forced_explanation(detector, 128)
    for method, grid in (("gradient", 24), ("occlusion", 12), ("occlusion", 24)):
        worker = gpu.ModelWorker(detector, occlusion_grid=grid)
        maps = worker.attribute(checked, answer, method, None)
        record(f"maps {method} grid {grid}, {len(answer.phrases)} phrases", {"maps": len(maps)})

    assert not torch.cuda.is_initialized(), "the main process initialised CUDA"
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "gpu": "run in forked calls; main process never initialised CUDA",
              "torch": torch.__version__, "python": sys.version.split()[0],
              "build_on_cpu_s": round(build_s, 1), "max_call_s": gpu.MAX_CALL_S, "calls": rows}
    try:
        import transformers

        result["transformers"] = transformers.__version__
    except ImportError:
        pass
    (out / "zerogpu_bench.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
