"""Recent results in memory: what a visitor's map requests and feedback need without a second upload.

`ResultsCache` keeps the last analyses (checked picture, original bytes, explanation, maps) keyed by
prediction id and tied to the visitor who made them, bounded by count and by the bytes they hold in
memory: the upload as sent AND the decoded picture (a 120 KB PNG of 6000 x 6000 flat pixels decodes
to 108 MB, so counting the upload alone let a few such files hold gigabytes). Nobody but their
owner reaches them (demo/service/state.py checks ownership).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from explain.intake import CheckedImage
from explain.types import Explanation, PhraseMap


@dataclass
class Analysis:
    """One visitor's recent result, kept in memory for maps and feedback."""

    prediction_id: int
    owner: str  # client hash
    checked: CheckedImage
    data: bytes  # the original upload, byte for byte (kept for consented storage)
    explanation: Explanation
    provenance: dict | None
    maps: dict[str, list[PhraseMap]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExplainView:
    """A snapshot of a running explanation, for the UI to draw."""

    stage: str  # "checked" | "text" | "verdict" | "done"
    checked: CheckedImage
    view: Any  # PIL image: the 336x336 crop the model sees
    provenance: dict | None
    text: str = ""
    phrases: tuple[str, ...] = ()  # finished phrases so far
    verdict: str | None = None
    p_fake: float | None = None
    prediction_id: int | None = None
    explanation: Explanation | None = None
    pieces: int = 0  # text deltas so far (at most one a token)
    elapsed_s: float = 0.0  # since the model started on this picture
    max_tokens: int = 0  # where the answer stops at the latest



def held_bytes(checked: CheckedImage, data: bytes) -> int:
    """Memory an analysis holds: the upload's bytes plus its decoded picture (and the model's view)."""
    image = checked.image
    bands = len(image.getbands()) if image is not None else 0
    decoded = image.width * image.height * bands if image is not None else 0
    return len(data) + decoded + 336 * 336 * 3


class ResultsCache:
    """Analyses by prediction id, least recently used first out (bounded by count and bytes)."""

    def __init__(self, max_items: int = 64, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, Analysis] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, analysis: Analysis) -> None:
        with self._lock:
            self._items[analysis.prediction_id] = analysis
            self._items.move_to_end(analysis.prediction_id)
            while len(self._items) > self.max_items or (
                len(self._items) > 1 and self.held_bytes() > self.max_bytes
            ):
                self._items.popitem(last=False)

    def held_bytes(self) -> int:
        return sum(held_bytes(a.checked, a.data) for a in self._items.values())

    def get(self, prediction_id: int, *, touch: bool = False) -> Analysis | None:
        with self._lock:
            a = self._items.get(prediction_id)
            if a is not None and touch:
                self._items.move_to_end(prediction_id)
            return a
