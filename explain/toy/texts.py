"""What the toy model says: FakeVLM-style answers about the toy world, and how to read them back.

Every fake-image sentence names one artifact's kind and region. Each kind has one keyword that
occurs in all its phrasings and in no other sentence (real-image sentences included), and each
region has one canonical name, so an answer can be scored by plain keyword search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

VERDICT = {"fake": "This is a fake image.", "real": "This is a real image."}

KINDS: tuple[str, ...] = ("checkerboard", "banding", "smoothing", "blocking", "speckle")

# reading order: row by row, top to bottom, left to right
REGIONS: tuple[str, ...] = (
    "upper left",
    "upper middle",
    "upper right",
    "middle left",
    "center",
    "middle right",
    "lower left",
    "lower middle",
    "lower right",
)

# the word that identifies each kind in an answer
KIND_KEYWORDS: dict[str, str] = {
    "checkerboard": "checkerboard",
    "banding": "banding",
    "smoothing": "smooth",
    "blocking": "block",
    "speckle": "speckle",
}

# {r} is the region name
PHRASINGS: dict[str, tuple[str, ...]] = {
    "checkerboard": (
        "The {r} region shows a checkerboard pattern typical of upsampling.",
        "A checkerboard pattern left by upsampling is visible in the {r} region.",
        "In the {r} region there is a fine checkerboard texture from upsampling.",
    ),
    "banding": (
        "The {r} region shows colour banding where the gradient should be continuous.",
        "Colour banding breaks up the gradient in the {r} region.",
        "In the {r} region the colours fall into hard steps, a clear sign of banding.",
    ),
    "smoothing": (
        "The {r} region looks overly smooth, with the natural grain missing.",
        "The {r} region has been smoothed and lacks the grain of the rest of the image.",
        "In the {r} region the texture is unnaturally smooth compared to its surroundings.",
    ),
    "blocking": (
        "The {r} region shows blocky compression artifacts on a square grid.",
        "Square compression blocks are visible in the {r} region.",
        "In the {r} region the image breaks into flat blocks like heavy compression.",
    ),
    "speckle": (
        "The {r} region is covered in coloured speckles that do not belong to the scene.",
        "Bright coloured speckle noise appears in the {r} region.",
        "In the {r} region there are isolated coloured speckles typical of generator noise.",
    ),
}

REAL_PHRASINGS: tuple[str, ...] = (
    "The textures and lighting are consistent across the scene.",
    "The grain is even and natural throughout the image.",
    "Edges, shadows and noise look consistent everywhere.",
    "The fine detail and noise are uniform, with no local traces of generation.",
    "The gradients are continuous and the grain matches across the whole picture.",
)


def explanation(rng: np.random.Generator, label: str, artifacts: Sequence[tuple[str, str]]) -> str:
    """An answer for an image: the verdict sentence, then one sentence per (kind, region)."""
    if label == "real":
        return f"{VERDICT['real']} {REAL_PHRASINGS[int(rng.integers(len(REAL_PHRASINGS)))]}"
    if not artifacts:
        raise ValueError("a fake image needs at least one artifact")
    parts = [VERDICT["fake"]]
    for kind, region in artifacts:
        options = PHRASINGS[kind]
        parts.append(options[int(rng.integers(len(options)))].format(r=region))
    return " ".join(parts)


def all_sentences() -> Iterable[str]:
    """Every sentence the world can produce (for building the vocabulary)."""
    yield from VERDICT.values()
    yield from REAL_PHRASINGS
    for options in PHRASINGS.values():
        for template in options:
            for region in REGIONS:
                yield template.format(r=region)


# -- reading answers back ---------------------------------------------------------------------------

_SENTENCE = re.compile(r"[^.!?]+[.!?]?")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def kinds_in(text: str) -> set[str]:
    low = text.lower()
    return {kind for kind, word in KIND_KEYWORDS.items() if word in low}


def regions_in(text: str) -> set[str]:
    low = text.lower()
    return {region for region in REGIONS if region in low}


def pairs_in(text: str) -> set[tuple[str, str]]:
    """(kind, region) pairs named together in one sentence."""
    out: set[tuple[str, str]] = set()
    for s in sentences(text):
        for kind in kinds_in(s):
            for region in regions_in(s):
                out.add((kind, region))
    return out


def sentence_naming(text: str, kind: str, region: str) -> int | None:
    """Index (in `sentences(text)`) of the first sentence naming both `kind` and `region`."""
    for i, s in enumerate(sentences(text)):
        if kind in kinds_in(s) and region in regions_in(s):
            return i
    return None
