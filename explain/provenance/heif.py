"""EXIF in HEIF/AVIF files, found with a bounded search rather than a walk of the box tree."""

from __future__ import annotations

import struct

from . import limits


def heif_exif(data: bytes, end: int) -> bytes | None:
    """The TIFF part of a HEIF 'Exif' item, found without walking the box tree.

    The item's payload is a 4-byte big-endian offset N, N bytes (usually "Exif\0\0", but phones
    often write N = 0 with no prefix at all), then the TIFF header. "Exif\0\0" also names the
    item type in the item info box, so what is looked for is a TIFF header right after either
    "Exif\0\0" or a zero offset word (then checked to hold a plausible first directory).
    """
    for header in (b"II*\x00", b"MM\x00*"):
        at = data.find(header, 0, end)
        for _ in range(64):  # pixel data can hold the 4 bytes by chance: look a bounded while
            if at < 0:
                break
            if at >= 4 and data[at - 4 : at] == b"\x00\x00\x00\x00" and _plausible_tiff(data, at):
                return data[at : at + limits.MAX_EXIF_BYTES]
            if at >= 6 and data[at - 6 : at] == b"Exif\x00\x00":
                return data[at : at + limits.MAX_EXIF_BYTES]
            at = data.find(header, at + 4, end)
    return None


def _plausible_tiff(data: bytes, at: int) -> bool:
    """IFD0 lies inside the file and holds 1-512 entries: not 8 random bytes of pixel data."""
    e = "<" if data[at : at + 2] == b"II" else ">"
    ifd = struct.unpack(e + "I", data[at + 4 : at + 8])[0] if len(data) >= at + 8 else 0
    if ifd < 8 or at + ifd + 2 > len(data):
        return False
    return 1 <= struct.unpack(e + "H", data[at + ifd : at + ifd + 2])[0] <= limits.MAX_EXIF_ENTRIES
