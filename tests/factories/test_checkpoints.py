"""The offline checkpoint builder writes FakeVLM's file layout, and the shipped reference copies match."""

import json
from pathlib import Path

import pytest

from tests.factories.checkpoints import LLAVA_7B_CONFIG, PREPROCESSOR_CONFIG, REFERENCE_DIR

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_layout(tiny_checkpoint):
    names = {p.name for p in tiny_checkpoint.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "processor_config.json",
        "generation_config.json",
    } <= names
    assert not any(n.endswith((".bin", ".pt", ".py")) for n in names)
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    assert config["architectures"] == ["LlavaForConditionalGeneration"]
    assert config["vision_config"]["image_size"] == 336 and config["vision_config"]["patch_size"] == 14
    assert config["vision_feature_select_strategy"] == "default" and config["vision_feature_layer"] == -2


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/reference is not beside this checkout")
@pytest.mark.parametrize("name", ["llava-1.5-7b-config.json", "preprocessor_config.json"])
def test_reference_copies_match_shared(name):
    assert json.loads((REFERENCE_DIR / name).read_text()) == json.loads((SHARED / name).read_text())


def test_7b_config_shape_without_weights():
    """The exact 7B shape, checked on the meta device (no memory): 7.06 B parameters."""
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    config = LlavaConfig.from_json_file(str(LLAVA_7B_CONFIG))
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    n = sum(p.numel() for p in model.parameters())
    assert 7.0e9 < n < 7.1e9
    assert json.loads(PREPROCESSOR_CONFIG.read_text())["crop_size"] == {"height": 336, "width": 336}
