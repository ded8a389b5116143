"""Plain records in and out of the classroom store, the limits and vocabularies they use, and the
checks that turn an `*In` record into the values written; nothing here touches the database.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import validate
from ..errors import ValidationError
from ..models import utcnow
from ..records import CATEGORIES, MapIn, PhraseSpan

# Codes people read aloud and type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LEN = 6
SET_CODE_LEN = 8
SOURCES: tuple[str, ...] = ("upload", "example", "fakeclue")
GUESSES: tuple[str, ...] = ("real", "fake")
SESSION_STATES: tuple[str, ...] = ("open", "closed")
CONFIDENCE = (1, 5)
MAX_ITEMS = 40
MAX_TITLE = 120
MAX_NICKNAME = 40
MAX_REASON = 280
MAX_REFERENCE = 4_000
MAX_PARTICIPANTS = 500


@dataclass(frozen=True)
class ItemIn:
    """A picture for a lesson set. `data` is the file as given; it is kept byte for byte."""

    data: bytes
    image_format: str  # a key of IMAGE_FORMATS
    width: int
    height: int
    source: str = "upload"  # one of SOURCES
    truth: str | None = None  # "real" | "fake" | None (unknown)
    reference: str | None = None  # a reference explanation (FakeClue's), when known
    caption: str | None = None
    category: str | None = None  # a FakeClue category, when known


@dataclass(frozen=True)
class RevealIn:
    """The model's answer on one picture, with its phrase maps (to show at every later reveal)."""

    model_id: str
    text: str
    verdict: str
    p_fake: float | None
    phrases: Sequence[PhraseSpan]
    maps: Sequence[MapIn] = ()
    prediction_id: int | None = None


@dataclass(frozen=True)
class RevealOut:
    model_id: str
    text: str
    verdict: str
    p_fake: float | None
    phrases: tuple[PhraseSpan, ...]
    maps: tuple[MapIn, ...]
    prediction_id: int | None
    created_at: str


@dataclass(frozen=True)
class ItemOut:
    id: int
    set_id: int
    position: int
    image_sha256: str
    image_format: str
    width: int
    height: int
    source: str
    truth: str | None
    reference: str | None
    caption: str | None
    category: str | None
    reveal: RevealOut | None


@dataclass(frozen=True)
class LessonSetOut:
    id: int
    code: str
    title: str
    owner_hash: str
    created_at: datetime
    items: tuple[ItemOut, ...]


@dataclass(frozen=True)
class SessionOut:
    id: int
    code: str
    set_id: int
    set_code: str
    title: str
    owner_hash: str
    position: int
    revealed: frozenset[int]  # item ids
    state: str
    version: int
    created_at: datetime
    items: tuple[ItemOut, ...]
    participants: int

    @property
    def current(self) -> ItemOut | None:
        return self.items[self.position] if 0 <= self.position < len(self.items) else None


@dataclass(frozen=True)
class ParticipantOut:
    id: int
    session_id: int
    nickname: str
    joined_at: datetime


@dataclass(frozen=True)
class AnswerIn:
    guess: str  # "real" | "fake"
    confidence: int  # 1 (guessing) .. 5 (certain)
    reason: str | None = None  # "what made you think so", a few words


@dataclass(frozen=True)
class AnswerOut:
    id: int
    item_id: int
    guess: str
    confidence: int
    reason: str | None
    answered_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Tally:
    """How the class answered one picture: counts only, never who or why."""

    item_id: int
    answers: int
    real: int
    fake: int
    mean_confidence: float | None
    correct: int | None  # answers matching the ground truth; None when it is unknown


@dataclass(frozen=True)
class TeacherRow:
    """One student's answer, for the session's teacher only."""

    nickname: str
    item_id: int
    position: int
    guess: str
    confidence: int
    reason: str | None
    answered_at: datetime


# ---------------------------------------------------------------------------- validation


def normalize_code(value: object, length: int) -> str:
    """A code as people type it (any case, spaces, dashes) -> the stored form; ValidationError if
    it cannot be one."""
    if not isinstance(value, str):
        raise ValidationError("a code must be text")
    code = "".join(ch for ch in value.upper() if ch not in " -_\t")
    if len(code) != length or any(ch not in CODE_ALPHABET for ch in code):
        raise ValidationError(f"'{value.strip()[:20]}' is not a {length}-character code")
    return code


def new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def set_title(value: object) -> str:
    text = validate.clean_text(value if isinstance(value, str) else "", "title", 10_000).strip()
    text = " ".join(text.split())
    if not text:
        raise ValidationError("the lesson set needs a title")
    return text[:MAX_TITLE]


