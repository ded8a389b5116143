"""AI-disclosure findings from XMP, IPTC-IIM and EXIF text: what the file says made it.

- `xmp_source_type`: Iptc4xmpExt:DigitalSourceType (IPTC vocabulary, e.g. trainedAlgorithmicMedia).
- `ai_disclosure`: IPTC's AI fields (AISystemUsed, AIPromptInformation ...), and credit lines or
  captions saying "Made with Google AI", "AI-generated" (XMP, IPTC-IIM or EXIF description).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import limits
from .findings import Finding
from .vocab import IPTC_DST_PREFIX, source_type

if TYPE_CHECKING:
    from .sources import Sources

# Phrases in credit lines and captions by which services label AI output.
_AI_PHRASES = re.compile(
    r"\b(?:made|created|generated|edited|produced)\s+(?:with|by|using)\s+(?:google\s+|meta\s+)?ai\b"
    r"|\bai[\s-]generated\b|\bgenerated\s+by\s+(?:an?\s+)?(?:ai|artificial intelligence)\b"
    r"|\bai\s+generated\s+(?:image|content|picture)\b",
    re.IGNORECASE,
)
IIM_CREDIT = (2, 110)
IIM_CAPTION = (2, 120)
IIM_ORIGINATING_PROGRAM = (2, 65)


def xmp_findings(src: Sources) -> list[Finding]:
    return [*_source_type_findings(src), *_disclosure_findings(src)]


def _source_type_findings(src: Sources) -> list[Finding]:
    values = src.xmp.all("Iptc4xmpExt:DigitalSourceType") + src.xmp.all("other:DigitalSourceType")
    out: list[Finding] = []
    seen: set[str] = set()
    for raw in values:
        st = source_type(raw)
        label = st.code if st else limits.clean_text(raw, 120)
        if label in seen:
            continue
        seen.add(label)
        details = {"value": limits.clean_text(raw, 200), "code": st.code if st else None}
        if st is None:
            out.append(
                Finding(
                    kind="xmp_source_type",
                    strength="info",
                    points_to="none",
                    title="Digital source type: unrecognised value",
                    meaning=(
                        f"The XMP metadata gives a digital source type we do not recognise "
                        f"({label!r}); it is unsigned and says nothing we can interpret."
                    ),
                    details=details,
                )
            )
            continue
        strength = "moderate" if st.points_to in ("ai", "camera") else "weak"
        if st.points_to == "none":
            strength = "info"
        out.append(
            Finding(
                kind="xmp_source_type",
                strength=strength,
                points_to=st.points_to,
                title=f"Metadata says: {st.words}",
                meaning=(
                    f"The IPTC digital source type in the XMP metadata is '{st.code}' ({st.words}). "
                    "It is an unsigned label: whoever wrote the file could write anything, and it "
                    "is usually lost on re-saving."
                ),
                details={**details, "uri": IPTC_DST_PREFIX + st.code},
            )
        )
    return out


def _disclosure_findings(src: Sources) -> list[Finding]:
    x, iptc = src.xmp, src.container.iptc
    out: list[Finding] = []
    system = x.first("Iptc4xmpExt:AISystemUsed")
    prompt = x.first("Iptc4xmpExt:AIPromptInformation")
    if system or prompt or x.first("Iptc4xmpExt:AIPromptWriterName"):
        name = limits.clean_text(system, 120) if system else "an AI system"
        details: dict[str, object] = {"field": "Iptc4xmpExt:AISystemUsed", "system": name}
        version = x.first("Iptc4xmpExt:AISystemVersionUsed")
        if version:
            details["system_version"] = limits.clean_text(version, 80)
        if prompt:
            details["prompt_excerpt"] = limits.clean_text(prompt, limits.MAX_EXCERPT_CHARS)
        out.append(
            Finding(
                kind="ai_disclosure",
                strength="moderate",
                points_to="ai",
                title=f"Metadata names the AI system used: {name}",
                meaning=(
                    f"The IPTC 'AI system used' fields say {name} made this image. They are "
                    "unsigned labels written by the tool or a person: a hint, not proof."
                ),
                details=details,
            )
        )
    labelled = [
        ("photoshop:Credit", v) for v in x.all("photoshop:Credit")
    ] + [("IPTC-IIM Credit", v) for v in iptc.get(IIM_CREDIT, [])]
    labelled += [("dc:description", v) for v in x.all("dc:description")]
    labelled += [("dc:title", v) for v in x.all("dc:title")]
    labelled += [("IPTC-IIM Caption", v) for v in iptc.get(IIM_CAPTION, [])]
    description = src.exif.text(0x010E)
    if description:
        labelled.append(("EXIF ImageDescription", description))
    for where, value in labelled:
        match = _AI_PHRASES.search(value[:4000])
        if match:
            phrase = limits.clean_text(match.group(0), 80)
            out.append(
                Finding(
                    kind="ai_disclosure",
                    strength="moderate",
                    points_to="ai",
                    title=f"Labelled as AI: \u201c{phrase}\u201d",
                    meaning=(
                        f"The {where} field says \u201c{phrase}\u201d. Services such as Google's "
                        "write this on AI images; it is an unsigned label that anyone can add or "
                        "remove."
                    ),
                    details={"field": where, "text": limits.clean_text(value, 200)},
                )
            )
            break  # one label is enough: several copies of the same words add nothing
    return out
