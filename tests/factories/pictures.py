"""Pictures that FakeVLM's loader (PIL open + convert("RGB")) reads differently from a person:
EXIF-rotated, transparent, 16-bit. Shared by the intake and export tests of issue 18."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _noise(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def rotated_jpeg(width: int = 600, height: int = 450, orientation: int = 6, seed: int = 0) -> bytes:
    """A landscape photo stored as width x height, to be shown rotated (orientation 6: 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(_noise(width, height, seed)).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def transparent_png(width: int = 400, height: int = 360, seed: int = 1) -> bytes:
    """Left half fully transparent over pure red (never seen by a person), right half opaque noise."""
    a = np.zeros((height, width, 4), np.uint8)
    a[:, : width // 2] = (255, 0, 0, 0)
    a[:, width // 2 :, :3] = _noise(width - width // 2, height, seed)
    a[:, width // 2 :, 3] = 255
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def rgb16_png(width: int = 380, height: int = 340, seed: int = 2) -> bytes:
    """16-bit-per-sample colour PNG (written by hand: Pillow cannot write it)."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, 65536, (height, width * 3), dtype=np.uint16).astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in samples)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def grey16_png(width: int = 360, height: int = 350, seed: int = 3) -> bytes:
    """16-bit greyscale PNG (Pillow mode I;16), whose values mostly lie above 255."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 65536, (height, width), dtype=np.uint16)
    buf = io.BytesIO()
    Image.fromarray(a, "I;16").save(buf, "PNG")
    return buf.getvalue()


def fakevlm_reads(data: bytes) -> Image.Image:
    """FakeVLM's data loader: `Image.open(path).convert("RGB")`, nothing else."""
    return Image.open(io.BytesIO(data)).convert("RGB")
