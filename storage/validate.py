"""Checks on everything that comes into the store, with messages a person can act on.

Inputs come from the UI and ultimately from visitors, so nothing is trusted: labels must be from
the fixed vocabularies, numbers finite, texts bounded, maps rectangular. Texts are cleaned of the
two things a database cannot keep (NUL characters, lone surrogates) rather than rejected, so a
visitor's odd paste never loses their feedback.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ValidationError
from .records import (
    CATEGORIES,
    IMAGE_FORMATS,
    PREPROCESSING,
    REVIEW_STATES,
    RULES,
    TRUE_LABELS,
    VERDICTS,
    VOTES,
    FeedbackFilter,
    FeedbackIn,
    MapIn,
    PredictionIn,
)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
METHOD_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")

MAX_TEXT = 20_000  # model answer (256 new tokens is ~1.5 k characters; room to spare)
MAX_PROMPT = 4_000
MAX_CORRECTION = 5_000
MAX_COMMENT = 2_000
MAX_IDENT = 200  # model id, revision, reviewer name
MAX_PHRASES = 512
MAX_JSON_BYTES = 256 * 1024
MAX_GRID_SIDE = 64
MAX_IMAGE_SIDE = 1_000_000
MAX_IMAGE_BYTES = 200 * 1024 * 1024


def clean_text(value: str, what: str, max_len: int) -> str:
    """Return `value` without NUL characters and lone surrogates; reject non-strings and overlong text."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text, not {type(value).__name__}")
    # PostgreSQL cannot store NUL in text; lone surrogates cannot be encoded as UTF-8.
    value = value.replace("\x00", "")
    value = value.encode("utf-8", "replace").decode("utf-8")
    if len(value) > max_len:
        raise ValidationError(f"{what} is too long ({len(value)} characters; at most {max_len})")
    return value


def optional_text(value: str | None, what: str, max_len: int) -> str | None:
    if value is None:
        return None
    value = clean_text(value, what, max_len)
    return value if value.strip() else None


def sha256_hex(value: object, what: str = "image sha256") -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a 64-character hex string")
    value = value.strip().lower()
    if not SHA256_RE.match(value):
        raise ValidationError(f"{what} must be a 64-character hex string, got {value[:80]!r}")
    return value


