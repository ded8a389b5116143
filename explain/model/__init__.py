"""Model loading: find a llava-hf checkpoint (FakeVLM from the Hub, a local folder, or the shipped
toy model), load it with safetensors only, and wrap it in a `Detector` with a decoding backend.

`load_detector` is the one entry point; the `Detector` class itself lives in
`explain.model.detector` (it imports torch, which this package's top level does not).
"""

from .batching import MODES as BATCH_MODES
from .batching import between_steps, sharing_turns, use_batching
from .identity import (
    FAKEVLM_ID,
    FAKEVLM_LICENSE,
    HOW_TO_GET_FAKEVLM,
    TOY_MODEL_DIR,
    ModelChoice,
    ModelUnavailable,
)
from .loader import DECODERS, load_detector, load_processor, on_zero_gpu, pil_image_processor_class, resolve_model

__all__ = [
    "BATCH_MODES",
    "DECODERS",
    "FAKEVLM_ID",
    "FAKEVLM_LICENSE",
    "HOW_TO_GET_FAKEVLM",
    "TOY_MODEL_DIR",
    "ModelChoice",
    "ModelUnavailable",
    "load_detector",
    "load_processor",
    "on_zero_gpu",
    "pil_image_processor_class",
    "resolve_model",
    "between_steps",
    "sharing_turns",
    "use_batching",
]
