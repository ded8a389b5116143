"""Loading llava-hf checkpoints: the image-token pitfall, the PIL backend, and clear refusals."""

import json
import shutil

import pytest
from PIL import Image

from explain.model import (
    FAKEVLM_ID,
    TOY_MODEL_DIR,
    ModelUnavailable,
    load_processor,
    pil_image_processor_class,
    resolve_model,
)
from tests.conftest import png_bytes


def test_checkpoint_has_the_pitfall(tiny_checkpoint):
    pc = json.loads((tiny_checkpoint / "processor_config.json").read_text())
    assert "num_additional_image_tokens" not in pc  # exactly like FakeVLM's published file


def test_576_image_tokens_with_pitfall_present(tiny_checkpoint):
    import io

    from PIL import Image
    from transformers import AutoProcessor

    image = Image.open(io.BytesIO(png_bytes(500, 300)))
    prompt = "<image>Does the image looks real/fake?"
    image_id = json.loads((tiny_checkpoint / "config.json").read_text())["image_token_index"]

    # the bug this guards against: transformers' own processor, as shipped, emits 575
    naive = AutoProcessor.from_pretrained(tiny_checkpoint)
    assert (naive(images=image, text=prompt, return_tensors="pt")["input_ids"] == image_id).sum() == 575

    fixed = load_processor(tiny_checkpoint)
    ids = fixed(images=image, text=prompt, return_tensors="pt")["input_ids"]
    assert (ids == image_id).sum() == 576


def test_processor_uses_pil_backend(tiny_checkpoint):
    proc = load_processor(tiny_checkpoint)
    assert type(proc.image_processor) is pil_image_processor_class()
    assert "Pil" in type(proc.image_processor).__name__ or "torchvision" not in type(proc.image_processor).__module__
    assert proc.image_processor.resample == 3  # bicubic, from preprocessor_config.json
    assert proc.image_processor.crop_size == {"height": 336, "width": 336}


def test_detector_loads_and_sees_576_tokens(tiny_detector):
    import io

    from PIL import Image

    inputs = tiny_detector.prepare(Image.open(io.BytesIO(png_bytes())).convert("RGB"))
    assert int((inputs["input_ids"] == tiny_detector.model.config.image_token_id).sum()) == 576
    assert tuple(inputs["pixel_values"].shape) == (1, 3, 336, 336)


def test_toy_spec_resolves_to_assets():
    if not (TOY_MODEL_DIR / "config.json").exists():
        pytest.skip("toy checkpoint not built yet")
    choice = resolve_model("toy")
    assert choice.is_toy and choice.path == TOY_MODEL_DIR and choice.fallback_reason is None


def test_auto_without_gpu_falls_back_with_reason(monkeypatch):
    if not (TOY_MODEL_DIR / "config.json").exists():
        pytest.skip("toy checkpoint not built yet")
    monkeypatch.delenv("SPACE_ID", raising=False)
    choice = resolve_model("auto", env={})
    assert choice.is_toy
    assert "no GPU" in choice.fallback_reason


def test_auto_on_a_gpu_space_never_falls_back(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as info:  # ZeroGPU: a GPU per call, though none at start-up
        resolve_model("auto", env={"SPACE_ID": "someone/spot-the-fake", "SPACES_ZERO_GPU": "true"})
    assert FAKEVLM_ID in str(info.value)


def test_auto_on_a_cpu_space_serves_the_toy_model_with_its_reason(monkeypatch):
    """Finding: on a CPU-only Space `auto` tried to load the 14 GB FakeVLM onto the CPU."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    choice = resolve_model("auto", env={"SPACE_ID": "someone/spot-the-fake"})
    assert choice.is_toy and "CPU hardware" in choice.fallback_reason


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("nobody/no-such-model", "--model toy"),
        ("not a hub id", "neither an existing folder"),
        ("../relative/missing", "neither an existing folder"),
    ],
)
def test_unreachable_checkpoint_is_one_clear_sentence(monkeypatch, spec, needle):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as info:
        resolve_model(spec)
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_folder_without_safetensors_is_refused(tiny_checkpoint, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelUnavailable, match="safetensors"):
        resolve_model(str(folder))


def test_quantization_needs_a_gpu(tiny_checkpoint):
    from explain.model import load_detector

    with pytest.raises(ModelUnavailable, match="GPU"):
        load_detector(str(tiny_checkpoint), device="cpu", quantization="4bit")


def test_rule_reaches_the_detector(tiny_checkpoint):
    """Issue 18: `load_detector(rule=...)` sets the rule its verdicts are read with."""
    from explain.model import load_detector

    paper = load_detector(str(tiny_checkpoint), device="cpu", rule="substring")
    ours = load_detector(str(tiny_checkpoint), device="cpu")
    text = "The lighting looks unrealistic."
    assert (paper.rule, ours.rule) == ("substring", "word")
    assert paper._verdict(text, [], [])[0] == "real"  # noqa: SLF001 - the detector's own verdict step
    assert ours._verdict(text, [], [])[0] == "undecided"  # noqa: SLF001
    explanation = paper.explain(Image.new("RGB", (336, 336), (90, 120, 150)), max_new_tokens=4)
    assert explanation.rule == "substring"
    with pytest.raises(ModelUnavailable, match="verdict rule"):
        load_detector(str(tiny_checkpoint), device="cpu", rule="regex")
