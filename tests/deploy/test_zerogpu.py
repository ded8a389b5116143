"""ZeroGPU: the app's real GPU functions (ModelWorker.stream and .attribute on the toy model) run
under a harness that reproduces ZeroGPU's process model (zerogpu_harness.py). Findings covered:
warm-up and the fast decoder's thread in the main process, fixed 120/240 s durations, items that
must pickle."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo.service.gpu import MAX_CALL_S, attribute_seconds, stream_seconds
from explain.model import load_detector
from explain.types import Explanation

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from zerogpu_harness import ZeroGPU  # noqa: E402


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


def run_scenario(name: str) -> None:
    """A scenario of zerogpu_app.py in a fresh interpreter: its main process only loads the model,
    as a Space's does (a test process that has already run torch on CPU threads cannot fork safely:
    GNU OpenMP's thread pool does not survive a fork)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, str(HERE / "zerogpu_app.py"), name], capture_output=True, text=True,
                         env=env, timeout=540)
    assert out.returncode == 0, out.stderr[-4000:]


@pytest.mark.timeout(600)
def test_plain_generate_runs_in_a_forked_call_and_asks_for_its_slower_rate():
    run_scenario("generate")


@pytest.mark.timeout(600)
def test_real_gpu_functions_run_in_forked_calls():
    run_scenario("app")
