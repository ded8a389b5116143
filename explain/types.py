"""Plain data that crosses package boundaries: what the detector and the attribution produce.

No torch, no Gradio, no SQLAlchemy objects here, so demo/ and storage/ can take these as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Verdict = Literal["real", "fake", "undecided"]

# (x0, y0, x1, y1) in original-image pixels after EXIF rotation; x1/y1 exclusive.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Phrase:
    """A sentence or clause of the answer: character offsets into `Explanation.text`, token offsets
    into `Explanation.token_ids` (half-open)."""

    text: str
    char_start: int
    char_end: int
    token_start: int
    token_end: int


@dataclass(frozen=True)
class Timings:
    preprocess_s: float = 0.0
    first_token_s: float = 0.0  # from image bytes in to first decoded token out
    total_s: float = 0.0
    new_tokens: int = 0
    tokens_per_s: float = 0.0


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed text: append it to what came before."""

    text: str


@dataclass(frozen=True)
class VerdictReady:
    """Emitted once, as soon as the verdict sentence is decoded, before the rest of the answer."""

    verdict: Verdict
    p_fake: float | None


@dataclass(frozen=True)
class Explanation:
    text: str
    token_ids: tuple[int, ...]
    verdict: Verdict
    p_fake: float | None  # softmax over the "real"/"fake" token logits at the verdict position
    phrases: tuple[Phrase, ...]
    timings: Timings
    verdict_token_index: int | None = None  # index into token_ids of the "real"/"fake" token
    prompt: str = ""
    model_id: str = ""
    rule: str = "word"  # the verdict rule that read `verdict` from `text` (explain.verdict)

    def to_json(self) -> dict:
        d = asdict(self)
        d["token_ids"] = list(self.token_ids)
        return d


@dataclass(frozen=True)
class PhraseMap:
    """Attribution of one phrase's log-probability to the 24x24 grid of image patches.

    `grid[r][c]` is row r (top to bottom), column c (left to right) of the 336x336 crop the model saw.
    Signed maps (occlusion, IG; `extra["signed"]` true): positive values support the phrase. The
    default gradient map is a magnitude (L2 norm of gradient x activation per patch, >= 0,
    `extra["signed"]` false): how strongly a patch moves the phrase, either way. `crop_box` places
    the grid on the original image.
    """

    phrase_index: int  # index into Explanation.phrases; -1 for the verdict sentence when separate
    method: str  # "gradient" | "occlusion" | "ig"
    grid: tuple[tuple[float, ...], ...]
    crop_box: Box
    score: float | None = None  # sum of token log-probs of the phrase with the real image
    reliance: float | None = None  # score(image) - score(neutral image)
    deletion_auc: float | None = None
    insertion_auc: float | None = None
    extra: dict = field(default_factory=dict)
