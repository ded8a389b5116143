"""Normalising a decoded picture to what a person sees: EXIF orientation and 8-bit RGB colour.

Transparency is composited on mid grey (never dropped, which would reveal colours hidden under
alpha=0); high bit depths and float images are reduced to 8 bits; each step adds a note in words.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

NEUTRAL_GREY = (128, 128, 128)


def orientation_of(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF is common; pixels may be fine
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


_ORIENTATION = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT, "mirrored"),
    3: (Image.Transpose.ROTATE_180, "rotated 180°"),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, "flipped vertically"),
    5: (Image.Transpose.TRANSPOSE, "mirrored and rotated 90°"),
    6: (Image.Transpose.ROTATE_270, "rotated 90° clockwise"),
    7: (Image.Transpose.TRANSVERSE, "mirrored and rotated 90°"),
    8: (Image.Transpose.ROTATE_90, "rotated 90° counter-clockwise"),
}


def apply_orientation(img: Image.Image, orientation: int, notes: list[str]) -> Image.Image:
    if orientation not in _ORIENTATION:
        return img
    method, words = _ORIENTATION[orientation]
    notes.append(f"EXIF orientation applied ({words})")
    return img.transpose(method)


def to_rgb(img: Image.Image, notes: list[str]) -> Image.Image:
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img.copy()
    if mode.startswith("I;16") or mode == "I":
        return _int_to_rgb(img, notes)
    if mode == "F":
        return _float_to_rgb(img, notes)
    if mode == "LAB":
        # Pillow's plain convert() copies LAB's bands as if they were RGB; go through LittleCMS.
        from PIL import ImageCms

        to_srgb = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
        notes.append("CIELAB colours converted to sRGB")
        return ImageCms.applyTransform(img, to_srgb)
    if mode == "CMYK":
        notes.append("CMYK colours converted to RGB (approximate; colour profile not applied)")
        return img.convert("RGB")
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info
    if not has_alpha:
        return img.convert("RGB")
    if mode in ("La", "RGBa"):  # premultiplied: convert through the straight-alpha mode
        img = img.convert(mode.upper())
    rgba = img.convert("RGBA")
    alpha_min = rgba.getchannel("A").getextrema()[0]
    if alpha_min < 255:
        notes.append("transparency composited on grey")
        background = Image.new("RGBA", rgba.size, (*NEUTRAL_GREY, 255))
        rgba = Image.alpha_composite(background, rgba)
    return rgba.convert("RGB")


def _int_to_rgb(img: Image.Image, notes: list[str]) -> Image.Image:
    a = np.asarray(img).astype(np.int64)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    if img.mode.startswith("I;16") or (lo >= 0 and 255 < hi <= 0xFFFF):
        # 16-bit samples: keep the high byte, as 8-bit decoders of 16-bit files do.
        out = (np.clip(a, 0, 0xFFFF) >> 8).astype(np.uint8)
        notes.append("16-bit image reduced to 8 bits")
    elif lo >= 0 and hi <= 255:
        out = a.astype(np.uint8)  # 8-bit samples stored in 32-bit integers
    else:
        out = _stretch(a.astype(np.float64))
        notes.append(f"32-bit integer image (values {lo} to {hi}) stretched to 8 bits")
    return Image.fromarray(out, "L").convert("RGB")


def _float_to_rgb(img: Image.Image, notes: list[str]) -> Image.Image:
    """Floats in [0, 1] are intensities (scaled by 255); anything else has no absolute scale and is
    stretched min..max onto 0..255. NaN and infinities become black."""
    with np.errstate(invalid="ignore"):  # signalling NaNs in the file flag "invalid" when widened
        a = np.asarray(img).astype(np.float64)
    finite = np.isfinite(a)
    if not finite.all():
        notes.append("non-finite pixel values (NaN/infinity) shown as black")
    values = a[finite]
    if values.size and values.min() >= 0.0 and values.max() <= 1.0:
        out = np.rint(np.where(finite, a, 0.0) * 255.0).astype(np.uint8)
        notes.append("floating-point image (values 0..1) converted to 8 bits")
    else:
        lo = float(values.min()) if values.size else 0.0
        out = _stretch(np.where(finite, a, lo))
        hi = float(values.max()) if values.size else 0.0
        notes.append(f"floating-point image (values {lo:.3g} to {hi:.3g}) stretched to 8 bits")
    return Image.fromarray(out, "L").convert("RGB")


def _stretch(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
