"""Memory does not grow over 50 consecutive attributions (a server runs them one after another)."""

from __future__ import annotations

import gc

import psutil
import torch

from explain.attribution import attribute
from explain.images import check_image
from tests.conftest import png_bytes
from tests.explain.attribution.test_attribution_api import explanation_for

RUNS = 50
RSS_GROWTH_LIMIT = 24 * 1024 * 1024  # allocator slack; a retained graph or scorer per run would exceed it


def live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))


def test_fifty_attributions_do_not_grow_memory(tiny_detector):
    checked = check_image(png_bytes(400, 400, seed=5))
    explanation = explanation_for(tiny_detector)

    def run(i: int) -> None:
        # alternate methods so every code path's buffers are exercised
        method = ("gradient", "occlusion")[i % 2]
        attribute(tiny_detector, checked, explanation, method, grid=2, faithfulness_steps=2)

    for i in range(4):  # warm-up: lazy initialisations, allocator pools
        run(i)
    gc.collect()
    process = psutil.Process()
    rss_before, tensors_before = process.memory_info().rss, live_tensors()
    for i in range(RUNS):
        run(i)
    gc.collect()
    rss_after, tensors_after = process.memory_info().rss, live_tensors()
    assert tensors_after <= tensors_before, f"{tensors_after - tensors_before} tensors leaked over {RUNS} runs"
    assert rss_after - rss_before < RSS_GROWTH_LIMIT, f"RSS grew by {(rss_after - rss_before) / 2**20:.1f} MiB"
    assert all(p.grad is None for p in tiny_detector.model.parameters())  # no gradients accumulate in the model
