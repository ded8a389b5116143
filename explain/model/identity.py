"""Which model is served: FakeVLM's Hub identity and licence, the shipped toy model's folder, and
the `ModelChoice` that records what was asked for and what was found."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..assets import ASSETS_DIR

FAKEVLM_ID = "lingcco/fakeVLM"
FAKEVLM_LICENSE = "cc-by-nc-4.0"
TOY_MODEL_DIR = ASSETS_DIR / "toy-fakevlm"
# What a checkpoint download may fetch: weights as safetensors only, never pickles or code.
ALLOWED_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.md"]
HOW_TO_GET_FAKEVLM = (
    f"To serve FakeVLM, run on a machine with a GPU and access to the Hugging Face Hub "
    f"(or pre-download '{FAKEVLM_ID}' into the cache, or pass its folder with --model PATH)."
)


class ModelUnavailable(RuntimeError):
    """A requested checkpoint cannot be used; the message is one sentence naming the way out."""


@dataclass(frozen=True)
class ModelChoice:
    spec: str  # what was asked for
    path: Path  # local folder with the files
    model_id: str  # a Hub id or the folder name, for display and storage
    revision: str | None
    is_toy: bool
    fallback_reason: str | None = None  # set when auto fell back to the toy model
