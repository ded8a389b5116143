"""XMP: the IPTC digital source type and other AI-disclosure fields, read with a safe parser.

XMP is XML an uploader controls, so it is parsed with defusedxml (no DTDs, hence no entity
expansion "billion laughs" and no external entities) as a stream of events, stopping at
`MAX_XMP_DEPTH` nesting levels or `MAX_XMP_ELEMENTS` elements; the tree is never kept.

The findings drawn from the parsed facts are disclosure.py's.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from . import limits

NAMESPACES = {
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://cipa.jp/exif/1.0/": "exifEX",
    "http://ns.adobe.com/exif/1.0/aux/": "aux",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
}
WANTED = {
    "Iptc4xmpExt:DigitalSourceType",
    "Iptc4xmpExt:AISystemUsed",
    "Iptc4xmpExt:AISystemVersionUsed",
    "Iptc4xmpExt:AIPromptInformation",
    "Iptc4xmpExt:AIPromptWriterName",
    "photoshop:Credit",
    "photoshop:Source",
    "xmp:CreatorTool",
    "stEvt:softwareAgent",
    "stEvt:action",
    "dc:description",
    "dc:title",
    "dcterms:provenance",
    "tiff:Make",
    "tiff:Model",
    "tiff:Software",
    "exifEX:LensModel",
    "aux:Lens",
    "exif:DateTimeOriginal",
}
_RDF_STRUCTURE = {"rdf:li", "rdf:Alt", "rdf:Seq", "rdf:Bag", "rdf:Description", "rdf:RDF"}
_MAX_VALUES_PER_PROPERTY = 32


@dataclass
class XmpFacts:
    """Values of the wanted properties, keyed "prefix:Local"; DigitalSourceType in an unexpected
    namespace is kept under "other:DigitalSourceType"."""

    props: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    packets: int = 0

    def add(self, key: str, value: str) -> None:
        value = value.strip()
        if not value:
            return
        values = self.props.setdefault(key, [])
        if len(values) < _MAX_VALUES_PER_PROPERTY and value not in values:
            values.append(value[: limits.MAX_TEXT_VALUE])

    def first(self, key: str) -> str | None:
        values = self.props.get(key)
        return values[0] if values else None

    def all(self, key: str) -> list[str]:
        return list(self.props.get(key, []))

    def merge(self, other: XmpFacts) -> None:
        for key, values in other.props.items():
            for v in values:
                self.add(key, v)
        self.notes.extend(other.notes)
        self.packets += other.packets


def _qualify(tag: str) -> str:
    """'{ns}Local' -> 'prefix:Local' for the namespaces we know, '?:Local' otherwise."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return f"{NAMESPACES.get(ns, '?')}:{local}"
    return f"?:{tag}"


def _key_for(qname: str) -> str | None:
    if qname in WANTED:
        return qname
    if qname.endswith(":DigitalSourceType"):
        return "other:DigitalSourceType"
    return None


def parse_xmp(packet: bytes) -> XmpFacts:
    """Read the wanted properties from one XMP packet; never raises."""
    facts = XmpFacts(packets=1)
    if len(packet) > limits.MAX_XMP_PACKET:
        facts.notes.append("an XMP packet is too large to read")
        return facts
    stack: list[str] = []
    elements = 0
    try:
        events = SafeET.iterparse(
            io.BytesIO(packet), events=("start", "end"), forbid_dtd=True, forbid_entities=True
        )
        for event, elem in events:
            if event == "start":
                qname = _qualify(elem.tag)
                stack.append(qname)
                elements += 1
                if len(stack) > limits.MAX_XMP_DEPTH:
                    facts.notes.append(f"XMP nests deeper than {limits.MAX_XMP_DEPTH}; rest skipped")
                    break
                if elements > limits.MAX_XMP_ELEMENTS:
                    facts.notes.append("XMP has too many elements; rest skipped")
                    break
                for attr, value in elem.attrib.items():  # the shorthand form: prop="value"
                    key = _key_for(_qualify(attr))
                    if key:
                        facts.add(key, value)
                resource = elem.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource")
                key = _key_for(qname)
                if key and resource:  # <prop rdf:resource="uri"/>
                    facts.add(key, resource)
            else:
                qname = stack.pop() if stack else ""
                text = (elem.text or "").strip()
                if text:
                    owner = next((q for q in reversed([*stack, qname]) if q not in _RDF_STRUCTURE), "")
                    key = _key_for(owner)
                    if key:
                        facts.add(key, text)
                elem.clear()  # keep memory flat: we never need the tree
    except DefusedXmlException as exc:
        facts.notes.append(f"XMP refused: {type(exc).__name__} (DTDs and entities are not allowed)")
    except SafeET.ParseError as exc:
        # Readers often pad packets or leave junk after them; what was read so far still counts.
        facts.notes.append(f"XMP is not well-formed ({clean_msg(exc)})")
    except (ValueError, RecursionError, MemoryError) as exc:
        facts.notes.append(f"XMP could not be read ({type(exc).__name__})")
    return facts


def clean_msg(exc: BaseException) -> str:
    return limits.clean_text(str(exc), 120)
