"""Bounded walk over an image file's container: where the metadata lives, without decoding pixels.

JPEG segments, PNG chunks and WebP (RIFF) chunks are walked by hand, because a general decoder
either reads more than we need or gives up on files that are merely odd. Every length a file
declares is checked against the bytes that are really there, every loop has a cap
(`limits.py`), compressed text is inflated with a ceiling, and nothing is decoded past the
headers. Other formats (TIFF, GIF, HEIF/AVIF) get their size from the header and a bounded scan
for EXIF and XMP. Problems go into `Container.notes`; nothing here raises for any input.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

from . import limits
from .heif import heif_exif

JPEG_XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_XMP_EXT_ID = b"http://ns.adobe.com/xmp/extension/\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass
class JpegInfo:
    quant_tables: dict[int, tuple[int, ...]] = field(default_factory=dict)  # id -> 64, natural order
    quant_precision16: bool = False
    progressive: bool = False
    app_markers: list[str] = field(default_factory=list)  # e.g. ["APP0:JFIF", "APP1:Exif"]
    components: int = 0


@dataclass
class Container:
    """What the metadata walk found. Byte fields are bounded copies, never the whole file."""

    file_format: str = "unknown"
    width: int | None = None
    height: int | None = None
    exif: bytes | None = None  # TIFF-structured EXIF (starts with b"II*\0" or b"MM\0*")
    xmp: list[bytes] = field(default_factory=list)
    text: list[tuple[str, str]] = field(default_factory=list)  # PNG text chunks, in file order
    iptc: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # IIM (record, dataset)
    icc: bool = False
    srgb: bool = False
    c2pa_embedded: bool = False
    jpeg: JpegInfo | None = None
    chunk_types: list[str] = field(default_factory=list)  # PNG/WebP chunk types seen, deduplicated
    notes: list[str] = field(default_factory=list)

    def text_value(self, key: str) -> str | None:
        """The first text chunk whose keyword is `key` (PNG keywords are case-sensitive)."""
        for k, v in self.text:
            if k == key:
                return v
        return None

    @property
    def has_origin_metadata(self) -> bool:
        """Anything that could say where the file comes from (colour profiles do not count)."""
        return bool(self.exif or self.xmp or self.text or self.iptc or self.c2pa_embedded)


def sniff_format(data: bytes) -> str:
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:2] == b"BM":
        return "bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"):
            return "heif"
    return "unknown"


def read_container(data: bytes) -> Container:
    c = Container(file_format=sniff_format(data))
    view = memoryview(data)[: limits.MAX_SCAN_BYTES]
    try:
        if c.file_format == "jpeg":
            _walk_jpeg(view, c)
        elif c.file_format == "png":
            _walk_png(view, c)
        elif c.file_format == "webp":
            _walk_webp(view, c)
        else:
            _walk_other(data, c)
    except Exception as exc:  # a walker bug must not take intake down
        c.notes.append(f"metadata walk stopped early ({type(exc).__name__})")
    if len(data) > limits.MAX_SCAN_BYTES:
        c.notes.append(f"only the first {limits.MAX_SCAN_BYTES // (1024 * 1024)} MB were searched")
    return c


# --- JPEG -----------------------------------------------------------------------------------


def _walk_jpeg(v: memoryview, c: Container) -> None:
    info = JpegInfo()
    c.jpeg = info
    pos, n, segments = 2, len(v), 0
    while pos + 4 <= n:
        if v[pos] != 0xFF:
            c.notes.append("JPEG segment structure is broken")
            return
        marker = v[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:  # end of image before any scan
            return
        length = struct.unpack(">H", v[pos + 2 : pos + 4])[0]
        if length < 2 or pos + 2 + length > n:
            c.notes.append(f"JPEG segment {marker:#04x} runs past the end of the file")
            if length >= 2 and 0xE0 <= marker <= 0xEF:  # still say what it was (e.g. C2PA)
                _jpeg_segment(marker, v[pos + 4 : n], c, info)
            return
        payload = v[pos + 4 : pos + 2 + length]
        _jpeg_segment(marker, payload, c, info)
        if marker == 0xDA:  # start of scan: the metadata header is over
            return
        pos += 2 + length
        segments += 1
        if segments > limits.MAX_CHUNKS:
            c.notes.append("too many JPEG segments; stopped reading")
            return


def _jpeg_segment(marker: int, p: memoryview, c: Container, info: JpegInfo) -> None:
    if marker == 0xDB:
        _jpeg_dqt(p, info)
    elif marker in _SOF and len(p) >= 6:
        c.height, c.width = struct.unpack(">HH", p[1:5])
        info.components = p[5]
        info.progressive = marker in _PROGRESSIVE_SOF
    elif 0xE0 <= marker <= 0xEF:
        app = marker - 0xE0
        head = bytes(p[:40])
        name = _app_name(app, head)
        if len(info.app_markers) < 64:
            info.app_markers.append(f"APP{app}:{name}")
        if app == 1 and head.startswith(b"Exif\x00") and c.exif is None:
            c.exif = bytes(p[6 : 6 + limits.MAX_EXIF_BYTES])
        elif app == 1 and head.startswith(JPEG_XMP_ID):
            _add_xmp(c, p[len(JPEG_XMP_ID) :])
        elif app == 1 and head.startswith(JPEG_XMP_EXT_ID):
            c.notes.append("extended XMP is present and was not read")
        elif app == 2 and head.startswith(b"ICC_PROFILE"):
            c.icc = True
        elif app == 11 and head[:2] == b"JP" and b"c2pa" in bytes(p[:64]):
            c.c2pa_embedded = True
        elif app == 13 and head.startswith(b"Photoshop 3.0\x00"):
            _photoshop_irb(p[14:], c)


def _app_name(app: int, head: bytes) -> str:
    if app == 0 and head.startswith(b"JFIF"):
        return "JFIF"
    if app == 1 and head.startswith(b"Exif"):
        return "Exif"
    if app == 1 and head.startswith(b"http://ns.adobe.com/"):
        return "XMP"
    if app == 2 and head.startswith(b"ICC_PROFILE"):
        return "ICC"
    if app == 11 and head[:2] == b"JP":
        return "JUMBF"
    if app == 13 and head.startswith(b"Photoshop"):
        return "Photoshop"
    if app == 14 and head.startswith(b"Adobe"):
        return "Adobe"
    word = re.match(rb"[A-Za-z][A-Za-z0-9 ._-]{1,15}", head)
    return word.group(0).decode("ascii") if word else "?"


def _jpeg_dqt(p: memoryview, info: JpegInfo) -> None:
    pos = 0
    while pos < len(p):
        pq, tq = p[pos] >> 4, p[pos] & 0x0F
        size = 128 if pq else 64
        if pos + 1 + size > len(p):
            return
        if pq:
            zz = struct.unpack(">64H", p[pos + 1 : pos + 1 + size])
            info.quant_precision16 = True
        else:
            zz = tuple(p[pos + 1 : pos + 1 + size])
        natural = [0] * 64
        for i, z in enumerate(ZIGZAG):
            natural[z] = zz[i]
        info.quant_tables[tq] = tuple(natural)
        pos += 1 + size


# Position in natural (row-major) order of the i-th coefficient in zigzag order.
ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip


def _photoshop_irb(p: memoryview, c: Container) -> None:
    """Photoshop image resource blocks; resource 0x0404 holds IPTC-IIM records."""
    pos, blocks = 0, 0
    while pos + 12 <= len(p) and blocks < 256:
        blocks += 1
        if bytes(p[pos : pos + 4]) != b"8BIM":
            return
        rid = struct.unpack(">H", p[pos + 4 : pos + 6])[0]
        name_len = p[pos + 6]
        pos += 7 + name_len + ((1 + name_len) % 2)  # Pascal name, padded to even
        if pos + 4 > len(p):
            return
        size = struct.unpack(">I", p[pos : pos + 4])[0]
        pos += 4
        if pos + size > len(p):
            return
        if rid == 0x0404:
            _iptc_iim(p[pos : pos + size], c)
        pos += size + (size % 2)


def _iptc_iim(p: memoryview, c: Container) -> None:
    pos, count = 0, 0
    while pos + 5 <= len(p) and count < 512:
        count += 1
        if p[pos] != 0x1C:
            return
        record, dataset = p[pos + 1], p[pos + 2]
        size = struct.unpack(">H", p[pos + 3 : pos + 5])[0]
        if size & 0x8000:  # extended length: never used by the fields we read
            return
        pos += 5
        value = bytes(p[pos : pos + size])
        pos += size
        values = c.iptc.setdefault((record, dataset), [])
        if len(values) < 16:
            values.append(value.decode("utf-8", errors="replace"))


def _add_xmp(c: Container, packet: memoryview) -> None:
    if len(c.xmp) >= limits.MAX_XMP_PACKETS:
        c.notes.append("more XMP packets than we read")
        return
    if len(packet) > limits.MAX_XMP_PACKET:
        c.notes.append(f"an XMP packet of {len(packet)} bytes is too large to read")
        return
    c.xmp.append(bytes(packet))


# --- PNG ------------------------------------------------------------------------------------


def _walk_png(v: memoryview, c: Container) -> None:
    pos, n, count, text_total, skipped_text = 8, len(v), 0, 0, 0
    seen: set[str] = set()
    while pos + 8 <= n:
        length, ctype = struct.unpack(">I4s", v[pos : pos + 8])
        name = ctype.decode("latin-1")
        data_start = pos + 8
        if data_start + length > n:
            c.notes.append(f"PNG chunk {name!r} runs past the end of the file")
            length = n - data_start  # read what is there: truncated uploads are common
        count += 1
        if count > limits.MAX_CHUNKS:
            c.notes.append("too many PNG chunks; stopped reading")
            break
        if name not in seen and len(seen) < 64:
            seen.add(name)
            c.chunk_types.append(name)
        chunk = v[data_start : data_start + length]
        if name == "IHDR" and length >= 8:
            c.width, c.height = struct.unpack(">II", chunk[:8])
        elif name in ("tEXt", "zTXt", "iTXt"):
            kept = _png_text(name, chunk, c, text_total)
            if kept < 0:
                skipped_text += 1
            text_total += max(kept, 0)
        elif name == "eXIf" and c.exif is None:
            c.exif = bytes(chunk[: limits.MAX_EXIF_BYTES])
        elif name == "iCCP":
            c.icc = True
        elif name == "sRGB":
            c.srgb = True
        elif name == "caBX":
            c.c2pa_embedded = True
        elif name == "IEND":
            break
        pos = data_start + length + 4  # skip the CRC: we trust no byte of it anyway
    if skipped_text:
        c.notes.append(f"{skipped_text} PNG text chunks past the first {limits.MAX_TEXT_ENTRIES} skipped")


def _png_text(name: str, chunk: memoryview, c: Container, text_total: int) -> int:
    """Store one text chunk (bounded); return the number of bytes kept, -1 if none may be."""
    if len(c.text) >= limits.MAX_TEXT_ENTRIES:
        return -1
    budget = min(limits.MAX_TEXT_VALUE, limits.MAX_TEXT_TOTAL - text_total)
    if budget <= 0:
        return 0
    head = bytes(chunk[:80])
    nul = head.find(b"\x00")
    if nul < 1:
        return 0
    key = head[:nul].decode("latin-1")
    rest = chunk[nul + 1 :]
    if name == "tEXt":
        raw, encoding = bytes(rest[:budget]), "latin-1"
        if len(rest) > budget:
            c.notes.append(f"PNG text {key!r} of {len(rest)} bytes was cut to {budget}")
    elif name == "zTXt":
        raw, encoding = _inflate(rest[1:], budget, key, c), "latin-1"
    else:  # iTXt: compression flag, method, language\0, translated keyword\0, text
        if len(rest) < 2:
            return 0
        compressed = rest[0] == 1
        tail = bytes(rest[2 : 2 + 2048])
        lang_end = tail.find(b"\x00")
        tkey_end = tail.find(b"\x00", lang_end + 1) if lang_end >= 0 else -1
        if tkey_end < 0:
            return 0
        body = rest[2 + tkey_end + 1 :]
        if compressed:
            raw = _inflate(body, budget, key, c)
        else:
            raw = bytes(body[:budget])
            if len(body) > budget:
                c.notes.append(f"PNG text {key!r} of {len(body)} bytes was cut to {budget}")
        encoding = "utf-8"
    if key == "XML:com.adobe.xmp":
        _add_xmp(c, memoryview(raw))
        return len(raw)
    c.text.append((key, raw.decode(encoding, errors="replace")))
    return len(raw)


def _inflate(compressed: memoryview, budget: int, key: str, c: Container) -> bytes:
    """Inflate at most `budget` bytes: a zip bomb stops at the ceiling."""
    try:
        d = zlib.decompressobj()
        out = d.decompress(bytes(compressed[: limits.MAX_TEXT_VALUE]), budget)
        if d.unconsumed_tail:
            c.notes.append(f"compressed PNG text {key!r} inflates past {budget} bytes; cut")
        return out
    except zlib.error:
        c.notes.append(f"compressed PNG text {key!r} is corrupt")
        return b""


# --- WebP -----------------------------------------------------------------------------------


def _walk_webp(v: memoryview, c: Container) -> None:
    riff_end = min(len(v), 8 + struct.unpack("<I", v[4:8])[0])
    pos, count = 12, 0
    while pos + 8 <= riff_end:
        fourcc = bytes(v[pos : pos + 4]).decode("latin-1")
        size = struct.unpack("<I", v[pos + 4 : pos + 8])[0]
        data_start = pos + 8
        if data_start + size > riff_end:
            c.notes.append(f"WebP chunk {fourcc!r} runs past the end of the file")
            size = riff_end - data_start
        count += 1
        if count > limits.MAX_CHUNKS:
            c.notes.append("too many WebP chunks; stopped reading")
            return
        if fourcc not in c.chunk_types and len(c.chunk_types) < 64:
            c.chunk_types.append(fourcc)
        chunk = v[data_start : data_start + size]
        if fourcc == "VP8X" and size >= 10:
            c.width = 1 + int.from_bytes(chunk[4:7], "little")
            c.height = 1 + int.from_bytes(chunk[7:10], "little")
        elif fourcc == "VP8 " and size >= 10 and c.width is None:
            c.width = struct.unpack("<H", chunk[6:8])[0] & 0x3FFF
            c.height = struct.unpack("<H", chunk[8:10])[0] & 0x3FFF
        elif fourcc == "VP8L" and size >= 5 and c.width is None:
            bits = int.from_bytes(chunk[1:5], "little")
            c.width, c.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif fourcc == "EXIF" and c.exif is None:
            raw = bytes(chunk[: limits.MAX_EXIF_BYTES])
            c.exif = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
        elif fourcc == "XMP ":
            _add_xmp(c, chunk)
        elif fourcc == "ICCP":
            c.icc = True
        elif fourcc == "C2PA":
            c.c2pa_embedded = True
        pos = data_start + size + (size & 1)


# --- everything else ------------------------------------------------------------------------


def _walk_other(data: bytes, c: Container) -> None:
    end = min(len(data), limits.MAX_SCAN_BYTES)
    if c.file_format == "tiff":
        c.exif = data[: limits.MAX_EXIF_BYTES]
    elif c.file_format == "gif" and len(data) >= 10:
        c.width, c.height = struct.unpack("<HH", data[6:10])
    elif c.file_format == "bmp" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        c.width, c.height = abs(w), abs(h)
    elif c.file_format in ("heif", "avif"):
        ispe = data.find(b"ispe", 0, end)
        if ispe >= 4 and ispe + 16 <= len(data):
            c.width, c.height = struct.unpack(">II", data[ispe + 8 : ispe + 16])
        c.exif = heif_exif(data, end)
    # JUMBF boxes are labelled "jumb" with a "c2pa" manifest store inside.
    if data.find(b"jumb", 0, end) >= 0 and data.find(b"c2pa", 0, end) >= 0:
        c.c2pa_embedded = True
    # bytes.find rather than a regex: it is memchr-fast on megabytes of image data.
    starts = [i for i in (data.find(b"<x:xmpmeta", 0, end), data.find(b"<x:xapmeta", 0, end)) if i >= 0]
    if starts:
        start = min(starts)
        stop_at = min(end, start + limits.MAX_XMP_PACKET)
        stops = [i for i in (data.find(b"</x:xmpmeta>", start, stop_at), data.find(b"</x:xapmeta>", start, stop_at))
                 if i >= 0]  # fmt: skip
        if stops:
            _add_xmp(c, memoryview(data)[start : min(stops) + len(b"</x:xmpmeta>")])
        else:
            c.notes.append("an XMP packet has no end (or is too large); not read")
