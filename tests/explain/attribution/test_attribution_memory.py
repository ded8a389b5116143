"""Memory does not grow over 50 consecutive attributions (a server runs them one after another).

Runs through the real Detector and loader on a checkpoint in FakeVLM's layout whose pictures are
112 px (8 x 8 patches) instead of 336, so that 50 full attributions take seconds.
"""

from __future__ import annotations

import gc
import json

import psutil
import pytest
import torch

from explain.attribution import attribute
from explain.intake import check_image
from tests.conftest import png_bytes
from tests.explain.attribution.test_attribution_api import explanation_for

RUNS = 50
RSS_GROWTH_LIMIT = 16 * 1024 * 1024  # allocator slack; a retained graph or scorer per run would exceed it


@pytest.fixture(scope="module")
def small_detector(tmp_path_factory):
    from transformers import LlavaForConditionalGeneration

    from explain.model import load_detector
    from tests.factories.checkpoints import build_tokenizer, tiny_config, write_checkpoint

    tokenizer = build_tokenizer()
    config = tiny_config(tokenizer, vision_hidden=16, text_hidden=16)
    config.vision_config.image_size = 112
    config.image_seq_length = 64
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config).eval()
    out = write_checkpoint(model, tokenizer, tmp_path_factory.mktemp("small-ckpt"))
    pre = json.loads((out / "preprocessor_config.json").read_text())
    pre.update(size={"shortest_edge": 112}, crop_size={"height": 112, "width": 112})
    (out / "preprocessor_config.json").write_text(json.dumps(pre))
    return load_detector(str(out), device="cpu")


def live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))


def test_fifty_attributions_do_not_grow_memory(small_detector):
    checked = check_image(png_bytes(400, 300, seed=5))
    explanation = explanation_for(small_detector)

    def run(i: int) -> None:
        # alternate methods so every code path's buffers are exercised
        method = ("gradient", "occlusion", "ig")[i % 3]
        # grid 8 of 8 patches: occluders of 3 x 3 patches centred on every patch, smoothed (the default shape)
        maps = attribute(small_detector, checked, explanation, method, grid=8, ig_steps=2, faithfulness_steps=2)
        assert len(maps) == 3 and len(maps[0].grid) == 8

    for i in range(3):  # warm-up: lazy initialisations, allocator pools
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
    assert all(p.grad is None for p in small_detector.model.parameters())  # no gradients pile up in the model
