"""Find and load a llava-hf checkpoint: FakeVLM from the Hub, a local folder, or the shipped toy model.

`--model auto` (the default) means FakeVLM where a GPU is present and its weights are reachable
(online or cached), else the toy model with the reason said plainly. On a Hugging Face Space
(`SPACE_ID` set) with a GPU (ZeroGPU included) auto never falls back; on a CPU-only Space it serves
the toy model with its banner rather than load 14 GB onto a CPU. Safetensors only; remote code is
never trusted.

On ZeroGPU (`SPACES_ZERO_GPU` set) the GPU exists only inside `spaces.GPU` calls, each in a forked
process: `auto` there builds the static engine inside each call, on the calling thread (no CUDA
graphs or worker thread made in the main process, nothing warmed at start-up); measured in forked
calls on an H200, it beat plain `generate` even with the build (bench/ZEROGPU_RESULTS.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .identity import (
    ALLOWED_FILES,
    FAKEVLM_ID,
    TOY_MODEL_DIR,
    ModelChoice,
    ModelUnavailable,
)

_ZERO_GPU_TRUE = ("1", "t", "true")  # spaces.config.boolean's words: we and its decorator must agree


def on_zero_gpu(env=None) -> bool:
    """True on a Hugging Face ZeroGPU Space (the platform sets SPACES_ZERO_GPU, read as `spaces` reads it)."""
    env = os.environ if env is None else env
    return str(env.get("SPACES_ZERO_GPU", "")).lower() in _ZERO_GPU_TRUE


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # pragma: no cover - a broken CUDA install is "no GPU"
        return False


def _snapshot(repo_id: str, revision: str | None, *, local_only: bool) -> Path:
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(repo_id, revision=revision, allow_patterns=ALLOWED_FILES, local_files_only=local_only)
    )


def fetch_from_hub(repo_id: str, revision: str | None = None) -> Path:
    """Cached copy if there is one, else download (unless HF_HUB_OFFLINE is set)."""
    try:
        return _snapshot(repo_id, revision, local_only=True)
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelUnavailable(
            f"'{repo_id}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set: "
            f"pass a local folder with --model PATH, or use --model toy."
        )
    try:
        return _snapshot(repo_id, revision, local_only=False)
    except Exception as exc:
        raise ModelUnavailable(
            f"Could not download '{repo_id}' from the Hugging Face Hub ({type(exc).__name__}): "
            f"pass a local folder with --model PATH, or use --model toy."
        ) from None


def check_folder(path: Path) -> Path:
    if not (path / "config.json").is_file():
        raise ModelUnavailable(f"'{path}' has no config.json: pass a llava-hf checkpoint folder, or use --model toy.")
    if not any(path.glob("*.safetensors")):
        raise ModelUnavailable(
            f"'{path}' has no .safetensors weights (pickled weights are never loaded): "
            f"convert it to safetensors, or use --model toy."
        )
    return path


def resolve_model(spec: str = "auto", revision: str | None = None, *, env=None) -> ModelChoice:
    env = os.environ if env is None else env
    spec = (spec or "auto").strip()
    if spec == "toy":
        return ModelChoice("toy", check_folder(TOY_MODEL_DIR), "toy-fakevlm", None, True)
    if spec == "auto":
        on_space = bool(env.get("SPACE_ID"))
        gpu = on_zero_gpu(env) or _cuda_available()  # ZeroGPU's GPU is attached per call, not at start
        if on_space and gpu:
            # a GPU Space that silently served the toy model would mislead every visitor
            return ModelChoice("auto", check_folder(fetch_from_hub(FAKEVLM_ID, revision)), FAKEVLM_ID, revision, False)
        if not gpu:
            reason = ("this Space runs on CPU hardware (choose GPU or ZeroGPU hardware in its settings)"
                      if on_space else "no GPU is available here")
        else:
            try:
                path = check_folder(fetch_from_hub(FAKEVLM_ID, revision))
                return ModelChoice("auto", path, FAKEVLM_ID, revision, False)
            except ModelUnavailable:
                reason = f"the weights of '{FAKEVLM_ID}' could not be reached (offline and not cached)"
        choice = ModelChoice("auto", check_folder(TOY_MODEL_DIR), "toy-fakevlm", None, True, reason)
        return choice  # the reason travels in the detector's notice, which app.py and the CLI print once
    local = Path(spec).expanduser()
    if local.exists():
        return ModelChoice(spec, check_folder(local.resolve()), local.resolve().name, None, False)
    if spec.count("/") != 1 or spec.startswith((".", "/")):
        raise ModelUnavailable(
            f"'{spec}' is neither an existing folder nor a Hub id like 'owner/name': "
            f"pass a local folder with --model PATH, or use --model toy."
        )
    return ModelChoice(spec, check_folder(fetch_from_hub(spec, revision)), spec, revision, False)


def load_processor(path: Path, *, patch_size: int | None = None, strategy: str | None = None):
    """LlavaProcessor with the PIL CLIP image processor and the image-token count fixed.

    FakeVLM was trained with transformers 4.45, whose CLIP processor resized with PIL; transformers 5
    prefers torchvision when installed, and resampling differences are exactly what a forensic
    model reacts to, so the PIL class is chosen explicitly.
    """
    from transformers import AutoTokenizer, LlavaProcessor

    path = Path(path)
    pc_file = path / "processor_config.json"
    pc = json.loads(pc_file.read_text()) if pc_file.is_file() else {}
    cfg = json.loads((path / "config.json").read_text()) if (path / "config.json").is_file() else {}
    strategy = strategy or pc.get("vision_feature_select_strategy") or cfg.get("vision_feature_select_strategy", "default")
    patch_size = patch_size or pc.get("patch_size") or cfg.get("vision_config", {}).get("patch_size", 14)
    extra = pc.get("num_additional_image_tokens")
    if extra is None:
        # The FakeVLM checkpoint lacks this key; with transformers >= 4.47 the processor would then
        # emit 575 image tokens for CLIP's 576 patches. CLIP has one CLS token, which "default" drops.
        extra = 1
    image_processor = pil_image_processor_class().from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=extra,
    )


def pil_image_processor_class():
    import transformers

    # transformers 5 names the PIL backend CLIPImageProcessorPil; in 4.x CLIPImageProcessor is PIL.
    return getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor


def default_device() -> str:
    return "cuda" if _cuda_available() else "cpu"


def default_dtype(device: str):
    import torch

    return torch.bfloat16 if str(device).startswith("cuda") else torch.float32


_DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16", "fp32": "float32", "float32": "float32"}


def parse_dtype(name: str | None, device: str):
    import torch

    if name in (None, "", "auto"):
        return default_dtype(device)
    try:
        return getattr(torch, _DTYPES[name.lower()])
    except KeyError:
        raise ModelUnavailable(f"Unknown dtype '{name}': use bf16, fp16 or fp32.") from None


def _quantization_config(quantization: str | None, device: str):
    if quantization in (None, "", "none"):
        return None
    if quantization not in ("4bit", "8bit"):
        raise ModelUnavailable(f"Unknown quantization '{quantization}': use 4bit, 8bit or none.")
    if not str(device).startswith("cuda"):
        raise ModelUnavailable(f"{quantization} quantization needs a CUDA GPU: drop --quantization, or run on a GPU.")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise ModelUnavailable(f"{quantization} quantization needs bitsandbytes: pip install bitsandbytes.") from None
    import torch
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_type="nf4")
    return BitsAndBytesConfig(load_in_8bit=True)


DECODERS = ("auto", "generate", "static")


def make_backend(decoder: str, model, *, zero_gpu: bool = False):
    """The greedy decoding backend: `auto` = the CUDA-graph static-cache path where it applies. On
    ZeroGPU the model's device is a placeholder at load, so `auto` is the static engine for a model it
    supports (it falls back to `generate` by itself otherwise), built inside each forked call and run
    on the calling thread (a thread made before the fork does not exist after it)."""
    from ..decoding import GenerateBackend, StaticCacheBackend, auto_backend, unsupported_reason

    if decoder in (None, "", "auto"):
        if zero_gpu:
            return StaticCacheBackend(dedicated_thread=False) if unsupported_reason(model) is None else GenerateBackend()
        return auto_backend(model)
    if decoder == "generate":
        return GenerateBackend()
    if decoder == "static":
        return StaticCacheBackend(dedicated_thread=False) if zero_gpu else StaticCacheBackend()
    raise ModelUnavailable(f"Unknown decoder '{decoder}': use auto, generate or static.")


def load_detector(
    spec: str = "auto",
    *,
    revision: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    quantization: str | None = None,
    decoder: str = "auto",
    rule: str = "word",
):
    """Resolve, load and wrap a checkpoint in a Detector. Raises ModelUnavailable with one sentence.

    `rule` is the verdict rule (explain.verdict): "word" (ours) or "substring" (the paper's).
    """
    from transformers import LlavaForConditionalGeneration

    from ..verdict import RULES
    from .detector import Detector

    if rule not in RULES:
        raise ModelUnavailable(f"Unknown verdict rule '{rule}': use word or substring.")
    choice = resolve_model(spec, revision)
    zero_gpu = on_zero_gpu()
    # ZeroGPU: `cuda` in the main process is the `spaces` package's placeholder, moved per call
    device = device or ("cuda" if zero_gpu and not choice.is_toy else default_device())
    torch_dtype = parse_dtype(dtype, device)
    qconfig = _quantization_config(quantization, device)
    kwargs = dict(dtype=torch_dtype, use_safetensors=True, trust_remote_code=False)
    if qconfig is not None:
        kwargs.update(quantization_config=qconfig, device_map={"": device})
    model = LlavaForConditionalGeneration.from_pretrained(choice.path, **kwargs)
    if qconfig is None:
        model = model.to(device)
    model.eval()
    processor = load_processor(choice.path)
    return Detector(model, processor, choice=choice, backend=make_backend(decoder, model, zero_gpu=zero_gpu),
                    rule=rule, warm=not zero_gpu)
