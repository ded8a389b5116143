"""Intake of untrusted image uploads: bytes in, a checked RGB picture (or a human refusal) out.

Everything that reaches the model goes through `check_image`. It detects the format from the bytes
(never the file name), refuses what it cannot judge with an `ImageRejected` whose message is a
sentence for the visitor, and normalises the rest to an 8-bit RGB image the way a person would
see it (colour.py): EXIF orientation applied, transparency composited on mid grey, first frame of
animations, high bit depths reduced. It also records the crop box the model sees (geometry.py).

`preprocess="paper"` feeds the model what FakeVLM's evaluation fed it instead: the first frame as
PIL's `Image.open(...).convert("RGB")` gives it (EXIF orientation ignored, alpha dropped, not
composited), with the same checks and the same refusals; its notes say what differs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from pathlib import Path

from PIL import Image, ImageFile

from .colour import apply_orientation, orientation_of, to_rgb
from .geometry import MODEL_SIZE, cover_box, crop_box_for
from .limits import ACCEPTED_FORMATS, MIB, CheckedImage, ImageRejected, IntakeLimits
from .refusals import a_or_an, bomb, decode_failure, not_an_image, signature_name, signature_name_for_format

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- plugins


_plugins_lock = threading.Lock()
_plugins_done = False


def _register_plugins() -> None:
    """Register HEIF (pillow-heif) and, where Pillow lacks it, AVIF (pillow-avif-plugin) once.

    Lazy so importing this module stays cheap; absence of either package only narrows formats.
    """
    global _plugins_done
    if _plugins_done:
        return
    with _plugins_lock:
        if _plugins_done:
            return
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except Exception as exc:  # ImportError or a broken native lib
            log.info("HEIF support unavailable: %s", exc)
        Image.init()
        if "AVIF" not in Image.OPEN:
            try:
                import pillow_avif  # noqa: F401  (registers the AVIF opener on import)
            except Exception as exc:  # absence only narrows formats
                log.info("AVIF support unavailable: %s", exc)
        _plugins_done = True


def available_formats() -> tuple[str, ...]:
    """The accepted formats this installation can actually decode (for the UI's hints)."""
    _register_plugins()
    return tuple(f for f in ACCEPTED_FORMATS if f in Image.OPEN)


# --------------------------------------------------------------------------- intake


PREPROCESSING = ("default", "paper")


def check_image(data: bytes, limits: IntakeLimits = IntakeLimits(), preprocess: str = "default") -> CheckedImage:
    """Check and normalise uploaded bytes. Raises only `ImageRejected` for any bytes."""
    if preprocess not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {preprocess!r}; use 'default' or 'paper'")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"check_image wants bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ImageRejected("empty", "The file is empty. Please choose a picture to upload.")
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            "too_large",
            f"The file is {_mb(len(data))} and the limit is {_mb(limits.max_bytes)}. "
            "Please upload a smaller version of the picture.",
        )
    digest = hashlib.sha256(data).hexdigest()
    _register_plugins()

    img = _open(data)
    try:
        fmt = "JPEG" if img.format == "MPO" else str(img.format)
        # Rotation swaps width and height, which none of these checks care about.
        _check_geometry(*img.size, limits)

        notes: list[str] = []
        # Pillow truncates 16-bit colour PNG/TIFF to 8 bits while decoding; say so. (Read the
        # tile before anything loads the pixels: PNG's getexif() does, and clears it.)
        if img.mode in ("RGB", "RGBA") and any(";16" in _tile_rawmode(t) for t in img.tile):
            notes.append("16-bit image reduced to 8 bits")
        frame_note = _frames_note(img, fmt)
        if frame_note:
            notes.insert(0, frame_note)
        if fmt == "PNG":
            extra = _bytes_after_png_end(data)
            if extra:
                notes.append(f"{extra} bytes of extra data after the end of the PNG were ignored")

        _decode(img, limits)
        # Only after decoding: PNG's getexif() loads the pixels and _orientation swallows errors.
        orientation = orientation_of(img)
        try:
            rgb = _paper_rgb(img, orientation, notes) if preprocess == "paper" else to_rgb(img, notes)
        except ImageRejected:
            raise
        except Exception:
            log.warning("colour conversion failed for %s %s", img.format, img.mode, exc_info=True)
            raise ImageRejected(
                "unsupported_format",
                f"This {fmt} picture uses a colour mode ({img.mode}) we cannot convert. "
                "Please save it as an ordinary RGB JPEG or PNG.",
            ) from None
    finally:
        img.close()

    if preprocess == "default":
        rgb = apply_orientation(rgb, orientation, notes)
    if min(rgb.size) < MODEL_SIZE:
        notes.append(
            f"the picture is smaller than the model's {MODEL_SIZE}-pixel view and was enlarged, which blurs fine detail"
        )
    box_f = crop_box_for(rgb.width, rgb.height)
    return CheckedImage(
        image=rgb,
        sha256=digest,
        format=fmt,
        width=rgb.width,
        height=rgb.height,
        crop_box=cover_box(box_f, rgb.width, rgb.height),
        crop_box_f=box_f,
        notes=tuple(notes),
        byte_size=len(data),
        preprocess=preprocess,
    )


