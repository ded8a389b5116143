"""Split an answer into phrases (sentences, and clauses of long sentences) with char and token offsets.

A phrase is the unit the UI turns into a chip and the attribution gives a map. Token offsets come
from `token_char_ends`: for each generated token, the length of the decoded text up to and
including it (see explain.decoding.IncrementalDecoder).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from .types import Phrase

# A sentence ends at . ! ? followed by whitespace or the end; clause breaks are ; and : inside a
# sentence. Decimal points ("2.5") and abbreviations are rare in FakeVLM answers; the space rule
# keeps "2.5" whole.
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_CLAUSE_BREAK = re.compile(r"[;:](?=\s)")


def _spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        cut = a
        for m in _CLAUSE_BREAK.finditer(text, a, b):
            out.append((cut, m.end()))
            cut = m.end()
        out.append((cut, b))
    # strip surrounding whitespace; drop empty pieces
    stripped = []
    for a, b in out:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if b - trail > a + lead:
            stripped.append((a + lead, b - trail))
    return stripped


def split_phrases(text: str, token_char_ends: Sequence[int]) -> tuple[Phrase, ...]:
    """Phrases of `text`; token spans are half-open and cover every token overlapping the phrase."""
    phrases = []
    for a, b in _spans(text):
        t0 = bisect.bisect_right(token_char_ends, a)  # first token ending after the phrase starts
        t1 = bisect.bisect_left(token_char_ends, b) + 1  # first token reaching the phrase end
        t1 = min(t1, len(token_char_ends))
        phrases.append(Phrase(text[a:b], a, b, t0, max(t0, t1)))
    return tuple(phrases)
