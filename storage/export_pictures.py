"""The picture a FakeClue record points at is the picture its answer talks about, as FakeVLM reads it.

FakeVLM's data loader does `Image.open(path).convert("RGB")` and nothing else: no EXIF rotation,
alpha dropped (never composited), 16-bit greyscale clipped, HEIC not readable at all. The choice made
here, per record:

- The prediction ran on the `paper` preprocessing: the model saw exactly what that loader sees, so
  the stored bytes are exported byte-exact and the record carries their raw width and height.
- The prediction ran on the `default` preprocessing (what the visitor saw: EXIF orientation
  applied, transparency composited on mid grey, 16 bits reduced to their high byte): when the stored
  bytes already read that way through the loader, they are exported byte-exact (their own
  compression traces untouched); otherwise that view is baked into a lossless PNG, so its pixels are
  exactly the decoded pixels the visitor and the model saw (a JPEG's block traces stay in them).

Width and height in the record are always read back from the exported bytes through the loader.
The view mirrors `explain.intake.colour` (which storage may not import); the export tests check
that both give the same pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

_UNREADABLE = ("heic", "avif")
GREY = (128, 128, 128)  # explain.intake.colour.NEUTRAL_GREY
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class ExportPicture:
    data: bytes
    ext: str  # file extension without the dot
    width: int  # as FakeVLM's loader reads `data`
    height: int
    rewritten: bool  # False: the stored bytes as they are


def loader_view(data: bytes) -> Image.Image:
    """FakeVLM's loader on bytes: PIL open, `convert("RGB")`."""
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


def visitor_view(data: bytes) -> Image.Image:
    """The `default` preprocessing's picture: first frame, 8-bit RGB, alpha on grey, EXIF-rotated."""
    _register_heif()
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        try:
            orientation = int(img.getexif().get(0x0112, 1))
        except Exception:  # malformed EXIF: the intake treats it as no orientation too
            orientation = 1
        rgb = _to_rgb(img)
    return rgb.transpose(_TRANSPOSE[orientation]) if orientation in _TRANSPOSE else rgb


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I;16") or img.mode == "I":
        a = np.clip(np.asarray(img).astype(np.int64), 0, 0xFFFF)
        if img.mode.startswith("I;16") or a.max() > 255:
            a = a >> 8  # 16-bit samples: the high byte, as the intake keeps it
        return Image.fromarray(a.astype(np.uint8), "L").convert("RGB")
    if img.mode not in _ALPHA_MODES and "transparency" not in img.info:
        return img.convert("RGB")
    if img.mode in ("La", "RGBa"):  # premultiplied: through the straight-alpha mode
        img = img.convert(img.mode.upper())
    rgba = img.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] < 255:
        rgba = Image.alpha_composite(Image.new("RGBA", rgba.size, (*GREY, 255)), rgba)
    return rgba.convert("RGB")


def export_picture(data: bytes, ext: str, preprocess: str) -> ExportPicture | None:
    """The bytes to export for one record, or None when no faithful picture can be made."""
    try:
        if preprocess == "paper":
            seen = loader_view(data)
            return ExportPicture(data, ext, seen.width, seen.height, False)
        view = visitor_view(data)
        # FakeVLM's Pillow opens neither HEIC (a plugin) nor, before Pillow 11.3, AVIF: always rewritten
        as_is = None if ext in _UNREADABLE else loader_view(data)
        if as_is is not None and as_is.size == view.size and np.array_equal(np.asarray(as_is), np.asarray(view)):
            return ExportPicture(data, ext, view.width, view.height, False)
        buf = io.BytesIO()
        view.save(buf, "PNG", optimize=False)
        return ExportPicture(buf.getvalue(), "png", view.width, view.height, True)
    except Exception:  # undecodable stored bytes: the caller counts the record as skipped
        return None


def _register_heif() -> None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except Exception:  # absent: HEIC pictures are skipped as undecodable
        pass
