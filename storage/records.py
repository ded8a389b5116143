"""Plain dataclasses that go in and out of the store, and the fixed vocabularies they use.

No SQLAlchemy here: the UI builds `*In` records and reads `*Out` records without knowing how they
are kept. `storage.validate` checks the `*In` records before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Verdict = Literal["real", "fake", "undecided"]
TrueLabel = Literal["real", "fake", "unsure"]
ReviewState = Literal["pending", "accepted", "rejected"]
Vote = Literal["agree", "disagree"]

VERDICTS: tuple[str, ...] = ("real", "fake", "undecided")
RULES: tuple[str, ...] = ("word", "substring")  # explain.verdict's verdict rules
PREPROCESSING: tuple[str, ...] = ("default", "paper")  # explain.intake's picture preprocessing
TRUE_LABELS: tuple[str, ...] = ("real", "fake", "unsure")
REVIEW_STATES: tuple[str, ...] = ("pending", "accepted", "rejected")
VOTES: tuple[str, ...] = ("agree", "disagree")
# FakeClue's seven categories (the `cate` field of its records).
CATEGORIES: tuple[str, ...] = ("animal", "human", "object", "scenery", "satellite", "doc", "deepfake")

# Image formats the store accepts, and the file extension an export gives each. The format string
# never becomes part of a path in the store itself (files there are `<sha256>.bin`).
IMAGE_FORMATS: dict[str, str] = {
    "png": "png",
    "jpeg": "jpg",
    "webp": "webp",
    "gif": "gif",
    "bmp": "bmp",
    "tiff": "tiff",
    "heif": "heic",
    "avif": "avif",
}

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class PhraseSpan:
    """A phrase of the model's answer, as character offsets into the prediction text."""

    text: str
    char_start: int
    char_end: int


@dataclass(frozen=True)
class PredictionIn:
    """One run of the detector on one image, by one visitor."""

    client_hash: str  # from `client_hash()`: never a raw IP or session id
    image_sha256: str  # hex of the uploaded bytes
    image_format: str  # a key of IMAGE_FORMATS
    image_width: int
    image_height: int
    model_id: str
    prompt: str
    text: str
    verdict: str  # one of VERDICTS
    p_fake: float | None = None
    model_revision: str = ""
    phrases: Sequence[PhraseSpan] = ()  # or explain.types.Phrase: same attribute names
    timings: Mapping[str, float] = field(default_factory=dict)  # or a dataclass such as Timings
    provenance: Mapping[str, Any] | None = None  # JSON object of provenance findings
    rule: str = "word"  # one of RULES: how the verdict was read from the text
    preprocess: str = "default"  # one of PREPROCESSING: which picture the model saw


@dataclass(frozen=True)
class MapIn:
    """Attribution of one phrase to the patch grid. Mirrors explain.types.PhraseMap, whose objects
    `Store.save_maps` accepts as they are."""

    phrase_index: int  # index into the prediction's phrases; -1 for a separate verdict sentence
    method: str  # "gradient" | "occlusion" | "ig" | another short identifier
    grid: Sequence[Sequence[float]]  # rows x cols, normally 24 x 24
    crop_box: Box  # (x0, y0, x1, y1) on the original image, x1/y1 exclusive
    score: float | None = None
    reliance: float | None = None
    deletion_auc: float | None = None
    insertion_auc: float | None = None


@dataclass(frozen=True)
class FeedbackIn:
    """A visitor's judgement of one prediction. Saving again with the same (prediction_id,
    client_hash) edits the same record."""

    prediction_id: int
    client_hash: str
    verdict_correct: bool | None = None  # "the verdict was right / wrong"; None: not answered
    true_label: str | None = None  # one of TRUE_LABELS
    phrase_votes: Mapping[int, str] = field(default_factory=dict)  # phrase index -> agree/disagree
    corrected_explanation: str | None = None
    category: str | None = None  # one of CATEGORIES
    comment: str | None = None
    consent: bool = False  # may the image and this feedback be kept for training?


@dataclass(frozen=True)
class ImageRef:
    sha256: str
    format: str
    width: int | None
    height: int | None
    stored: bool  # are the bytes kept on disk?
    size_bytes: int | None


@dataclass(frozen=True)
class PredictionOut:
    id: int
    client_hash: str
    image: ImageRef
    model_id: str
    model_revision: str
    prompt: str
    text: str
    verdict: str
    p_fake: float | None
    phrases: list[PhraseSpan]
    timings: dict[str, float]
    provenance: dict[str, Any] | None
    created_at: datetime
    rule: str = "word"
    preprocess: str = "default"


@dataclass(frozen=True)
class MapOut:
    prediction_id: int
    phrase_index: int
    method: str
    grid: list[list[float]]
    crop_box: Box
    score: float | None
    reliance: float | None
    deletion_auc: float | None
    insertion_auc: float | None


@dataclass(frozen=True)
class FeedbackOut:
    id: int
    prediction_id: int
    client_hash: str
    verdict_correct: bool | None
    true_label: str | None
    phrase_votes: dict[int, str]
    corrected_explanation: str | None
    category: str | None
    comment: str | None
    consent: bool
    created_at: datetime
    updated_at: datetime
    review_state: str
    reviewed_by: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class FeedbackFilter:
    """Filters for the explorer. None means "any"."""

    verdict: str | None = None  # the model's verdict on the prediction
    disagreement: bool | None = None  # True: verdict marked wrong or some phrase disagreed
    category: str | None = None
    review_state: str | None = None
    true_label: str | None = None
    prediction_id: int | None = None  # feedback on one prediction (a reviewer's detail view)
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class DeleteResult:
    sha256: str
    images: int
    predictions: int
    maps: int
    feedback: int
    file_removed: bool


@dataclass(frozen=True)
class SweepResult:
    orphan_files_removed: int  # image files with no row (left by a crash between file and row)
    temp_files_removed: int  # half-written temporary files
    missing_files: int  # rows that said "stored" whose file was gone; now marked not stored


@dataclass(frozen=True)
class Stats:
    predictions: int
    predictions_by_verdict: dict[str, int]
    feedback: int
    feedback_by_verdict: dict[str, int]  # right / wrong / unanswered
    true_labels: dict[str, int]
    phrase_votes: dict[str, int]  # agree / disagree
    review_states: dict[str, int]
    categories: dict[str, int]
    consented_feedback: int
    images: int
    images_stored: int
    stored_bytes: int

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass(frozen=True)
class ExportRow:
    """One consented feedback record joined with its prediction and image, for the exporters."""

    feedback_id: int
    prediction_id: int
    image_sha256: str
    image_format: str
    width: int | None
    height: int | None
    image_path: Path  # the stored file (absolute); a StoredImage in an fsspec store (read_bytes() too)
    model_id: str
    model_revision: str
    prompt: str
    model_text: str
    model_verdict: str
    p_fake: float | None
    phrases: list[PhraseSpan]
    verdict_correct: bool | None
    true_label: str | None
    phrase_votes: dict[int, str]
    corrected_explanation: str | None
    category: str | None
    comment: str | None
    review_state: str
    created_at: datetime
    updated_at: datetime
    rule: str = "word"
    preprocess: str = "default"
