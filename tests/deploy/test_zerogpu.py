"""ZeroGPU: the app's real GPU functions (ModelWorker.stream and .attribute on the toy model) run
under a harness that reproduces ZeroGPU's process model (zerogpu_harness.py). Findings covered:
warm-up and the fast decoder's thread in the main process, fixed 120/240 s durations, items that
must pickle."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

import pytest

from demo.service.gpu import MAX_CALL_S, ModelWorker, attribute_seconds, stream_seconds
from explain.intake import check_image
from explain.model import TOY_MODEL_DIR, load_detector
from explain.types import Explanation, TextDelta

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zerogpu_harness import ZeroGPU  # noqa: E402

EXAMPLE = TOY_MODEL_DIR.parent / "examples" / "toy-fake-two-artifacts.png"


@pytest.fixture
def zero_gpu(monkeypatch):
    harness = ZeroGPU(max_duration_s=MAX_CALL_S)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", harness)
    return harness


def test_durations_follow_the_work_and_fit_a_visitors_quota():
    checked = object()
    short, long = stream_seconds(checked, 32), stream_seconds(checked, 256)
    assert short < long <= MAX_CALL_S
    assert stream_seconds(checked, 32, fast=True) < stream_seconds(checked, 256, fast=True) < long
    answer = Explanation.__new__(Explanation)
    object.__setattr__(answer, "phrases", tuple(range(4)))
    grad = attribute_seconds(checked, answer, "gradient", None, grid=24)
    occ12, occ24 = (attribute_seconds(checked, answer, "occlusion", None, grid=g) for g in (12, 24))
    assert grad < occ12 < occ24 <= MAX_CALL_S <= 120 // 2
    # the contract, in the spaces package's own code (it cannot be imported without CUDA): a callable
    # duration is called with the call's own arguments before the GPU is scheduled
    spaces_dir = Path(importlib.util.find_spec("spaces").submodule_search_locations[0])
    wrappers = (spaces_dir / "zero" / "wrappers.py").read_text()
    assert "return duration(*args, **kwargs)" in wrappers
    assert "static_duration(duration, *args, **kwargs)" in wrappers


def test_no_warm_up_and_no_decoder_thread_in_the_main_process(zero_gpu):
    detector = load_detector("toy", device="cpu", decoder="static")
    assert detector.backend.dedicated_thread is False
    assert detector.warmup(64) == 0.0 and not detector.backend._engines  # nothing built before the fork
    auto = load_detector("toy", device="cpu").backend  # built inside each call, on the calling thread
    assert type(auto).__name__ == "StaticCacheBackend" and auto.dedicated_thread is False


@pytest.mark.timeout(600)
def test_plain_generate_runs_in_a_forked_call_and_asks_for_its_slower_rate(zero_gpu):
    detector = load_detector("toy", device="cpu", decoder="generate")
    checked = check_image(EXAMPLE.read_bytes())
    answer = list(ModelWorker(detector, occlusion_grid=4).stream(checked, 24))[-1]
    assert isinstance(answer, Explanation) and answer.text
    assert zero_gpu.calls[-1].asked_s == stream_seconds(checked, 24, fast=False)


@pytest.mark.timeout(600)
def test_real_gpu_functions_run_in_forked_calls(zero_gpu):
    import torch

    detector = load_detector("toy", device="cpu")
    worker = ModelWorker(detector, occlusion_grid=4)
    checked = check_image(EXAMPLE.read_bytes())
    items = list(worker.stream(checked, 48))
    answer = items[-1]
    assert isinstance(answer, Explanation) and answer.text
    assert any(isinstance(i, TextDelta) for i in items)
    maps = worker.attribute(checked, answer, "gradient", None)
    occluded = worker.attribute(checked, answer, "occlusion", None)
    assert len(maps) == len(occluded) >= 1 and len(occluded[0].grid) == 24

    stream_call, grad_call, occ_call = zero_gpu.calls
    assert [c.name for c in zero_gpu.calls] == ["_stream_impl", "_attribute_impl", "_attribute_impl"]
    assert len({c.pid for c in zero_gpu.calls}) == 3  # a fresh process per call
    assert stream_call.asked_s == stream_seconds(checked, 48, fast=True) and stream_call.items == len(items)
    assert grad_call.asked_s < occ_call.asked_s <= MAX_CALL_S
    # the child's state died with it: no engine, no decoder thread, no CUDA in this process
    assert not detector.backend._engines and not detector.backend._executor
    assert not [t for t in threading.enumerate() if t.name.startswith("spot-fastdecode")]
    assert not torch.cuda.is_initialized()
    # and the answer is the one the model gives in-process
    assert detector.explain(checked, max_new_tokens=48).text == answer.text
