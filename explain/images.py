"""Intake of untrusted image uploads: bytes in, a checked RGB picture (or a human refusal) out.

Everything that reaches the model goes through `check_image`. It detects the format from the bytes
(never the file name), refuses what it cannot judge with an `ImageRejected` whose message is a
sentence for the visitor, and normalises the rest to an 8-bit RGB image the way a person would
see it: EXIF orientation applied, transparency composited on mid grey (never dropped, which would
reveal colours hidden under alpha=0), first frame of animations, high bit depths reduced.

It also records where the model looks. FakeVLM's CLIPImageProcessor resizes the shortest edge to
336 px (bicubic) and centre-crops 336 x 336, so a non-square picture's edges are never seen.
`crop_box_for` reproduces transformers' arithmetic exactly (same int() rounding of the long side,
same floor division for the crop offsets) and maps the crop back to original pixels; the helpers
below it move points and 24 x 24 grid cells between the crop and the original picture.

Coordinates are continuous with pixel edges on integers: pixel i covers [i, i + 1), its centre is
i + 0.5. Boxes are (x0, y0, x1, y1) with x1/y1 exclusive, in the displayed (EXIF-rotated) picture.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

log = logging.getLogger(__name__)

MODEL_SIZE = 336  # CLIP ViT-L/14-336: shortest edge and centre crop
GRID = 24  # 336 / 14-px patches
CELL_GRIDS = tuple(g for g in range(1, GRID + 1) if GRID % g == 0)  # grids of whole-patch cells: 1, 2, ..., 24
NEUTRAL_GREY = (128, 128, 128)
_MIB = 1024 * 1024

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
    max_bytes: int = 20 * _MIB
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
            kwargs["max_bytes"] = int(_positive_number("SPOT_MAX_UPLOAD_MB", raw_mb) * _MIB)
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


BoxF = tuple[float, float, float, float]


@dataclass(frozen=True)
class CheckedImage:
    image: Image.Image = field(repr=False)  # RGB, EXIF-rotated, full size (not cropped)
    sha256: str  # of the original bytes, as uploaded
    format: str  # Pillow's id of the detected format: "JPEG", "PNG", "HEIF", ...
    width: int  # after EXIF rotation, as displayed
    height: int
    crop_box: tuple[int, int, int, int]  # covers every original pixel the model's crop touches
    crop_box_f: BoxF  # the exact crop in original pixel coordinates
    notes: tuple[str, ...]  # what intake did to the picture, in words for the visitor
    byte_size: int


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


def check_image(data: bytes, limits: IntakeLimits = IntakeLimits()) -> CheckedImage:
    """Check and normalise uploaded bytes. Raises only `ImageRejected` for any bytes."""
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
        orientation = _orientation(img)
        try:
            rgb = _to_rgb(img, notes)
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

    rgb = _apply_orientation(rgb, orientation, notes)
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
        crop_box=_cover_box(box_f, rgb.width, rgb.height),
        crop_box_f=box_f,
        notes=tuple(notes),
        byte_size=len(data),
    )


def load_image_file(path: str | os.PathLike[str], limits: IntakeLimits = IntakeLimits()) -> CheckedImage:
    """`check_image` on a file, refusing oversize files before reading them into memory."""
    return check_image(load_image_bytes(path, limits), limits)


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
    return f"{n / _MIB:.1f} MB" if n >= _MIB // 10 else f"{n / 1024:.0f} KB"


def _open(data: bytes) -> ImageFile.ImageFile:
    formats = [f for f in ACCEPTED_FORMATS if f in Image.OPEN]
    try:
        # Pillow warns past its MAX_IMAGE_PIXELS and raises past twice that. Our own cap, checked
        # right after on the same header numbers, is the authority; where warnings are configured
        # as errors the warning arrives here as an exception and is refused like the error.
        # (No warnings.catch_warnings: it is process-global and not thread-safe.)
        return Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(None) from None
    except Image.UnidentifiedImageError:
        raise _not_an_image(data) from None
    except Exception as exc:  # half-parsed headers raise many kinds
        what = _signature_name(data) or "picture"
        if data.startswith(b"\x89PNG") and data[8:16] != b"\x00\x00\x00\x0dIHDR":
            # Garbage after the signature reads as a chunk running past the end ("truncated");
            # a PNG must open with a 13-byte IHDR, so this is damage, not a short file.
            raise ImageRejected(
                "corrupt",
                f"This file starts like {_a(what)} picture but is damaged and cannot be decoded.",
            ) from None
        raise _decode_failure(exc, what) from None


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


def _bomb(size: tuple[int, int] | None) -> ImageRejected:
    what = f" ({size[0]}×{size[1]})" if size else ""
    return ImageRejected(
        "too_many_pixels",
        f"The picture claims an enormous number of pixels{what}, more than we can safely decode. "
        "Please upload a smaller version.",
    )


def _decode(img: ImageFile.ImageFile, limits: IntakeLimits) -> None:
    fmt = _signature_name_for_format(img.format)
    try:
        if img.tell() != 0:  # counting frames may have left a later frame current
            img.seek(0)
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(img.size) from None
    except MemoryError:
        raise _bomb(img.size) from None
    except Exception as exc:  # decoders raise many kinds on bad data
        raise _decode_failure(exc, fmt) from None
    # A frame may grow the canvas while decoding (GIF frames outside the logical screen).
    w, h = img.size
    if w * h > limits.max_pixels:
        raise _bomb(img.size)


def _decode_failure(exc: BaseException, what: str) -> ImageRejected:
    text = str(exc).lower()
    truncated = isinstance(exc, EOFError) or any(
        s in text for s in ("truncat", "end of file", "end of data", "unexpected end", "premature end")
    )
    if truncated:
        return ImageRejected(
            "truncated",
            f"This {what} file is incomplete: it ends before the picture does (an interrupted "
            "download or upload?). Please try the original file.",
        )
    if not isinstance(exc, (OSError, SyntaxError, ValueError, IndexError, KeyError, TypeError, RuntimeError)):
        # Unexpected kinds may be our bug rather than the file's: keep the traceback in the log.
        log.warning("unexpected error decoding %s", what, exc_info=exc)
    return ImageRejected(
        "corrupt",
        f"This {what} file is damaged and cannot be decoded. Please try the original file.",
    )


# (prefix, offset, name, accepted?) — only for telling the visitor what the file looks like.
_SIGNATURES: tuple[tuple[bytes, int, str, bool], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG", True),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG", True),
    (b"GIF87a", 0, "GIF", True),
    (b"GIF89a", 0, "GIF", True),
    (b"WEBP", 8, "WebP", True),
    (b"BM", 0, "BMP", True),
    (b"II*\x00", 0, "TIFF", True),
    (b"MM\x00*", 0, "TIFF", True),
    (b"ftypavi", 4, "AVIF", True),
    (b"ftyphei", 4, "HEIC", True),
    (b"ftyphev", 4, "HEIC", True),
    (b"ftypmif1", 4, "HEIF", True),
    (b"ftypmsf1", 4, "HEIF", True),
    (b"8BPS", 0, "Photoshop (PSD)", False),
    (b"\x00\x00\x01\x00", 0, "icon (ICO)", False),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000", False),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000", False),
    (b"\xff\x0a", 0, "JPEG XL", False),
    (b"\x00\x00\x00\x0cJXL ", 0, "JPEG XL", False),
    (b"qoif", 0, "QOI", False),
    (b"DDS ", 0, "DDS texture", False),
)


def _signature(data: bytes) -> tuple[str, bool] | None:
    for prefix, offset, name, accepted in _SIGNATURES:
        if data[offset : offset + len(prefix)] == prefix:
            return name, accepted
    return None


def _signature_name(data: bytes) -> str | None:
    sig = _signature(data)
    return sig[0] if sig and sig[1] else None


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "AEIOU" else f"a {word}"


def _signature_name_for_format(fmt: str | None) -> str:
    return {"WEBP": "WebP", "MPO": "JPEG", None: "picture"}.get(fmt, str(fmt))


def _not_an_image(data: bytes) -> ImageRejected:
    sig = _signature(data)
    if sig and sig[1]:
        # Starts like something we read, yet no decoder accepts it: damaged header or cut short.
        if len(data) < 64:
            return ImageRejected(
                "truncated",
                f"This {sig[0]} file is incomplete: only {len(data)} bytes arrived. Please try the original file.",
            )
        return ImageRejected(
            "corrupt",
            f"This file starts like {_a(sig[0])} picture but is damaged and cannot be decoded.",
        )
    if sig:
        return ImageRejected(
            "unsupported_format",
            f"This looks like {_a(sig[0])} file, which we cannot read. Please save the picture as JPEG or PNG.",
        )
    kind = _describe_non_image(data)
    return ImageRejected(
        "not_an_image",
        f"This file is {kind}, not a picture. Please upload a JPEG, PNG, WebP or similar photo.",
    )


def _describe_non_image(data: bytes) -> str:
    head = data[:4096]
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (or an Office document)"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").lower()
    if "<svg" in text:
        return "an SVG drawing (vector graphics are not supported; export it as PNG)"
    if text.startswith(("<!doctype html", "<html")) or "<html" in text or "<body" in text:
        return "a web page (HTML)"
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    if text and printable / len(text) > 0.95:
        return "plain text"
    return "in a format we do not recognise"


# --------------------------------------------------------------------------- normalisation


def _orientation(img: Image.Image) -> int:
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


def _apply_orientation(img: Image.Image, orientation: int, notes: list[str]) -> Image.Image:
    if orientation not in _ORIENTATION:
        return img
    method, words = _ORIENTATION[orientation]
    notes.append(f"EXIF orientation applied ({words})")
    return img.transpose(method)


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


def _to_rgb(img: Image.Image, notes: list[str]) -> Image.Image:
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


# --------------------------------------------------------------------------- where the model looks


def resized_size(width: int, height: int, size: int = MODEL_SIZE) -> tuple[int, int]:
    """(new_width, new_height) after CLIP's shortest-edge resize, rounded as transformers does
    (`transformers.image_transforms.get_resize_output_image_size`, default_to_square=False)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def crop_box_for(width: int, height: int, size: int = MODEL_SIZE) -> BoxF:
    """The size x size centre crop the model sees, as a float box in original pixel coordinates."""
    new_w, new_h = resized_size(width, height, size)
    left, top = _crop_offsets(new_w, new_h, size)
    sx, sy = width / new_w, height / new_h
    return (left * sx, top * sy, (left + size) * sx, (top + size) * sy)


