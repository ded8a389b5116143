"""Issue 18: every FakeClue record reads back through FakeVLM's own loading path (PIL open,
`convert("RGB")`, the llava-hf processor of its evaluation) as the very picture its answer describes,
with the width and height that path sees: for EXIF-rotated, transparent and 16-bit pictures, under
both preprocessings."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from storage_helpers import Maker

from explain.intake import check_image
from explain.model import TOY_MODEL_DIR
from explain.model.reference import reference_processor
from storage import Store
from storage.export import FAKECLUE_PROMPT, export, official_verdict
from storage.export_pictures import visitor_view
from storage.records import CATEGORIES
from tests.factories.pictures import fakevlm_reads, grey16_png, rgb16_png, rotated_jpeg, transparent_png

PICTURES = {"rotated": (rotated_jpeg, "jpeg"), "transparent": (transparent_png, "png"),
            "rgb16": (rgb16_png, "png"), "grey16": (grey16_png, "png")}
PROMPT = "<image>Does the image looks real/fake?"


@pytest.fixture(scope="module")
def processor():
    return reference_processor(TOY_MODEL_DIR)


def _fill(store: Store, make: Maker) -> dict[tuple[str, str], bytes]:
    saved = {}
    for name, (build, fmt) in PICTURES.items():
        data = build()
        for preprocess in ("default", "paper"):
            checked = check_image(data, preprocess=preprocess)  # what the model was shown
            v = make.visitor(f"{name}-{preprocess}")
            pid = make.prediction(v, data, image_format=fmt, image_width=checked.width,
                                  image_height=checked.height, preprocess=preprocess)
            store.save_feedback(make.feedback(pid, v, phrase_votes={}, category="object"), image_bytes=data)
            saved[(hashlib.sha256(data).hexdigest(), preprocess)] = data
    return saved


def test_every_record_reads_back_through_fakevlms_loader(store: Store, make: Maker, tmp_path: Path,
                                                         processor) -> None:
    saved = _fill(store, make)
    out = tmp_path / "fakeclue"
    report = export(store.export_rows(), "fakeclue", out)
    records = json.loads((out / "fakeclue.json").read_text(encoding="utf-8"))  # FakeVLM: json.load
    assert report.records == len(records) == 8 and not report.skipped
    rows = {(r.feedback_id): r for r in store.export_rows()}
    assert len(rows) == 8
    for rec, row in zip(records, sorted(rows.values(), key=lambda r: r.feedback_id), strict=True):
        original = saved[(row.image_sha256, row.preprocess)]
        # FakeVLM's JSON conventions: relative image path, 0/1 label, category, a human/gpt pair
        assert rec["conversations"][0] == {"from": "human", "value": FAKECLUE_PROMPT}
        assert rec["label"] in (0, 1) and rec["cate"] in CATEGORIES
        assert official_verdict(rec["conversations"][1]["value"]) == ("real" if rec["label"] else "fake")
        assert not Path(rec["image"]).is_absolute()
        exported = (out / rec["image"]).read_bytes()
        seen = Image.open(io.BytesIO(exported)).convert("RGB")  # FakeVLM's loader
        assert (rec["width"], rec["height"]) == seen.size
        shown = check_image(original, preprocess=row.preprocess).image  # what the answer describes
        assert seen.size == shown.size and np.array_equal(np.asarray(seen), np.asarray(shown)), rec["image"]
        if row.preprocess == "paper":
            assert exported == original  # the paper's loader read these very bytes
        # ... and the evaluation's processor gives the model the same tensors either way
        ref = processor(images=seen, text=PROMPT, return_tensors="pt")
        ours = processor(images=shown, text=PROMPT, return_tensors="pt")
        assert torch.equal(ref["pixel_values"], ours["pixel_values"])
        assert torch.equal(ref["input_ids"], ours["input_ids"])


def test_the_issue_example_a_rotated_landscape_photo(store: Store, make: Maker, tmp_path: Path) -> None:
    """600 x 450 stored, orientation 6: the default record says 450 x 600 and its picture is upright."""
    data = rotated_jpeg(600, 450)
    v = make.visitor("phone")
    pid = make.prediction(v, data, image_format="jpeg", image_width=450, image_height=600)
    store.save_feedback(make.feedback(pid, v, phrase_votes={}, category="scenery"), image_bytes=data)
    export(store.export_rows(), "fakeclue", tmp_path / "out")
    [rec] = json.loads((tmp_path / "out" / "fakeclue.json").read_text())
    assert (rec["width"], rec["height"]) == (450, 600)
    assert fakevlm_reads((tmp_path / "out" / rec["image"]).read_bytes()).size == (450, 600)
    assert rec["image"].endswith(".seen.png")  # rotation baked in, losslessly


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_storage_view_equals_the_intake_view(name: str) -> None:
    """export_pictures mirrors explain.intake.colour (storage may not import explain): pinned here."""
    data = PICTURES[name][0]()
    assert np.array_equal(np.asarray(visitor_view(data)), np.asarray(check_image(data).image))
