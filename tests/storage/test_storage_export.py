"""Exports round-trip: every exported record reloads (with Hugging Face `datasets`) and matches
what visitors entered; images come back byte-exact; what must not be exported is not."""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from storage_helpers import ANSWER, Maker, png_bytes

from storage import Store
from storage.export import ExportError, export, official_verdict

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def jpeg_bytes(seed: int) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (20, 12), ((seed * 40) % 256, 90, 200))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=91)
    return buf.getvalue()


@dataclass
class Case:
    name: str
    image: bytes
    fmt: str
    verdict: str
    fb: dict[str, Any]
    review: str | None = None
    # expectations
    fakeclue: tuple[int, str] | None = None  # (label, gpt answer) or None if not in fakeclue
    in_full: bool = True  # in jsonl / parquet
    label: int | None = None


FIXED_REAL = "The lighting is natural and the shadows agree with it."
SHARED = png_bytes(60)

CASES = [
    Case("confirmed", png_bytes(50), "png", "fake",
         dict(verdict_correct=True, true_label="fake", phrase_votes={1: "agree"}, category="human"),
         fakeclue=(0, ANSWER), label=0),
    Case("corrected-to-real", jpeg_bytes(1), "jpeg", "fake",
         dict(verdict_correct=False, true_label="real", phrase_votes={1: "disagree"}, category="scenery",
              corrected_explanation=FIXED_REAL),
         fakeclue=(1, f"This is a real image. {FIXED_REAL}"), label=1),
    Case("unsure", png_bytes(51), "png", "fake",
         dict(verdict_correct=None, true_label="unsure", phrase_votes={}, category="object"), label=None),
    Case("no-consent", png_bytes(52), "png", "fake",
         dict(verdict_correct=True, true_label="fake", consent=False, category="human"), in_full=False),
    Case("rejected", png_bytes(53), "png", "fake",
         dict(verdict_correct=True, true_label="fake", category="human"), review="rejected", in_full=False),
    Case("accepted", png_bytes(54), "png", "real",
         dict(verdict_correct=True, true_label=None, phrase_votes={0: "agree"}, category="animal"),
         review="accepted", fakeclue=(1, ANSWER.replace("fake", "real", 1)), label=1),
    Case("disputed-phrase", png_bytes(55), "png", "fake",
         dict(verdict_correct=True, true_label="fake", phrase_votes={2: "disagree"}, category="human"), label=0),
    Case("no-category", png_bytes(56), "png", "fake",
         dict(verdict_correct=True, true_label="fake", phrase_votes={}, category=None), label=0),
    Case("contradiction", png_bytes(57), "png", "fake",
         dict(verdict_correct=False, true_label="real", category="doc",
              corrected_explanation="This is a fake image. Oops, the visitor wrote the opposite."), label=1),
    Case("shared-a", SHARED, "png", "fake",
         dict(verdict_correct=True, true_label="fake", phrase_votes={}, category="deepfake"),
         fakeclue=(0, ANSWER), label=0),
    Case("shared-b", SHARED, "png", "fake",
         dict(verdict_correct=False, true_label="real", phrase_votes={}, category="deepfake",
              corrected_explanation="This is a real image. A genuine photo."),
         fakeclue=(1, "This is a real image. A genuine photo."), label=1),
]


@pytest.fixture
def filled(store: Store, make: Maker) -> dict[int, Case]:
    """Feedback id -> the case that produced it."""
    by_id: dict[int, Case] = {}
    for case in CASES:
        v = make.visitor(case.name)
        text = ANSWER if case.verdict == "fake" else ANSWER.replace("fake", "real", 1)
        w, h = (20, 12) if case.fmt == "jpeg" else (8, 6)
        pid = make.prediction(v, case.image, image_format=case.fmt, verdict=case.verdict, text=text,
                              image_width=w, image_height=h, p_fake=0.9 if case.verdict == "fake" else 0.1)
        fields = {"comment": f"comment {case.name}", "consent": True, **case.fb}
        fid = store.save_feedback(make.feedback(pid, v, **fields), image_bytes=case.image)
        if case.review:
            store.review(fid, case.review, "rita")
        by_id[fid] = case
    return by_id


