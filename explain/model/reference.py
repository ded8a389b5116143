"""The processor of FakeVLM's evaluation, rebuilt offline from shipped files.

The evaluation (opendatalab/FakeVLM) builds `AutoProcessor.from_pretrained("llava-hf/llava-1.5-7b-hf",
revision="a272c74")`, not the checkpoint's own processor files. Its image side is that revision's
`preprocessor_config.json`, shipped in assets/reference/; its tokenizer is the base Llama tokenizer
with `<image>`, which FakeVLM's checkpoint carries too, so the checkpoint's tokenizer stands in for it.
The evaluation ran transformers 4.45 (PIL resizing; one `<image>` expanded inside the model to 576
features); with transformers 5 the processor expands it, one token per patch, as here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..assets import ASSETS_DIR

REFERENCE_DIR = ASSETS_DIR / "reference"
EVAL_BASE = "llava-hf/llava-1.5-7b-hf"
EVAL_REVISION = "a272c74"


def image_token_count(path: Path) -> int:
    """Image tokens the checkpoint's own config expects: patches, plus CLS unless "default" drops it."""
    cfg = json.loads((Path(path) / "config.json").read_text())
    vision = cfg.get("vision_config", {})
    patches = (vision.get("image_size", 336) // vision.get("patch_size", 14)) ** 2
    return patches if cfg.get("vision_feature_select_strategy", "default") == "default" else patches + 1


def reference_processor(path: Path):
    """LlavaProcessor as the evaluation had it: base image processor (PIL), `default` strategy."""
    from transformers import AutoTokenizer, LlavaProcessor

    from .loader import pil_image_processor_class

    cfg = json.loads((Path(path) / "config.json").read_text())
    settings = json.loads((REFERENCE_DIR / "preprocessor_config.json").read_text())
    settings.pop("image_processor_type", None)
    return LlavaProcessor(
        image_processor=pil_image_processor_class()(**settings),
        tokenizer=AutoTokenizer.from_pretrained(path),
        patch_size=cfg.get("vision_config", {}).get("patch_size", 14),
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token, dropped by "default"
    )
