"""Caps that keep reading hostile files cheap, and a helper that makes file text safe to show.

Every number here bounds time or memory for bytes an attacker controls. They are generous for
real files (a ComfyUI workflow is tens of kilobytes, an XMP packet a few) and small next to what a
hostile file can declare (a 4 GiB chunk, a zip bomb, XML nested a million deep).
"""

from __future__ import annotations

import re

MAX_SCAN_BYTES = 64 * 1024 * 1024  # metadata past this offset is not looked for
MAX_C2PA_BYTES = 64 * 1024 * 1024  # larger files skip the Content Credentials check
MAX_CHUNKS = 50_000  # PNG/WebP chunks or JPEG segments walked before giving up
MAX_TEXT_VALUE = 2 * 1024 * 1024  # bytes kept of one PNG text chunk (after decompression)
MAX_TEXT_TOTAL = 8 * 1024 * 1024  # bytes kept of all PNG text chunks together
MAX_TEXT_ENTRIES = 256  # PNG text chunks kept
MAX_XMP_PACKET = 1024 * 1024  # larger XMP packets are not parsed
MAX_XMP_PACKETS = 8
MAX_XMP_DEPTH = 64  # real XMP nests about 10 deep
MAX_XMP_ELEMENTS = 20_000
MAX_EXIF_BYTES = 1024 * 1024
MAX_EXIF_ENTRIES = 512  # per IFD
MAX_EXIF_IFDS = 8
MAX_JSON_TEXT = 2 * 1024 * 1024  # generator JSON (ComfyUI graphs) larger than this is not parsed
MAX_FIELD_CHARS = 200  # one short metadata value shown to a person (make, model, tool name)
MAX_EXCERPT_CHARS = 300  # prompt excerpts: enough to recognise, never the whole story

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: object, limit: int = MAX_FIELD_CHARS) -> str:
    """Printable, trimmed, at most `limit` characters (an ellipsis marks a cut).

    Bidi overrides and control characters are dropped: the text comes from an untrusted file and
    ends up in a web page and a database.
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value[: limit * 4]).decode("utf-8", errors="replace")
    elif not isinstance(value, str):  # parsed JSON can put a number or a list where text was due
        value = str(value)[: limit * 4]
    text = _CONTROL.sub("", value[: limit * 4])
    text = " ".join(text.split())  # one line: it is shown in a panel row
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
