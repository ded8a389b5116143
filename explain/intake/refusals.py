"""The sentences a refused upload gets: what the bytes look like, and why they cannot be judged."""

from __future__ import annotations

import logging

from .limits import ImageRejected

log = logging.getLogger(__name__)


def bomb(size: tuple[int, int] | None) -> ImageRejected:
    what = f" ({size[0]}×{size[1]})" if size else ""
    return ImageRejected(
        "too_many_pixels",
        f"The picture claims an enormous number of pixels{what}, more than we can safely decode. "
        "Please upload a smaller version.",
    )


def decode_failure(exc: BaseException, what: str) -> ImageRejected:
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


def signature_name(data: bytes) -> str | None:
    sig = _signature(data)
    return sig[0] if sig and sig[1] else None


def a_or_an(word: str) -> str:
    return f"an {word}" if word[:1].upper() in "AEIOU" else f"a {word}"


_TGA_FOOTER = b"TRUEVISION-XFILE.\x00"


def looks_like_tga(data: bytes) -> bool:
    """TGA has no signature: version 2 files end with a footer; version 1 headers must agree
    with the file's size (uncompressed types), which random bytes rarely do."""
    if data.endswith(_TGA_FOOTER):
        return True
    if len(data) < 18:
        return False
    id_len, cmap_type, kind = data[0], data[1], data[2]
    width, height, depth = int.from_bytes(data[12:14], "little"), int.from_bytes(data[14:16], "little"), data[16]
    if cmap_type not in (0, 1) or kind not in (1, 2, 3) or depth not in (8, 15, 16, 24, 32):
        return False
    if width == 0 or height == 0 or (kind == 1) != (cmap_type == 1):
        return False
    cmap = int.from_bytes(data[5:7], "little") * ((data[7] + 7) // 8) if cmap_type else 0
    return len(data) >= 18 + id_len + cmap + width * height * ((depth + 7) // 8)


def signature_name_for_format(fmt: str | None) -> str:
    return {"WEBP": "WebP", "MPO": "JPEG", None: "picture"}.get(fmt, str(fmt))


def not_an_image(data: bytes) -> ImageRejected:
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
            f"This file starts like {a_or_an(sig[0])} picture but is damaged and cannot be decoded.",
        )
    if not sig and looks_like_tga(data):
        sig = ("TGA (Targa) image", False)
    if sig:
        return ImageRejected(
            "unsupported_format",
            f"This looks like {a_or_an(sig[0])} file, which we cannot read. Please save the picture as JPEG or PNG.",
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