def _crop_offsets(new_w: int, new_h: int, size: int) -> tuple[int, int]:
    """(left, top) of the centre crop in the resized image, floored as
    transformers.image_transforms.center_crop does: top = (h - crop_h) // 2."""
    return (new_w - size) // 2, (new_h - size) // 2


def _cover_box(box: BoxF, width: int, height: int) -> tuple[int, int, int, int]:
    eps = 1e-6  # float noise must not grow the box by a whole pixel
    x0, y0, x1, y1 = box
    return (
        max(0, math.floor(x0 + eps)),
        max(0, math.floor(y0 + eps)),
        min(width, math.ceil(x1 - eps)),
        min(height, math.ceil(y1 - eps)),
    )


def crop_to_original(crop_box_f: BoxF, x: float, y: float, size: int = MODEL_SIZE) -> tuple[float, float]:
    """A point in the model's size x size crop -> the same point in original pixels."""
    x0, y0, x1, y1 = crop_box_f
    return x0 + x * (x1 - x0) / size, y0 + y * (y1 - y0) / size


def original_to_crop(crop_box_f: BoxF, x: float, y: float, size: int = MODEL_SIZE) -> tuple[float, float]:
    """A point in original pixels -> the model's crop (outside [0, size) when the model did not see it)."""
    x0, y0, x1, y1 = crop_box_f
    return (x - x0) * size / (x1 - x0), (y - y0) * size / (y1 - y0)


