"""What the evidence readers share: the container walk, EXIF and XMP, each parsed once.

`gather()` does the parsing (bounded, never raising); each evidence module then turns the parsed
`Sources` into findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .container import Container, read_container
from .exif import ExifData, parse_exif
from .xmp import XmpFacts, parse_xmp


@dataclass
class Sources:
    data: bytes
    container: Container
    exif: ExifData
    xmp: XmpFacts
    notes: list[str] = field(default_factory=list)  # problems met while parsing, for `errors`


def gather(data: bytes) -> Sources:
    container = read_container(data)
    exif = parse_exif(container.exif)
    xmp = XmpFacts()
    for packet in container.xmp:
        xmp.merge(parse_xmp(packet))
    notes = [*container.notes, *exif.notes, *xmp.notes]
    return Sources(data=data, container=container, exif=exif, xmp=xmp, notes=notes)