def _paper_rgb(img: Image.Image, orientation: int, notes: list[str]) -> Image.Image:
    """FakeVLM's loader: `convert("RGB")` and nothing else (so alpha is dropped, never composited)."""
    if orientation != 1:
        notes.append("EXIF orientation ignored (paper preprocessing)")
    if img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info:
        notes.append("transparency dropped, not composited (paper preprocessing)")
    return img.convert("RGB")


def load_image_file(
    path: str | os.PathLike[str], limits: IntakeLimits = IntakeLimits(), preprocess: str = "default"
) -> CheckedImage:
    """`check_image` on a file, refusing oversize files before reading them into memory."""
    return check_image(load_image_bytes(path, limits), limits, preprocess)


def load_image_bytes(path: str | os.PathLike[str], limits: IntakeLimits = IntakeLimits()) -> bytes:
    """The file's original bytes, refusing oversize files before reading them into memory.

    For callers that need the bytes as well as the CheckedImage (provenance reads the metadata).
    """
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limits.max_bytes:
                raise ImageRejected(
                    "too_large",
                    f"The file is {_mb(size)} and the limit is {_mb(limits.max_bytes)}. "
                    "Please upload a smaller version of the picture.",
                )
            # st_size lies for pipes and special files: never read past the cap regardless.
            return fh.read(limits.max_bytes + 1)
    except ImageRejected:
        raise
    except OSError as exc:
        log.warning("cannot read upload %s: %s", Path(path).name, exc)
        raise ImageRejected("unreadable", "The uploaded file could not be read. Please try again.") from None


def _mb(n: int) -> str:
    return f"{n / MIB:.1f} MB" if n >= MIB // 10 else f"{n / 1024:.0f} KB"


def _open(data: bytes) -> ImageFile.ImageFile:
    formats = [f for f in ACCEPTED_FORMATS if f in Image.OPEN]
    try:
        # Pillow warns past its MAX_IMAGE_PIXELS and raises past twice that. Our own cap, checked
        # right after on the same header numbers, is the authority; where warnings are configured
        # as errors the warning arrives here as an exception and is refused like the error.
        # (No warnings.catch_warnings: it is process-global and not thread-safe.)
        return Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb(None) from None
    except Image.UnidentifiedImageError:
        raise not_an_image(data) from None
    except Exception as exc:  # half-parsed headers raise many kinds
        what = signature_name(data) or "picture"
        if data.startswith(b"\x89PNG") and data[8:16] != b"\x00\x00\x00\x0dIHDR":
            # Garbage after the signature reads as a chunk running past the end ("truncated");
            # a PNG must open with a 13-byte IHDR, so this is damage, not a short file.
            raise ImageRejected(
                "corrupt",
                f"This file starts like {a_or_an(what)} picture but is damaged and cannot be decoded.",
            ) from None
        raise decode_failure(exc, what) from None


def _check_geometry(width: int, height: int, limits: IntakeLimits) -> None:
    """Size checks on the header's numbers, before a single pixel is decoded."""
    if width <= 0 or height <= 0:
        raise ImageRejected("corrupt", "The picture file claims to have no pixels; it is damaged.")
    if width * height > limits.max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"The picture is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels) and the "
            f"limit is {limits.max_pixels / 1e6:g} megapixels. Please upload a smaller version.",
        )
    short, long = min(width, height), max(width, height)
    if short < limits.min_side:
        raise ImageRejected(
            "too_small",
            f"The picture is only {width}×{height} pixels; at least {limits.min_side} pixels on each "
            "side are needed to judge it.",
        )
    if long / short > limits.max_aspect:
        seen = 100.0 * short / long
        raise ImageRejected(
            "aspect_ratio",
            f"The picture is {width}×{height} pixels, about {long / short:.0f}:1. The model looks only at "
            f"the centre square, which would show {seen:.0f}% of it. Please crop it closer to square "
            f"(at most {limits.max_aspect:g}:1).",
        )


def _decode(img: ImageFile.ImageFile, limits: IntakeLimits) -> None:
    fmt = signature_name_for_format(img.format)
    try:
        if img.tell() != 0:  # counting frames may have left a later frame current
            img.seek(0)
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb(img.size) from None
    except MemoryError:
        raise bomb(img.size) from None
    except Exception as exc:  # decoders raise many kinds on bad data
        raise decode_failure(exc, fmt) from None
    # A frame may grow the canvas while decoding (GIF frames outside the logical screen).
    w, h = img.size
    if w * h > limits.max_pixels:
        raise bomb(img.size)


def _frames_note(img: Image.Image, fmt: str) -> str | None:
    try:
        n = int(getattr(img, "n_frames", 1))
    except Exception:  # a broken tail is refused by the decode
        return None
    if n <= 1:
        return None
    if fmt == "TIFF":
        return f"multi-page TIFF: first of {n} pages used"
    if fmt == "HEIF":
        return f"HEIF with {n} images: the first one used"
    if img.format == "MPO":
        return f"multi-picture JPEG: first of {n} pictures used"
    label = {"WEBP": "WebP", "PNG": "PNG (APNG)"}.get(fmt, fmt)
    return f"animated {label}: first of {n} frames used"


def _tile_rawmode(tile: object) -> str:
    args = getattr(tile, "args", None)
    if isinstance(args, tuple) and args:
        args = args[0]
    return args if isinstance(args, str) else ""


def _bytes_after_png_end(data: bytes) -> int:
    """Bytes after the IEND chunk (0 when none or when the chunk walk does not reach IEND)."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return max(0, len(data) - pos)
    return 0
