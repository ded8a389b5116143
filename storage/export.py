"""Exports of consented feedback for researchers: FakeClue JSON, JSON Lines, Parquet.

What is exported: feedback with consent whose image bytes are kept; rejected feedback never;
pending feedback unless `accepted_only`. The visitor's pseudonymous id is never exported, and
free-text comments only with `include_comments`.

Layouts (each format in its own folder):
- fakeclue: `fakeclue.json`, a JSON list of FakeClue/LLaVA records ready for FakeVLM fine-tuning,
  and `images/<sha256>.<ext>`: the picture the answer talks about, as FakeVLM's loader reads it
  (export_pictures.py: byte-exact where the stored bytes already read that way, else the visitor's
  view baked into `images/<sha256>.seen.png`); width and height are read back from that file. Only records with a known label (1 real / 0 fake), a FakeClue
  category, and an explanation that is either the visitor's correction or the model's answer
  confirmed by them (verdict right, no phrase disputed) are written; the rest are counted under
  `skipped` with the reason.
- jsonl: `metadata.jsonl`, one record per feedback with every field, and `images/<sha256>.<ext>`.
  The image is referenced by the relative path in `file_name` (not embedded as base64), which is
  the `imagefolder` convention: `load_dataset("imagefolder", data_dir=DIR)` gives an Image column,
  `load_dataset("json", data_files=DIR/metadata.jsonl)` the plain records.
- parquet: `data.parquet`, the same fields with the image bytes embedded in an `image` column of
  Hugging Face's Image type ({bytes, path}), so `load_dataset("parquet", ...)` decodes it.

Image files (all of jsonl and parquet, most of fakeclue) are copied byte-exact and their sha256 checked on the way; a damaged or missing file is
skipped and counted, never exported. The export is built in a temporary folder next to the target
and renamed into place at the end, so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StorageError
from .export_pictures import ExportPicture, export_picture
from .records import CATEGORIES, IMAGE_FORMATS, ExportRow

FORMATS = ("fakeclue", "jsonl", "parquet")
FAKECLUE_PROMPT = "<image>Does the image looks real/fake?"  # grammar as in the paper's evaluation
FAKECLUE_FILE = "fakeclue.json"
JSONL_FILE = "metadata.jsonl"
PARQUET_FILE = "data.parquet"
LABELS = {"real": 1, "fake": 0}  # FakeClue: 1 real, 0 fake
_VERDICT_SENTENCE = re.compile(r"\bthis is an? (real|fake) image\b", re.IGNORECASE)


class ExportError(StorageError):
    pass


@dataclass
class ExportReport:
    format: str
    out_dir: Path
    records: int = 0
    images: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"exported {self.records} record(s) and {self.images} image(s) as {self.format} to {self.out_dir}"]
        for reason, n in sorted(self.skipped.items()):
            lines.append(f"  skipped {n}: {reason}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- labels and answers


def official_verdict(text: str) -> str | None:
    """FakeVLM's evaluation rule: after the last '?', the first sentence containing "real" or
    "fake" (checked in that order) decides; only the first two sentences are looked at."""
    tail = text.split("?")[-1]
    sentences = tail.split(".")
    for sentence in sentences[:2]:
        s = sentence.lower()
        if "real" in s:
            return "real"
        if "fake" in s:
            return "fake"
    return None


def row_label(row: ExportRow) -> str | None:
    """'real', 'fake' or None (unsure, or not enough said to know)."""
    if row.true_label in LABELS:
        return row.true_label
    if row.true_label == "unsure" or row.model_verdict not in LABELS or row.verdict_correct is None:
        return None
    if row.verdict_correct:
        return row.model_verdict
    return "real" if row.model_verdict == "fake" else "fake"


def training_answer(row: ExportRow) -> tuple[str | None, str | None]:
    """(answer for the gpt turn, None) or (None, reason it cannot be used).

    The answer is the visitor's corrected explanation, or the model's own answer when the visitor
    confirmed it. It must read as the label under the official verdict rule; when it does not say
    so, "This is a <label> image." is put in front (the form every FakeClue answer has).
    """
    label = row_label(row)
    if label is None:
        return None, "no known label (unsure or unanswered)"
    disputed = any(v == "disagree" for v in row.phrase_votes.values())
    if row.corrected_explanation:
        answer = row.corrected_explanation.strip()
    elif row.verdict_correct is True and not disputed and row.model_verdict == label:
        answer = row.model_text.strip()
    else:
        return None, "no corrected or confirmed explanation"
    if official_verdict(answer) == label:
        return answer, None
    stated = _VERDICT_SENTENCE.search(answer)
    if stated and stated.group(1).lower() != label:
        return None, "explanation states the opposite of the label"
    return f"This is a {label} image. {answer}", None


# ---------------------------------------------------------------------- records


def image_name(row: ExportRow) -> str:
    return f"{row.image_sha256}.{IMAGE_FORMATS.get(row.image_format, 'bin')}"


def fakeclue_record(row: ExportRow, answer: str, image: str, picture: ExportPicture) -> dict[str, Any]:
    return {
        "image": image,
        "label": LABELS[row_label(row)],  # type: ignore[index]
        "cate": row.category,
        "width": picture.width,  # as FakeVLM's loader reads the exported file
        "height": picture.height,
        "conversations": [
            {"from": "human", "value": FAKECLUE_PROMPT},
            {"from": "gpt", "value": answer},
        ],
    }


def full_record(row: ExportRow, *, include_comments: bool) -> dict[str, Any]:
    """Every exported field of one feedback record (the jsonl and parquet rows, less the image)."""
    label = row_label(row)
    answer, _ = training_answer(row)
    rec: dict[str, Any] = {
        "feedback_id": row.feedback_id,
        "prediction_id": row.prediction_id,
        "image_sha256": row.image_sha256,
        "image_format": row.image_format,
        "width": row.width,
        "height": row.height,
        "label": LABELS[label] if label else None,
        "true_label": row.true_label,
        "verdict_correct": row.verdict_correct,
        "model_verdict": row.model_verdict,
        "p_fake": row.p_fake,
        "model_id": row.model_id,
        "model_revision": row.model_revision,
        "rule": row.rule,
        "preprocess": row.preprocess,
        "prompt": row.prompt,
        "model_text": row.model_text,
        "corrected_explanation": row.corrected_explanation,
        "answer": answer,
        "cate": row.category,
        "phrases": [{"text": p.text, "char_start": p.char_start, "char_end": p.char_end} for p in row.phrases],
        "phrase_votes": [{"phrase_index": i, "vote": v} for i, v in sorted(row.phrase_votes.items())],
        "review_state": row.review_state,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
    if include_comments:
        rec["comment"] = row.comment
    return rec


def _parquet_schema(include_comments: bool) -> Any:
    import pyarrow as pa

    phrase = pa.struct([("text", pa.string()), ("char_start", pa.int64()), ("char_end", pa.int64())])
    vote = pa.struct([("phrase_index", pa.int64()), ("vote", pa.string())])
    fields = [
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        ("feedback_id", pa.int64()), ("prediction_id", pa.int64()), ("image_sha256", pa.string()),
        ("image_format", pa.string()), ("width", pa.int64()), ("height", pa.int64()),
        ("label", pa.int64()), ("true_label", pa.string()), ("verdict_correct", pa.bool_()),
        ("model_verdict", pa.string()), ("p_fake", pa.float64()), ("model_id", pa.string()),
        ("model_revision", pa.string()), ("rule", pa.string()), ("preprocess", pa.string()), ("prompt", pa.string()), ("model_text", pa.string()),
        ("corrected_explanation", pa.string()), ("answer", pa.string()), ("cate", pa.string()),
        ("phrases", pa.list_(phrase)), ("phrase_votes", pa.list_(vote)), ("review_state", pa.string()),
        ("created_at", pa.string()), ("updated_at", pa.string()),
    ]
    if include_comments:
        fields.append(("comment", pa.string()))
    # Tells `datasets` that "image" is its Image feature; other columns it reads from Arrow types.
    hf_meta = {"info": {"features": {"image": {"_type": "Image"}}}}
    return pa.schema(fields, metadata={"huggingface": json.dumps(hf_meta)})


# ---------------------------------------------------------------------- the export itself


def _read_verified(row: ExportRow) -> bytes | None:
    try:
        data = row.image_path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == row.image_sha256 else None


def _prepare_out(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportError(f"{out_dir} already exists and is not an empty folder; choose a new --out")
    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
    except OSError as err:
        raise ExportError(f"cannot create the export folder next to {out_dir}: {err.strerror}") from None


def export(rows: Iterator[ExportRow], fmt: str, out_dir: str | Path, *, include_comments: bool = False) -> ExportReport:
    """Write `rows` (from `Store.export_rows`) to `out_dir` in format `fmt`; see the module docstring."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    work = _prepare_out(out_dir)
    report = ExportReport(fmt, out_dir)
    try:
        if fmt == "fakeclue":
            _export_fakeclue(rows, work, report)
        elif fmt == "jsonl":
            _export_jsonl(rows, work, report, include_comments)
        else:
            _export_parquet(rows, work, report, include_comments)
        _write_card(work, report, include_comments)
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.replace(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report.files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
    return report


def _copy_image(row: ExportRow, images_dir: Path, copied: set[str], report: ExportReport) -> str | None:
    name = image_name(row)
    if row.image_sha256 in copied:
        return f"images/{name}"
    data = _read_verified(row)
    if data is None:
        report.skipped["image file missing or damaged"] += 1
        return None
    images_dir.mkdir(exist_ok=True)
    (images_dir / name).write_bytes(data)
    copied.add(row.image_sha256)
    report.images += 1
    return f"images/{name}"


def _fakeclue_picture(row: ExportRow, images_dir: Path, done: dict[tuple[str, str], Any],
                      report: ExportReport) -> tuple[str, ExportPicture] | None:
    """Write the record's picture once per (image, preprocessing); its relative path and sizes."""
    key = (row.image_sha256, row.preprocess)
    if key not in done:
        data = _read_verified(row)
        if data is None:
            report.skipped["image file missing or damaged"] += 1
            return None
        ext = IMAGE_FORMATS.get(row.image_format, "bin")
        picture = export_picture(data, ext, row.preprocess)
        if picture is None:
            report.skipped["picture cannot be decoded"] += 1
            return None
        name = f"{row.image_sha256}.seen.png" if picture.rewritten else f"{row.image_sha256}.{ext}"
        images_dir.mkdir(exist_ok=True)
        if not (images_dir / name).exists():
            (images_dir / name).write_bytes(picture.data)
            report.images += 1
        done[key] = (f"images/{name}", picture)
    return done[key]


def _export_fakeclue(rows: Iterator[ExportRow], work: Path, report: ExportReport) -> None:
    records: list[dict[str, Any]] = []
    done: dict[tuple[str, str], Any] = {}
    for row in rows:
        answer, reason = training_answer(row)
        if answer is None:
            report.skipped[reason or "unusable"] += 1
            continue
        if row.category not in CATEGORIES:
            report.skipped["no FakeClue category"] += 1
            continue
        found = _fakeclue_picture(row, work / "images", done, report)
        if found is None:
            continue
        records.append(fakeclue_record(row, answer, *found))
    with open(work / FAKECLUE_FILE, "w", encoding="utf-8") as fh:
        json.dump(records, fh, ensure_ascii=False, indent=1)
    report.records = len(records)


def _export_jsonl(rows: Iterator[ExportRow], work: Path, report: ExportReport, include_comments: bool) -> None:
    copied: set[str] = set()
    with open(work / JSONL_FILE, "w", encoding="utf-8") as fh:
        for row in rows:
            rel = _copy_image(row, work / "images", copied, report)
            if rel is None:
                continue
            rec = {"file_name": rel, **full_record(row, include_comments=include_comments)}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            report.records += 1


def _export_parquet(rows: Iterator[ExportRow], work: Path, report: ExportReport, include_comments: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _parquet_schema(include_comments)
    batch: list[dict[str, Any]] = []
    seen: set[str] = set()
    with pq.ParquetWriter(work / PARQUET_FILE, schema) as writer:
        for row in rows:
            data = _read_verified(row)
            if data is None:
                report.skipped["image file missing or damaged"] += 1
                continue
            if row.image_sha256 not in seen:
                seen.add(row.image_sha256)
                report.images += 1
            batch.append({"image": {"bytes": data, "path": image_name(row)},
                          **full_record(row, include_comments=include_comments)})
            if len(batch) >= 64:  # bounded memory: images are in the batch
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                report.records += len(batch)
                batch = []
        if batch or report.records == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            report.records += len(batch)


def _write_card(work: Path, report: ExportReport, include_comments: bool) -> None:
    data_file = {"fakeclue": FAKECLUE_FILE, "jsonl": JSONL_FILE, "parquet": PARQUET_FILE}[report.format]
    text = f"""# Spot the Fake: visitor feedback ({report.format})

Corrections and confirmations that visitors of the Spot the Fake demo gave on FakeVLM's answers,
exported with their consent. {report.records} record(s), {report.images} image(s).

- Data file: `{data_file}`{'' if report.format == 'parquet' else '; images in `images/`, named by sha256'}.
- `label`: 1 real, 0 fake (FakeClue convention). `cate`: FakeClue category.
- The answer used for training is the visitor's corrected explanation, or the model's answer
  where the visitor confirmed it.
- No visitor identifiers are included{'' if include_comments else ', nor free-text comments'}.
"""
    (work / "README.md").write_text(text, encoding="utf-8")
