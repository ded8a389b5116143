"""Fixtures shared across the suite: a tiny random-weight checkpoint in FakeVLM's file layout."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random-weight llava-hf checkpoint written by the project's own builder (FakeVLM's layout)."""
    from tests.factories.checkpoints import build_tiny_random

    return build_tiny_random(tmp_path_factory.mktemp("tiny-ckpt"), seed=0)


@pytest.fixture(scope="session")
def tiny_detector(tiny_checkpoint):
    from explain.model import load_detector

    return load_detector(str(tiny_checkpoint), device="cpu")


def png_bytes(width: int = 500, height: int = 300, seed: int = 0) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype="uint8")).save(buf, "PNG")
    return buf.getvalue()