def item_fields(it: ItemIn) -> dict[str, Any]:
    if not isinstance(it, ItemIn):
        raise ValidationError("lesson items must be ItemIn records")
    if not isinstance(it.data, (bytes, bytearray, memoryview)) or not it.data:
        raise ValidationError("a lesson picture must be non-empty bytes")
    if len(it.data) > validate.MAX_IMAGE_BYTES:
        raise ValidationError(f"a lesson picture is too large ({len(it.data)} bytes)")
    return {
        "data": bytes(it.data),
        "image_format": validate.image_format(it.image_format),
        "width": validate.integer(it.width, "picture width", 1, validate.MAX_IMAGE_SIDE),
        "height": validate.integer(it.height, "picture height", 1, validate.MAX_IMAGE_SIDE),
        "source": validate.choice(it.source, SOURCES, "picture source"),
        "truth": validate.choice(it.truth, GUESSES, "ground truth", optional=True),
        "reference": _cut(validate.optional_text(it.reference, "reference explanation", 100_000), MAX_REFERENCE),
        "caption": _cut(validate.optional_text(it.caption, "caption", 10_000), 200),
        "category": validate.choice(it.category, CATEGORIES, "category", optional=True),
    }


def _cut(text: str | None, n: int) -> str | None:
    return None if text is None else text[:n]


def clean_nickname(value: object) -> str:
    text = validate.clean_text(value if isinstance(value, str) else "", "nickname", 10_000)
    text = " ".join("".join(ch for ch in text if ch.isprintable()).split())
    if not text:
        raise ValidationError("please choose a nickname")
    if len(text) > MAX_NICKNAME:
        raise ValidationError(f"the nickname is too long (at most {MAX_NICKNAME} characters)")
    return text


def answer_fields(a: AnswerIn) -> dict[str, Any]:
    if not isinstance(a, AnswerIn):
        raise ValidationError("an answer must be an AnswerIn record")
    reason = validate.optional_text(a.reason, "reason", 100_000)
    if reason is not None:
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON:
            raise ValidationError(f"the reason is too long (at most {MAX_REASON} characters)")
    return {
        "guess": validate.choice(a.guess, GUESSES, "answer"),
        "confidence": validate.integer(a.confidence, "confidence", *CONFIDENCE),
        "reason": reason,
    }


def reveal_json(r: RevealIn) -> dict[str, Any]:
    if not isinstance(r, RevealIn):
        raise ValidationError("a reveal must be a RevealIn record")
    model_id = validate.clean_text(r.model_id, "model id", validate.MAX_IDENT)
    text = validate.clean_text(r.text, "model answer", validate.MAX_TEXT)
    verdict = validate.choice(r.verdict, ("real", "fake", "undecided"), "verdict")
    p_fake = validate.finite(r.p_fake, "p_fake", lo=0.0, hi=1.0)
    phrases = []
    for p in list(r.phrases)[: validate.MAX_PHRASES]:
        if not isinstance(p, PhraseSpan):
            raise ValidationError("phrases must be PhraseSpan records")
        phrases.append({"text": validate.clean_text(p.text, "phrase", validate.MAX_TEXT),
                        "char_start": int(p.char_start), "char_end": int(p.char_end)})
    maps = []
    for m in list(r.maps)[: validate.MAX_PHRASES]:
        v = validate.phrase_map(m)
        maps.append({"phrase_index": v["phrase_index"], "method": v["method"], "crop_box": list(v["crop_box"]),
                     # 4 significant digits: a map is a picture, and this keeps a reveal ~20 KB
                     "grid": [[float(f"{x:.4g}") for x in row] for row in v["grid"]],
                     "score": v["score"], "reliance": v["reliance"]})
    pid = None if r.prediction_id is None else validate.integer(r.prediction_id, "prediction id", 1, 2**63 - 1)
    return {"model_id": model_id, "text": text, "verdict": verdict, "p_fake": p_fake, "phrases": phrases,
            "maps": maps, "prediction_id": pid, "created_at": utcnow().isoformat()}


def reveal_out(raw: dict[str, Any] | None) -> RevealOut | None:
    if not raw:
        return None
    try:
        maps = tuple(MapIn(int(m["phrase_index"]), str(m["method"]), tuple(tuple(float(x) for x in row)
                                                                           for row in m["grid"]),
                           tuple(int(v) for v in m["crop_box"]), m.get("score"), m.get("reliance"))
                     for m in raw.get("maps") or ())
        phrases = tuple(PhraseSpan(str(p["text"]), int(p["char_start"]), int(p["char_end"]))
                        for p in raw.get("phrases") or ())
        p_fake = raw.get("p_fake")
        return RevealOut(str(raw["model_id"]), str(raw["text"]), str(raw["verdict"]),
                         None if p_fake is None or not math.isfinite(float(p_fake)) else float(p_fake),
                         phrases, maps, raw.get("prediction_id"), str(raw.get("created_at", "")))
    except (KeyError, TypeError, ValueError):
        return None  # a damaged cache is recomputed, not fatal