def grid_cell_box(crop_box_f: BoxF, row: int, col: int, grid: int = GRID) -> BoxF:
    """Grid cell (row, col) of the model's patch grid (row 0 at the top) as a box in original pixels."""
    if not (0 <= row < grid and 0 <= col < grid):
        raise ValueError(f"cell ({row}, {col}) is outside a {grid}x{grid} grid")
    x0, y0, x1, y1 = crop_box_f
    cw, ch = (x1 - x0) / grid, (y1 - y0) / grid
    return (x0 + col * cw, y0 + row * ch, x0 + (col + 1) * cw, y0 + (row + 1) * ch)


def original_to_cell(crop_box_f: BoxF, x: float, y: float, grid: int = GRID) -> tuple[int, int] | None:
    """The (row, col) grid cell holding an original-pixel point, or None when outside the crop."""
    x0, y0, x1, y1 = crop_box_f
    u, v = (x - x0) / (x1 - x0), (y - y0) / (y1 - y0)
    if not (0.0 <= u < 1.0 and 0.0 <= v < 1.0):
        return None
    return min(grid - 1, int(v * grid)), min(grid - 1, int(u * grid))


def model_view(checked: CheckedImage, size: int = MODEL_SIZE) -> Image.Image:
    """The size x size picture the model sees: bicubic shortest-edge resize, then centre crop,
    exactly as CLIPImageProcessor's PIL path does it (for display next to the maps)."""
    img = checked.image
    new_w, new_h = resized_size(img.width, img.height, size)
    resized = img.resize((new_w, new_h), resample=Image.Resampling.BICUBIC)
    left, top = _crop_offsets(new_w, new_h, size)
    return resized.crop((left, top, left + size, top + size))
