"""Real reference pictures for visual reliance: what "the same phrase about another picture" means.

reliance_k = score_k(image) - mean over the references of score_k(reference). A flat grey square is
far outside what the model has seen, so "score minus score on grey" measured surprise at grey: on
the toy model grounded and hallucinated phrases both gained 3-7 nats a token over grey, and the
language-prior flag never fired (issue 20). Against a few ordinary real pictures a hallucinated
phrase is no likelier on this image than on any other, and the flag fires.

Where the pictures come from, first found wins:
1. `detector.reliance_references_dir` (set it after loading to use another folder);
2. `<checkpoint folder>/reliance_references/` (the toy model ships four of its own real images,
   written by `python -m explain.toy references`);
3. `assets/reliance-references/` of this repository, for FakeVLM, whose Hub snapshot has none.
   It ships empty: put a few (4-8) real, unedited camera photographs there that the project may
   licence, and say where each came from in its README. Without any, reliance falls back to the
   grey image and its own threshold, and the map records `extra["reliance_reference"] = "grey"`.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from torch import Tensor

REPO_REFERENCES = Path(__file__).resolve().parents[2] / "assets" / "reliance-references"
FOLDER_NAME = "reliance_references"
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAX_REFERENCES = 8  # every phrase is rescored once per reference: keep the set small

# Flag a phrase as a language prior when it gains less than this many nats a token from the image.
# "real": 0, i.e. the phrase is no likelier on this picture than on ordinary real ones. Calibrated on
# the toy world (bench/reliance_calibration.py, seed 7777, 120 fakes): grounded phrases gain a
# median +0.62 nats a token, hallucinated ones -1.23; Youden's J is largest (0.98) for thresholds
# from -0.2 to +0.15. The grey fallback keeps its old, uncalibrated threshold.
PER_TOKEN_THRESHOLD = {"real": 0.0, "grey": 0.05}

# image processor -> {folder: (R, 3, H, W) pixel values}
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def references_dir(detector) -> Path | None:
    """The folder of reference pictures this detector uses, or None (grey fallback)."""
    explicit = getattr(detector, "reliance_references_dir", None)
    candidates = [Path(explicit)] if explicit else []
    choice = getattr(detector, "choice", None)
    if choice is not None and getattr(choice, "path", None):
        candidates.append(Path(choice.path) / FOLDER_NAME)
    if not getattr(detector, "is_toy", False):
        candidates.append(REPO_REFERENCES)
    for folder in candidates:
        if folder.is_dir() and picture_paths(folder):
            return folder
    return None


def picture_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)[:MAX_REFERENCES]


def reference_set_pixels(detector) -> Tensor | None:
    """(R, 3, H, W) pixel values of the detector's reference pictures through its own processor
    (computed once per processor and folder), or None when there are none."""
    import torch
    from PIL import Image, ImageOps

    folder = references_dir(detector)
    if folder is None:
        return None
    image_processor = getattr(detector.processor, "image_processor", detector.processor)
    try:
        per_processor = _CACHE.setdefault(image_processor, {})
    except TypeError:
        per_processor = {}
    key = str(folder)
    if key not in per_processor:
        pixels = []
        for path in picture_paths(folder):
            with Image.open(path) as im:
                image = ImageOps.exif_transpose(im).convert("RGB")  # as intake reads uploads
            pixels.append(image_processor(images=image, return_tensors="pt")["pixel_values"])
        per_processor[key] = torch.cat(pixels)
    return per_processor[key]
