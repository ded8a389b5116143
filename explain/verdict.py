"""The verdict rule of FakeVLM's official evaluation, and our stricter default.

Official rule (1 = real, 0 = fake): take the text after the last '?', look at the first sentence
(`split('.')[0]`, lower-cased): 'real' in it -> real, else 'fake' in it -> fake, else the second
sentence the same way; otherwise the paper picks at random, we say "undecided".

`rule="substring"` reproduces that exactly (so "unrealistic" counts as real, as in the paper);
`rule="word"` (the default) matches whole words only.
"""

from __future__ import annotations

import re
from typing import Literal

from .types import Verdict

Rule = Literal["word", "substring"]
RULES: tuple[Rule, ...] = ("word", "substring")

_WORDS = {w: re.compile(rf"\b{w}\b") for w in ("real", "fake")}


def _classify(sentence: str, rule: Rule) -> Verdict | None:
    s = sentence.lower()
    for word in ("real", "fake"):  # the official order: 'real' is checked first
        hit = word in s if rule == "substring" else _WORDS[word].search(s) is not None
        if hit:
            return word  # type: ignore[return-value]
    return None


def verdict_of(text: str, rule: Rule = "word") -> Verdict:
    if rule not in ("word", "substring"):
        raise ValueError(f"unknown verdict rule {rule!r}; use 'word' or 'substring'")
    answer = text.split("?")[-1]
    sentences = answer.split(".")
    for sentence in sentences[:2]:
        verdict = _classify(sentence, rule)
        if verdict is not None:
            return verdict
    return "undecided"


def verdict_sentence_end(text: str, rule: Rule = "word") -> int | None:
    """Character offset just past the sentence that decides the verdict, or None while undecided.

    Used while streaming: the verdict card can be shown as soon as this sentence is complete.
    """
    start = text.rfind("?") + 1
    pos = start
    for _ in range(2):
        dot = text.find(".", pos)
        if dot < 0:
            return None
        if _classify(text[pos:dot], rule) is not None:
            return dot + 1
        pos = dot + 1
    return None
