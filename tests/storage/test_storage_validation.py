"""Untrusted input is refused with a message a person can act on, before anything is written; the
detector's own records (explain.types) are accepted as they are."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from storage_helpers import SECRET, Maker, png_bytes

from storage import FeedbackIn, MapIn, Store, ValidationError
from storage import validate as v

SHA = hashlib.sha256(b"x").hexdigest()
GOOD_MAP = MapIn(0, "gradient", [[0.0] * 24 for _ in range(24)], (0, 0, 10, 10))


@pytest.mark.parametrize(("change", "message"), [
    ({"verdict": "maybe"}, "verdict must be one of real, fake, undecided"),
    ({"p_fake": 1.5}, "p_fake must be between 0.0 and 1.0"),
    ({"p_fake": math.nan}, "p_fake must be a finite number"),
    ({"image_sha256": "../etc/passwd"}, "image sha256 must be a 64-character hex string"),
    ({"client_hash": "192.168.0.1"}, "client hash must be a 64-character hex string"),
    ({"image_format": "exe"}, "image format must be one of"),
    ({"image_width": 0}, "image width must be between 1"),
    ({"text": "x" * 20_001}, "prediction text is too long"),
    ({"rule": "regex"}, "verdict rule must be one of word, substring"),  # issue 18
    ({"preprocess": "raw"}, "preprocessing must be one of default, paper"),
    ({"provenance": {"a": {1, 2}}}, "provenance cannot be stored as JSON"),
    ({"provenance": {"blob": "x" * 300_000}}, "provenance is too large"),
    ({"timings": {"total_s": math.inf}}, "timing 'total_s' must be a finite number"),
    ({"phrases": ["just a string"]}, "phrase 0 must have text, char_start and char_end"),
])
def test_bad_predictions_are_refused(change: dict[str, Any], message: str) -> None:
    p = Maker(None).prediction_in(SHA, png_bytes(1))  # building records needs no store
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        v.prediction(replace(p, **change))


@pytest.mark.parametrize(("m", "message"), [
    (replace(GOOD_MAP, grid=[[0.0, math.nan]]), r"map grid value \[0\]\[1\] must be a finite number"),
    (replace(GOOD_MAP, grid=[[0.0, 1.0], [2.0]]), "row 1 does not have 2 values"),
    (replace(GOOD_MAP, grid=[]), "non-empty list of rows"),
    (replace(GOOD_MAP, grid=[[0.0] * 65]), "at most 64x64"),
    (replace(GOOD_MAP, grid=[["a"]]), "must be a number"),
    (replace(GOOD_MAP, crop_box=(5, 5, 5, 9)), "is empty"),
    (replace(GOOD_MAP, crop_box=(0, 0, 1)), "four integers"),
    (replace(GOOD_MAP, method="../x"), "short lower-case identifier"),
    ("not a map", "a map must have phrase_index"),
])
def test_bad_maps_are_refused(m: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        v.phrase_map(m)


@pytest.mark.parametrize(("change", "message"), [
    ({"true_label": "maybe"}, "true label must be one of real, fake, unsure"),
    ({"category": "cats"}, "category must be one of animal, human"),
    ({"phrase_votes": {0: "meh"}}, "vote on phrase 0 must be one of agree, disagree"),
    ({"phrase_votes": {"0": "agree"}}, "phrase index must be an integer"),
    ({"comment": "x" * 2001}, "comment is too long"),
    ({"consent": "yes"}, "consent must be true or false"),
    ({"verdict_correct": "no"}, "'verdict right or wrong' must be true, false or unanswered"),
    ({"prediction_id": 0}, "prediction id must be between 1"),
])
def test_bad_feedback_is_refused(change: dict[str, Any], message: str) -> None:
    fb = FeedbackIn(prediction_id=1, client_hash=SHA)
    with pytest.raises(ValidationError, match=message):
        v.feedback(replace(fb, **change))


def test_blank_texts_become_none() -> None:
    out = v.feedback(FeedbackIn(prediction_id=1, client_hash=SHA, comment="   ", corrected_explanation="\n"))
    assert out["comment"] is None and out["corrected_explanation"] is None


def test_refused_input_writes_nothing(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'spot.db'}", tmp_path / "data", secret=SECRET) as store:
        m = Maker(store)
        with pytest.raises(ValidationError):
            store.save_prediction(m.prediction_in(m.visitor("a"), png_bytes(1), verdict="maybe"))
        with pytest.raises(ValidationError):
            store.save_maps(1, [replace(GOOD_MAP, grid=[[math.inf]])])
        assert store.stats().predictions == 0 and store.stats().images == 0


def test_explain_types_are_accepted_as_they_are(tmp_path: Path) -> None:
    """The demo can hand the detector's records to the store without converting them."""
    types = pytest.importorskip("explain.types")
    with Store.open(f"sqlite:///{tmp_path / 'spot.db'}", tmp_path / "data", secret=SECRET) as store:
        m = Maker(store)
        phrases = (types.Phrase("This is a fake image.", 0, 21, 0, 6),)
        timings = types.Timings(preprocess_s=0.1, first_token_s=0.5, total_s=2.0, new_tokens=12, tokens_per_s=6.0)
        pid = store.save_prediction(m.prediction_in(m.visitor("a"), png_bytes(1), phrases=phrases, timings=timings))
        grid = tuple(tuple(float(r + c) for c in range(24)) for r in range(24))
        pm = types.PhraseMap(phrase_index=0, method="gradient", grid=grid, crop_box=(0, 0, 8, 6), score=-1.0,
                             reliance=0.5)
        assert store.save_maps(pid, [pm]) == 1
        p = store.reviewer_get_prediction(pid)
        assert p is not None and p.phrases[0].text == "This is a fake image."
        assert p.timings["tokens_per_s"] == 6.0
        [got] = store.reviewer_get_maps(pid)
        assert got.grid[23][23] == 46.0 and got.reliance == 0.5


def test_rule_and_preprocessing_are_kept_with_each_prediction(tmp_path: Path) -> None:
    """Issue 18: a prediction says which verdict rule and which picture preprocessing produced it."""
    with Store.open(f"sqlite:///{tmp_path / 'spot.db'}", tmp_path / "data", secret=SECRET) as store:
        m = Maker(store)
        client = m.visitor("a")
        pid = store.save_prediction(m.prediction_in(client, png_bytes(1), rule="substring", preprocess="paper"))
        old = store.save_prediction(m.prediction_in(client, png_bytes(2)))
        got = store.get_prediction(pid, client), store.get_prediction(old, client)
        assert [(p.rule, p.preprocess) for p in got] == [("substring", "paper"), ("word", "default")]