def _expected_full(by_id: dict[int, Case], accepted_only: bool = False) -> dict[int, Case]:
    return {fid: c for fid, c in by_id.items() if c.in_full and (not accepted_only or c.review == "accepted")}


def _ext(case: Case) -> str:
    return "jpg" if case.fmt == "jpeg" else "png"


def test_fakeclue_export_round_trip(store: Store, filled: dict[int, Case], tmp_path: Path) -> None:
    out = tmp_path / "fakeclue"
    report = export(store.export_rows(), "fakeclue", out)
    records = json.loads((out / "fakeclue.json").read_text(encoding="utf-8"))
    expected = [c for _fid, c in sorted(filled.items()) if c.fakeclue is not None]
    assert report.records == len(records) == len(expected) == 5
    assert report.skipped == {"no known label (unsure or unanswered)": 1,
                              "no corrected or confirmed explanation": 1, "no FakeClue category": 1,
                              "explanation states the opposite of the label": 1}
    for rec, case in zip(records, expected, strict=True):
        sha = hashlib.sha256(case.image).hexdigest()
        assert set(rec) == {"image", "label", "cate", "width", "height", "conversations"}
        assert rec["image"] == f"images/{sha}.{_ext(case)}"
        assert (rec["label"], rec["conversations"][1]["value"]) == case.fakeclue
        assert rec["cate"] == case.fb["category"]
        assert (rec["width"], rec["height"]) == ((20, 12) if case.fmt == "jpeg" else (8, 6))
        assert rec["conversations"][0] == {"from": "human", "value": "<image>Does the image looks real/fake?"}
        assert rec["conversations"][1]["from"] == "gpt"
        # The answer reads as its label under FakeVLM's own verdict rule.
        assert official_verdict(rec["conversations"][1]["value"]) == ("real" if rec["label"] == 1 else "fake")
        assert (out / rec["image"]).read_bytes() == case.image
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(
        {f"{hashlib.sha256(c.image).hexdigest()}.{_ext(c)}" for c in expected})

    import datasets

    ds = datasets.load_dataset("json", data_files=str(out / "fakeclue.json"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 5 and ds[1]["conversations"][1]["value"] == records[1]["conversations"][1]["value"]


def _check_full_row(row: dict[str, Any], case: Case, store: Store, fid: int) -> None:
    sha = hashlib.sha256(case.image).hexdigest()
    fb = store.reviewer_list_feedback()
    stored = next(f for f in fb if f.id == fid)
    assert row["feedback_id"] == fid and row["prediction_id"] == stored.prediction_id
    assert row["image_sha256"] == sha and row["image_format"] == case.fmt
    assert row["label"] == case.label
    assert row["true_label"] == case.fb.get("true_label")
    assert row["verdict_correct"] == case.fb.get("verdict_correct")
    assert row["model_verdict"] == case.verdict
    assert row["model_id"] == "lingcco/fakeVLM" and row["model_revision"] == "abc123"
    assert row["corrected_explanation"] == case.fb.get("corrected_explanation")
    assert row["cate"] == case.fb.get("category")
    assert {v["phrase_index"]: v["vote"] for v in row["phrase_votes"]} == case.fb.get(
        "phrase_votes", {1: "agree", 2: "disagree"})
    assert [p["text"] for p in row["phrases"]][0] in ("This is a fake image.", "This is a real image.")
    assert row["answer"] == (case.fakeclue[1] if case.fakeclue else row["answer"])
    assert row["review_state"] == (case.review or "pending")
    assert "comment" not in row and "client_hash" not in row  # nothing identifying by default


def test_jsonl_export_round_trip(store: Store, filled: dict[int, Case], tmp_path: Path) -> None:
    out = tmp_path / "jsonl"
    report = export(store.export_rows(), "jsonl", out)
    expected = _expected_full(filled)
    assert report.records == len(expected) == 9 and report.images == 8 and not report.skipped

    import datasets

    ds = datasets.load_dataset("json", data_files=str(out / "metadata.jsonl"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert sorted(ds["feedback_id"]) == sorted(expected)
    for row in ds:
        case = expected[row["feedback_id"]]
        _check_full_row(row, case, store, row["feedback_id"])
        assert (out / row["file_name"]).read_bytes() == case.image

    # The same folder is an `imagefolder` dataset: the images load as an Image column.
    folder = datasets.load_dataset("imagefolder", data_dir=str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert isinstance(folder.features["image"], datasets.Image) and folder.num_rows == 9
    for row in folder:
        case = expected[row["feedback_id"]]
        assert row["image"].size == ((20, 12) if case.fmt == "jpeg" else (8, 6))


def test_parquet_export_round_trip_embeds_images(store: Store, filled: dict[int, Case], tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    report = export(store.export_rows(), "parquet", out, include_comments=True)
    expected = _expected_full(filled)
    assert report.records == 9 and sorted(report.files) == ["README.md", "data.parquet"]

    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(out / "data.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert isinstance(ds.features["image"], datasets.Image)
    raw = ds.cast_column("image", datasets.Image(decode=False))
    for row, decoded in zip(raw, ds, strict=True):
        case = expected[row["feedback_id"]]
        assert row["image"]["bytes"] == case.image  # byte-exact inside the parquet file
        assert decoded["image"].size == (row["width"], row["height"])
        assert row["comment"] == f"comment {case.name}"
        _check_full_row({k: v for k, v in row.items() if k != "comment"}, case, store, row["feedback_id"])


def test_accepted_only(store: Store, filled: dict[int, Case], tmp_path: Path) -> None:
    report = export(store.export_rows(accepted_only=True), "jsonl", tmp_path / "acc")
    lines = (tmp_path / "acc" / "metadata.jsonl").read_text().splitlines()
    assert report.records == len(lines) == 1
    assert json.loads(lines[0])["feedback_id"] in _expected_full(filled, accepted_only=True)


def test_damaged_image_is_skipped_not_exported(store: Store, filled: dict[int, Case], tmp_path: Path) -> None:
    sha = hashlib.sha256(CASES[0].image).hexdigest()
    store.files.path(sha).write_bytes(b"bit rot")
    report = export(store.export_rows(), "parquet", tmp_path / "p")
    assert report.records == 8 and report.skipped == {"image file missing or damaged": 1}


def test_export_refuses_a_non_empty_folder_and_leaves_no_partial(store: Store, filled: dict[int, Case],
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not an empty folder"):
        export(store.export_rows(), "jsonl", out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    with pytest.raises(ExportError, match="unknown export format"):
        export(store.export_rows(), "csv", tmp_path / "x")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_empty_store_exports_loadable_empty_files(store: Store, tmp_path: Path) -> None:
    for fmt in ("fakeclue", "jsonl", "parquet"):
        report = export(store.export_rows(), fmt, tmp_path / fmt)
        assert report.records == 0
    assert json.loads((tmp_path / "fakeclue" / "fakeclue.json").read_text()) == []
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "parquet" / "data.parquet").num_rows == 0


@pytest.mark.parametrize(("text", "verdict"), [
    ("This is a fake image. Skin is smooth.", "fake"),
    ("This is a real image.", "real"),
    ("Does the image looks real/fake? This is a fake image.", "fake"),
    ("The texture is odd. It looks fake.", "fake"),
    ("Hard to tell. Really.", "real"),  # the official rule is a substring test, quirks included
    ("No idea. None. Fake at the end.", None),  # only the first two sentences count
])
def test_official_verdict_rule(text: str, verdict: str | None) -> None:
    assert official_verdict(text) == verdict


def test_export_rows_pages_through_everything(store: Store, filled: dict[int, Case]) -> None:
    small = [r.feedback_id for r in store.export_rows(page=2)]
    assert small == [r.feedback_id for r in store.export_rows()] == sorted(_expected_full(filled))
