"""The shipped toy checkpoint: FakeVLM's layout, loads through the project's loader, and really
detects the planted artifacts on images it never saw (the CI re-check of the model card's numbers)."""

from __future__ import annotations

import json
import re

import pytest

from explain.model import TOY_MODEL_DIR

CARD = TOY_MODEL_DIR / "MODEL_CARD.md"
CI_SEED = 4242  # fresh: training used worlds 0 and 1, the model card's evaluation another seed
CI_IMAGES = 48


def test_files_are_in_the_llava_hf_layout():
    names = {p.name for p in TOY_MODEL_DIR.iterdir()}
    for required in (
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "preprocessor_config.json",
        "processor_config.json",
        "MODEL_CARD.md",
    ):
        assert required in names
    assert not any(n.endswith((".bin", ".pt", ".pth", ".pkl")) for n in names)
    assert (TOY_MODEL_DIR / "model.safetensors").stat().st_size < 16 * 1024 * 1024
    # like FakeVLM's: the loader must supply num_additional_image_tokens
    assert "num_additional_image_tokens" not in json.loads((TOY_MODEL_DIR / "processor_config.json").read_text())
    config = json.loads((TOY_MODEL_DIR / "config.json").read_text())
    assert config["architectures"] == ["LlavaForConditionalGeneration"]
    assert config["vision_config"]["image_size"] == 336 and config["vision_config"]["patch_size"] == 14
    assert config["vision_feature_select_strategy"] == "default"


@pytest.fixture(scope="module")
def toy_detector():
    from explain.model import load_detector

    return load_detector("toy", device="cpu")


@pytest.fixture
def one_thread():
    """A tiny model gains nothing from a second thread, and two threads on a busy 2-core machine
    make OpenMP spin (seen here: 4x slower); accuracy does not depend on it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_plain_transformers_loads_it_and_expands_576_image_tokens():
    from transformers import LlavaForConditionalGeneration

    from explain.model import load_processor
    from explain.toy import world
    from explain.toy.tokenizer import PROMPT

    model = LlavaForConditionalGeneration.from_pretrained(TOY_MODEL_DIR, use_safetensors=True)
    processor = load_processor(TOY_MODEL_DIR)
    inputs = processor(images=world.generate(CI_SEED, 0).image, text=PROMPT, return_tensors="pt")
    assert int((inputs["input_ids"] == model.config.image_token_id).sum()) == 576
    assert tuple(inputs["pixel_values"].shape) == (1, 3, 336, 336)


def test_detector_marks_it_as_the_toy_model(toy_detector):
    assert toy_detector.is_toy
    assert "knows nothing about real AI-generated images" in toy_detector.notice


def test_fresh_images_meet_the_accuracy_bars(toy_detector, one_thread):
    from explain.toy.evaluate import evaluate

    result = evaluate(CI_SEED, CI_IMAGES, detector=toy_detector)
    assert result["n_fake"] >= 15 and result["n_real"] >= 15
    assert result["verdict_accuracy"] >= 0.97, result
    assert result["kind_accuracy"] >= 0.9, result
    assert result["region_accuracy"] >= 0.9, result
    assert result["real_clean_rate"] >= 0.9, result


def test_model_card_records_the_measured_numbers_and_the_command():
    card = CARD.read_text()
    assert "knows nothing about real AI-generated images" in card
    assert "python -m explain.toy train" in card
    lines = [ln for ln in card.splitlines() if ln.startswith('{"n": ')]
    assert lines, "the card must hold the eval command's JSON line"
    result = json.loads(lines[0])
    assert result["n"] >= 500
    assert result["seed"] not in (0, 1)
    assert result["verdict_accuracy"] >= 0.97
    assert result["kind_accuracy"] >= 0.9 and result["region_accuracy"] >= 0.9
    assert re.search(r"python -m explain\.toy eval --seed \d+ --n \d+", result["command"])
    assert result["command"] in card.replace(lines[0], "")  # the command is also written out to copy
