"""What intake accepts and what it hands back: size limits, refusal codes, the checked picture."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from PIL import Image

MIB = 1024 * 1024

# Pillow format ids we decode. Restricting Image.open to these keeps Pillow from guessing exotic
# formats from random bytes (TGA has no signature) and from running EPS through Ghostscript.
# "JPEG" also yields MPO (multi-picture JPEG from phones) through Pillow's JPEG factory.
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "HEIF")

REJECT_CODES: tuple[str, ...] = (
    "empty",  # zero bytes
    "too_large",  # more bytes than IntakeLimits.max_bytes
    "not_an_image",  # text, HTML, SVG, PDF, archives, unknown bytes
    "unsupported_format",  # a picture format (or colour mode) we do not read: PSD, ICO, JPEG 2000 ...
    "truncated",  # a readable header, the pixel data cut short
    "corrupt",  # a known signature, but the data cannot be decoded
    "too_many_pixels",  # header size over IntakeLimits.max_pixels (or Pillow's own bomb limit)
    "too_small",  # shortest side under IntakeLimits.min_side
    "aspect_ratio",  # long/short over IntakeLimits.max_aspect
    "unreadable",  # the file itself could not be read (load_image_file)
)


class ImageRejected(ValueError):
    """An upload we will not judge. `str(exc)` is a sentence for the visitor; `code` is for code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = 20 * MIB
    max_pixels: int = 40_000_000
    min_side: int = 32
    max_aspect: float = 10.0

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0 or self.min_side <= 0:
            raise ValueError(f"IntakeLimits must be positive: {self}")
        if not self.max_aspect >= 1.0:
            raise ValueError(f"IntakeLimits.max_aspect must be >= 1: {self}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> IntakeLimits:
        """SPOT_MAX_UPLOAD_MB (MiB, may be fractional) and SPOT_MAX_PIXELS (e.g. 40000000 or 4e7)."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, int] = {}
        raw_mb = env.get("SPOT_MAX_UPLOAD_MB", "").strip()
        if raw_mb:
            kwargs["max_bytes"] = int(_positive_number("SPOT_MAX_UPLOAD_MB", raw_mb) * MIB)
        raw_px = env.get("SPOT_MAX_PIXELS", "").strip()
        if raw_px:
            kwargs["max_pixels"] = int(_positive_number("SPOT_MAX_PIXELS", raw_px))
        return cls(**kwargs)


def _positive_number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {raw!r}")
    return value


@dataclass(frozen=True)
class CheckedImage:
    image: Image.Image = field(repr=False)  # RGB, EXIF-rotated (unless "paper"), full size (not cropped)
    sha256: str  # of the original bytes, as uploaded
    format: str  # Pillow's id of the detected format: "JPEG", "PNG", "HEIF", ...
    width: int  # after EXIF rotation, as displayed (raw under "paper")
    height: int
    crop_box: tuple[int, int, int, int]  # covers every original pixel the model's crop touches
    crop_box_f: tuple[float, float, float, float]  # the exact crop in original pixel coordinates
    notes: tuple[str, ...]  # what intake did to the picture, in words for the visitor
    byte_size: int
    preprocess: str = "default"  # "paper": as FakeVLM's loader reads it (no rotation, alpha dropped)
