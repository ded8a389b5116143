"""Clue matching: which glossary clues a piece of text mentions, by keyword patterns.

Three sources of clues:
- artifacts FakeVLM-style answers name (over-smooth skin, inconsistent lighting, warped text,
  checkerboard upsampling, repeated textures, colour banding, blocky compression, ...);
- the toy model's five artifact kinds (explain/toy/texts.py), mapped onto those entries
  (`TOY_KIND_CLUES`) plus its own "speckle";
- the provenance evidence kinds (the keys of `explain.provenance.GLOSSARY`: C2PA, EXIF, ...).

`clues_in(text)` finds the clues a text mentions, so phrase chips in the UI can link to them;
`clue_spans(text)` gives the matched character spans for in-text links. No display text here: the
clues' titles and explanations, in every language, are in the UI's message catalog (demo/i18n,
keys `gl_<key>_title`, `gl_<key>_look_for`, `gl_<key>_why`; read them with `demo.i18n.glossary.entry`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from explain.provenance import GLOSSARY as PROVENANCE_GLOSSARY

Group = Literal["pixels", "file"]


@dataclass(frozen=True)
class CluePatterns:
    """One clue's group and case-insensitive regular expressions."""

    key: str
    group: Group  # "pixels": seen in the picture; "file": read from the file's data
    patterns: tuple[str, ...]


_PIXEL_PATTERNS: dict[str, tuple[str, ...]] = {
    "over_smooth": (r"\bsmooth", r"\bwaxy\b", r"\bplastic(?:ky|-like)?\b", r"\bairbrush", r"\bporcelain\b",
                    r"\blacks? (?:the )?(?:natural )?(?:skin )?(?:texture|pores)\b"),
    "lighting": (r"\blight(?:ing|s)?\b", r"\bshadows?\b", r"\billuminat", r"\breflections?\b", r"\bhighlights\b"),
    "warped_text": (r"\btext\b", r"\blettering\b", r"\bletters\b", r"\bwriting\b", r"\binscriptions?\b",
                    r"\btypograph", r"\billegible\b", r"\bgibberish\b", r"\bunreadable\b", r"\bgarbled\b"),
    "checkerboard": (r"\bchecker", r"\bgrid(?:-like)? pattern", r"\bupsampl"),
    "repeated_texture": (r"\brepeat", r"\brepetiti", r"\bduplicat", r"\bcopy[- ]?(?:paste|move)",
                         r"\bclon(?:ed|ing)\b", r"\btil(?:ed|ing)\b", r"\bidentical\b"),
    "banding": (r"\bband(?:ing|s|ed)\b", r"\bposteri[sz]", r"\bhard steps\b", r"\bcolou?r steps\b"),
    "blocking": (r"\bblock(?:s|y|iness)?\b", r"\bcompression artifacts?\b", r"\bjpeg artifacts?\b", r"\bmacroblock"),
    "speckle": (r"\bspeckl", r"\bsalt[- ]and[- ]pepper\b", r"\bstray (?:pixels|dots)\b", r"\bcolou?red dots\b"),
    "anatomy": (r"\bfingers?\b", r"\bhands?\b", r"\blimbs?\b", r"\banatom", r"\bteeth\b", r"\bpupils?\b",
                r"\beyes\b", r"\bdeformed\b"),
    "geometry": (r"\bperspective\b", r"\bgeometr", r"\bproportions?\b", r"\bsymmetr", r"\bmisaligned\b",
                 r"\bdistort(?:ed|ion|ions)\b"),
    "blur": (r"\bblur", r"\bsmear", r"\bsmudg", r"\bbokeh\b", r"\bout of focus\b"),
    "edges": (r"\bhalos?\b", r"\bedges?\b", r"\bseams?\b", r"\bcut[- ]out\b", r"\bblend(?:ing|ed)\b", r"\boutlines?\b"),
    "colour": (r"\bsaturat", r"\bunnatural colou?r",
               r"\bcolou?rs? (?:look|looks|appear|seem)s? (?:unnatural|artificial)", r"\bvivid\b", r"\bglow"),
    "grain": (r"\bgrain", r"\bsensor noise\b", r"(?<!speckle )(?<!generator )\bnoise\b"),
}
_PROVENANCE_PATTERNS: dict[str, tuple[str, ...]] = {
    "c2pa": (r"\bc2pa\b", r"\bcontent credentials\b"),
    "xmp_source_type": (r"\bdigital ?source ?type\b", r"\biptc\b", r"\bxmp\b"),
    "ai_disclosure": (r"\bmade with [\w ]{0,20}\bai\b", r"\bai label", r"\bdisclos"),
    "generator_metadata": (r"\bgenerat(?:or|ion) (?:settings|parameters|metadata)\b", r"\bstable diffusion\b",
                           r"\bcomfyui\b", r"\bnovelai\b", r"\binvokeai\b"),
    "camera": (r"\bexif\b", r"\bcamera (?:make|model|data|information)\b"),
    "editing_software": (r"\bphotoshop\b", r"\bgimp\b", r"\bediting software\b"),
    "reencoding": (r"\bre-?encod", r"\bre-?compress", r"\bre-?saved?\b", r"\bscreenshot", r"\bjpeg quality\b"),
    "no_metadata": (r"\bno metadata\b", r"\bmetadata (?:was |is |has been )?(?:stripped|removed|missing)\b"),
}

# Every clue, pictures' first, in glossary order; the file's clues are the provenance kinds.
CLUES: dict[str, CluePatterns] = {
    **{key: CluePatterns(key, "pixels", pats) for key, pats in _PIXEL_PATTERNS.items()},
    **{kind: CluePatterns(kind, "file", _PROVENANCE_PATTERNS.get(kind, ())) for kind in PROVENANCE_GLOSSARY},
}

# The toy model's artifact kinds (explain/toy/texts.py KINDS) -> clue keys.
TOY_KIND_CLUES: dict[str, str] = {
    "checkerboard": "checkerboard",
    "banding": "banding",
    "smoothing": "over_smooth",
    "blocking": "blocking",
    "speckle": "speckle",
}

_COMPILED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (c.key, re.compile(p, re.IGNORECASE)) for c in CLUES.values() for p in c.patterns
)
_MAX_SCAN = 20_000  # model answers are ~1.5 k characters; anything longer is cut before matching


def clue_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, key) of every clue mention in `text`, in reading order, not overlapping
    (the earliest, then longest, match wins where two overlap)."""
    if not isinstance(text, str) or not text:
        return []
    text = text[:_MAX_SCAN]
    found = []
    for key, rx in _COMPILED:
        found.extend((m.start(), _word_end(text, m.end()), key) for m in rx.finditer(text) if m.end() > m.start())
    found.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int, str]] = []
    end = -1
    for s in found:
        if s[0] >= end:
            out.append(s)
            end = s[1]
    return out


def _word_end(text: str, end: int) -> int:
    """Extend a match that stops inside a word ("speckl" of "speckles") to the word's end."""
    while end < len(text) and (text[end].isalnum() or text[end] == "-" and end + 1 < len(text)
                               and text[end + 1].isalnum()):
        end += 1
    return end


def clues_in(text: str) -> list[str]:
    """Clue keys that `text` mentions, in order of first mention, each once."""
    if not isinstance(text, str) or not text:
        return []
    text = text[:_MAX_SCAN]
    first: dict[str, int] = {}
    for key, rx in _COMPILED:
        m = rx.search(text)
        if m is not None and (key not in first or m.start() < first[key]):
            first[key] = m.start()
    return sorted(first, key=lambda k: (first[k], k))
