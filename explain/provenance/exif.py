"""A small, bounded EXIF (TIFF directory) reader for the few tags provenance needs.

Pillow's EXIF reader is built for round-tripping every tag; we need a dozen, from hostile bytes,
with hard caps on directories, entries and value sizes, and a guarantee that GPS coordinates are
never even decoded: for GPS we keep only which tags exist.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from . import limits

# Tag numbers (EXIF 2.32 / TIFF 6.0).
IMAGE_DESCRIPTION = 0x010E
MAKE = 0x010F
MODEL = 0x0110
SOFTWARE = 0x0131
DATETIME = 0x0132
ARTIST = 0x013B
COPYRIGHT = 0x8298
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
EXPOSURE_TIME = 0x829A
F_NUMBER = 0x829D
ISO = 0x8827
DATETIME_ORIGINAL = 0x9003
FOCAL_LENGTH = 0x920A
MAKER_NOTE = 0x927C
USER_COMMENT = 0x9286
PIXEL_X = 0xA002
PIXEL_Y = 0xA003
LENS_MAKE = 0xA433
LENS_MODEL = 0xA434

_WANTED = {
    IMAGE_DESCRIPTION, MAKE, MODEL, SOFTWARE, DATETIME, ARTIST, COPYRIGHT, EXPOSURE_TIME, F_NUMBER,
    ISO, DATETIME_ORIGINAL, FOCAL_LENGTH, MAKER_NOTE, USER_COMMENT, PIXEL_X, PIXEL_Y, LENS_MAKE,
    LENS_MODEL, *range(0x0109, 0x010E),  # 0x0109-0x010D: where ComfyUI puts extra keys
}  # fmt: skip
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
# A UserComment with generator parameters, or a ComfyUI graph in Make/Model, fits; more is cut.
_MAX_VALUE_BYTES = 256 * 1024


@dataclass
class ExifData:
    """Decoded values of the wanted tags. GPS: tag numbers only, never values."""

    values: dict[int, str | int | float | bytes] = field(default_factory=dict)
    maker_note_bytes: int = 0
    gps_tags: frozenset[int] = frozenset()
    notes: list[str] = field(default_factory=list)

    def text(self, tag: int) -> str | None:
        v = self.values.get(tag)
        return v if isinstance(v, str) and v.strip() else None

    def number(self, tag: int) -> float | None:
        v = self.values.get(tag)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    @property
    def gps_present(self) -> bool:
        """Latitude or longitude tags exist (GPS tags 1-4)."""
        return bool(self.gps_tags & {1, 2, 3, 4})


def parse_exif(tiff: bytes | None) -> ExifData:
    out = ExifData()
    if not tiff or len(tiff) < 8:
        return out
    order = tiff[:2]
    if order == b"II":
        e = "<"
    elif order == b"MM":
        e = ">"
    else:
        out.notes.append("EXIF has no valid byte-order mark")
        return out
    if struct.unpack(e + "H", tiff[2:4])[0] != 42:
        out.notes.append("EXIF has no valid TIFF header")
        return out
    first = struct.unpack(e + "I", tiff[4:8])[0]
    visited: set[int] = set()
    ifd0 = _read_ifd(tiff, e, first, visited, out)
    pointers = {EXIF_IFD: ifd0.get(EXIF_IFD), GPS_IFD: ifd0.get(GPS_IFD)}
    if isinstance(pointers[EXIF_IFD], int):
        _read_ifd(tiff, e, pointers[EXIF_IFD], visited, out)
    if isinstance(pointers[GPS_IFD], int):
        out.gps_tags = frozenset(_ifd_tags(tiff, e, pointers[GPS_IFD], visited, out))
    return out


def _entries(tiff: bytes, e: str, offset: int, visited: set[int], out: ExifData):
    """Yield (tag, type, count, value_field_offset) of one directory, within the caps."""
    if offset in visited or len(visited) >= limits.MAX_EXIF_IFDS:
        out.notes.append("EXIF directories loop or are too many; stopped")
        return
    visited.add(offset)
    if offset + 2 > len(tiff):
        out.notes.append("an EXIF directory points past the end")
        return
    count = struct.unpack(e + "H", tiff[offset : offset + 2])[0]
    if count > limits.MAX_EXIF_ENTRIES:
        out.notes.append(f"an EXIF directory claims {count} entries; read the first few")
        count = limits.MAX_EXIF_ENTRIES
    for i in range(count):
        at = offset + 2 + 12 * i
        if at + 12 > len(tiff):
            out.notes.append("an EXIF directory is cut short")
            return
        tag, typ, n = struct.unpack(e + "HHI", tiff[at : at + 8])
        yield tag, typ, n, at + 8


def _ifd_tags(tiff: bytes, e: str, offset: int, visited: set[int], out: ExifData) -> list[int]:
    return [tag for tag, _, _, _ in _entries(tiff, e, offset, visited, out)]


def _read_ifd(
    tiff: bytes, e: str, offset: int, visited: set[int], out: ExifData
) -> dict[int, int]:
    """Store wanted tags into `out.values`; return the sub-directory pointers found."""
    pointers: dict[int, int] = {}
    for tag, typ, n, field_at in _entries(tiff, e, offset, visited, out):
        if tag in (EXIF_IFD, GPS_IFD) and typ in (4, 13) and n == 1:
            pointers[tag] = struct.unpack(e + "I", tiff[field_at : field_at + 4])[0]
            continue
        if tag not in _WANTED or tag in out.values:
            continue
        size = _TYPE_SIZES.get(typ, 0) * n
        if size == 0:
            continue
        if tag == MAKER_NOTE:
            out.maker_note_bytes = size
            continue
        if size <= 4:
            raw = tiff[field_at : field_at + size]
        else:
            at = struct.unpack(e + "I", tiff[field_at : field_at + 4])[0]
            raw = tiff[at : at + min(size, _MAX_VALUE_BYTES)]
            if at >= len(tiff) or not raw:
                continue
        value = _decode(raw, typ, e)
        if value is not None:
            out.values[tag] = value
    return pointers


def _decode(raw: bytes, typ: int, e: str) -> str | int | float | bytes | None:
    if typ == 2:  # ASCII (in practice often UTF-8)
        return raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace")
    if typ == 7:  # UNDEFINED: UserComment and friends
        return raw
    if typ == 3 and len(raw) >= 2:
        return struct.unpack(e + "H", raw[:2])[0]
    if typ == 4 and len(raw) >= 4:
        return struct.unpack(e + "I", raw[:4])[0]
    if typ in (5, 10) and len(raw) >= 8:
        num, den = struct.unpack(e + ("II" if typ == 5 else "ii"), raw[:8])
        return num / den if den else None
    if typ in (1, 6) and raw:  # BYTE: a number, or (as some writers store comments) bytes
        return raw[0] if len(raw) == 1 else raw
    return None


_KEYED_JSON = re.compile(r"\s*([A-Za-z_][\w-]{0,40}):\s*[{\[]")


def keyed_json(value: str | None) -> tuple[str, str] | None:
    """("prompt", "{...}") for a text like 'prompt:{...}'.

    ComfyUI's WebP and animated saves put its graphs into EXIF Model ("prompt:{...}") and Make
    ("workflow:{...}"), counting tag numbers down from Make for further keys: such a value is
    a generator's, never a camera's.
    """
    if not value:
        return None
    m = _KEYED_JSON.match(value[:64])
    if not m:
        return None
    return m.group(1), value[m.end() - 1 :]


def decode_user_comment(raw: bytes | str | None) -> str | None:
    """EXIF UserComment: an 8-byte charset header, then the text (generators put settings here)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, (bytes, bytearray)):
        return None
    head, body = raw[:8], raw[8:]
    if head.startswith(b"UNICODE"):
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace")
        # No BOM: EXIF says "the byte order of the file", but writers disagree; pick the one
        # that reads as mostly ASCII.
        be = body.decode("utf-16-be", errors="replace")
        le = body.decode("utf-16-le", errors="replace")
        return be if sum(c < "\x80" for c in be) >= sum(c < "\x80" for c in le) else le
    if head.startswith(b"ASCII") or head == b"\x00" * 8:
        return body.split(b"\x00", 1)[0].decode("utf-8", errors="replace") or None
    return raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace") or None