def choice(value: object, allowed: Sequence[str], what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def finite(value: object, what: str, *, optional: bool = True, lo: float | None = None,
           hi: float | None = None) -> float | None:
    if value is None:
        if optional:
            return None
        raise ValidationError(f"{what} is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what} must be a number, not {type(value).__name__}")
    x = float(value)
    if not math.isfinite(x):
        raise ValidationError(f"{what} must be a finite number, got {x}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ValidationError(f"{what} must be between {lo} and {hi}, got {x}")
    return x


def integer(value: object, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} must be an integer, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValidationError(f"{what} must be between {lo} and {hi}, got {value}")
    return value


def json_object(value: Mapping[str, Any] | None, what: str) -> dict[str, Any] | None:
    """A JSON-serialisable object of bounded size, returned as a plain dict (a deep copy)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a JSON object (a mapping)")
    try:
        encoded = json.dumps(dict(value), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as err:
        raise ValidationError(f"{what} cannot be stored as JSON: {err}") from None
    if "\\u0000" in encoded:
        raise ValidationError(f"{what} contains a NUL character")
    if len(encoded.encode("utf-8", "replace")) > MAX_JSON_BYTES:
        raise ValidationError(f"{what} is too large (more than {MAX_JSON_BYTES // 1024} KiB as JSON)")
    return json.loads(encoded.encode("utf-8", "replace").decode("utf-8"))


def image_format(value: object) -> str:
    if isinstance(value, str):
        value = value.strip().lower()
        value = {"jpg": "jpeg", "tif": "tiff", "heic": "heif"}.get(value, value)
    return choice(value, tuple(IMAGE_FORMATS), "image format")  # type: ignore[return-value]


def prediction(p: PredictionIn) -> dict[str, Any]:
    """Validated column values for a prediction row (and its image row)."""
    text = clean_text(p.text, "prediction text", MAX_TEXT)
    if len(p.phrases) > MAX_PHRASES:
        raise ValidationError(f"too many phrases ({len(p.phrases)}; at most {MAX_PHRASES})")
    phrases = []
    for i, ph in enumerate(p.phrases):
        # Any object with text/char_start/char_end will do (explain.types.Phrase has them).
        if not all(hasattr(ph, a) for a in ("text", "char_start", "char_end")):
            raise ValidationError(f"phrase {i} must have text, char_start and char_end")
        start = integer(ph.char_start, f"phrase {i} start", 0, MAX_TEXT)
        end = integer(ph.char_end, f"phrase {i} end", start, MAX_TEXT)
        phrases.append({"text": clean_text(ph.text, f"phrase {i}", MAX_TEXT),
                        "char_start": start, "char_end": end})
    timings: dict[str, float] = {}
    raw_timings: Any = p.timings
    if dataclasses.is_dataclass(raw_timings) and not isinstance(raw_timings, type):
        raw_timings = dataclasses.asdict(raw_timings)  # e.g. explain.types.Timings
    if not isinstance(raw_timings, Mapping):
        raise ValidationError("timings must be a mapping of name -> seconds")
    if len(raw_timings) > 32:
        raise ValidationError("too many timing entries (at most 32)")
    for key, val in raw_timings.items():
        name = clean_text(key, "timing name", 64)
        timings[name] = finite(val, f"timing {name!r}", optional=False)  # type: ignore[assignment]
    return {
        "client_hash": sha256_hex(p.client_hash, "client hash"),
        "image_sha256": sha256_hex(p.image_sha256),
        "image_format": image_format(p.image_format),
        "image_width": integer(p.image_width, "image width", 1, MAX_IMAGE_SIDE),
        "image_height": integer(p.image_height, "image height", 1, MAX_IMAGE_SIDE),
        "model_id": clean_text(p.model_id, "model id", MAX_IDENT),
        "model_revision": clean_text(p.model_revision or "", "model revision", MAX_IDENT),
        "prompt": clean_text(p.prompt, "prompt", MAX_PROMPT),
        "text": text,
        "verdict": choice(p.verdict, VERDICTS, "verdict"),
        "p_fake": finite(p.p_fake, "p_fake", lo=0.0, hi=1.0),
        "phrases": phrases,
        "timings": timings,
        "provenance": json_object(p.provenance, "provenance"),
        "rule": choice(p.rule, RULES, "verdict rule"),
        "preprocess": choice(p.preprocess, PREPROCESSING, "preprocessing"),
    }


def phrase_map(m: MapIn) -> dict[str, Any]:
    """Validated values for a phrase map row; the grid comes back as a list of float rows.

    Takes a MapIn or anything with the same attributes (explain.types.PhraseMap has them)."""
    missing = [a for a in _MAP_FIELDS if not hasattr(m, a)]
    if missing:
        raise ValidationError(f"a map must have {', '.join(_MAP_FIELDS)}; missing {', '.join(missing)}")
    method = m.method.strip().lower() if isinstance(m.method, str) else m.method
    if not isinstance(method, str) or not METHOD_RE.match(method):
        raise ValidationError(f"map method must be a short lower-case identifier, got {m.method!r}")
    grid = m.grid
    if not isinstance(grid, Sequence) or not grid or isinstance(grid, (str, bytes)):
        raise ValidationError("map grid must be a non-empty list of rows")
    rows = len(grid)
    first = grid[0]
    if not isinstance(first, Sequence) or isinstance(first, (str, bytes)) or not first:
        raise ValidationError("map grid rows must be non-empty lists of numbers")
    cols = len(first)
    if rows > MAX_GRID_SIDE or cols > MAX_GRID_SIDE:
        raise ValidationError(f"map grid is {rows}x{cols}; at most {MAX_GRID_SIDE}x{MAX_GRID_SIDE}")
    values: list[list[float]] = []
    for r, row in enumerate(grid):
        if not isinstance(row, Sequence) or isinstance(row, (str, bytes)) or len(row) != cols:
            raise ValidationError(f"map grid row {r} does not have {cols} values (grid must be rectangular)")
        values.append([finite(v, f"map grid value [{r}][{c}]", optional=False)  # type: ignore[misc]
                       for c, v in enumerate(row)])
    box = m.crop_box
    if not isinstance(box, Sequence) or len(box) != 4:
        raise ValidationError("crop box must be four integers (x0, y0, x1, y1)")
    x0, y0, x1, y1 = (integer(v, "crop box value", 0, MAX_IMAGE_SIDE) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValidationError(f"crop box {tuple(box)} is empty (need x0 < x1 and y0 < y1)")
    return {
        "phrase_index": integer(m.phrase_index, "phrase index", -1, MAX_PHRASES),
        "method": method,
        "grid": values,
        "crop_box": (x0, y0, x1, y1),
        "score": finite(m.score, "map score"),
        "reliance": finite(m.reliance, "map reliance"),
        "deletion_auc": finite(m.deletion_auc, "deletion AUC"),
        "insertion_auc": finite(m.insertion_auc, "insertion AUC"),
    }


_MAP_FIELDS = ("phrase_index", "method", "grid", "crop_box", "score", "reliance", "deletion_auc", "insertion_auc")


def feedback(f: FeedbackIn) -> dict[str, Any]:
    if not isinstance(f, FeedbackIn):
        raise ValidationError("feedback must be a FeedbackIn record")
    if f.verdict_correct is not None and not isinstance(f.verdict_correct, bool):
        raise ValidationError("'verdict right or wrong' must be true, false or unanswered")
    if not isinstance(f.consent, bool):
        raise ValidationError("consent must be true or false")
    if not isinstance(f.phrase_votes, Mapping):
        raise ValidationError("phrase votes must be a mapping of phrase index -> agree/disagree")
    if len(f.phrase_votes) > MAX_PHRASES:
        raise ValidationError(f"too many phrase votes (at most {MAX_PHRASES})")
    votes: dict[int, str] = {}
    for idx, vote in f.phrase_votes.items():
        idx = integer(idx, "phrase index", -1, MAX_PHRASES)
        votes[idx] = choice(vote, VOTES, f"vote on phrase {idx}")  # type: ignore[assignment]
    return {
        "prediction_id": integer(f.prediction_id, "prediction id", 1, 2**63 - 1),
        "client_hash": sha256_hex(f.client_hash, "client hash"),
        "verdict_correct": f.verdict_correct,
        "true_label": choice(f.true_label, TRUE_LABELS, "true label", optional=True),
        "phrase_votes": votes,
        "corrected_explanation": optional_text(f.corrected_explanation, "corrected explanation",
                                               MAX_CORRECTION),
        "category": choice(f.category, CATEGORIES, "category", optional=True),
        "comment": optional_text(f.comment, "comment", MAX_COMMENT),
        "consent": f.consent,
    }


def feedback_filter(f: FeedbackFilter | None) -> FeedbackFilter:
    f = f or FeedbackFilter()
    choice(f.verdict, VERDICTS, "verdict filter", optional=True)
    choice(f.category, CATEGORIES, "category filter", optional=True)
    choice(f.review_state, REVIEW_STATES, "review state filter", optional=True)
    choice(f.true_label, TRUE_LABELS, "true label filter", optional=True)
    if f.prediction_id is not None:
        integer(f.prediction_id, "prediction id filter", 1, 2**63 - 1)
    if f.disagreement is not None and not isinstance(f.disagreement, bool):
        raise ValidationError("disagreement filter must be true, false or None")
    integer(f.limit, "limit", 1, 10_000)
    integer(f.offset, "offset", 0, 2**62)
    return f


def label_contradiction(verdict: str, verdict_correct: bool | None, true_label: str | None) -> str | None:
    """A message if "the verdict was right/wrong" and the true label say opposite things."""
    if verdict_correct is None or true_label not in ("real", "fake") or verdict not in ("real", "fake"):
        return None
    agrees = true_label == verdict
    if agrees != verdict_correct:
        said = "right" if verdict_correct else "wrong"
        return (f"the feedback says the verdict '{verdict}' was {said} but gives the true label "
                f"'{true_label}'; please make them agree")
    return None
