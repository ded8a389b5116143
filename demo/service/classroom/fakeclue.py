"""Labelled pictures for a lesson from the FakeClue dataset on the Hugging Face Hub (online only).

FakeClue records are LLaVA conversations (see DESIGN.md): `label` 1 = real, 0 = fake, `cate` a
category, and the reference explanation is the "gpt" turn. Two ways in, tried in order:

1. `datasets.load_dataset(..., streaming=True)`: for a copy of the dataset laid out as a
   Hub dataset (Parquet, or an image folder with metadata), rows come with their image;
2. `huggingface_hub`: the annotation JSON of the split (e.g. `data_json/test.json`) and then each
   picture file it names.

Offline (HF_HUB_OFFLINE=1, or no network) every failure is a `FakeClueUnavailable` with one line a
teacher can act on; nothing here is needed for a lesson made of uploads or the examples.
The dataset id is `SPOT_FAKECLUE_DATASET` (default lingcco/FakeClue).
"""

from __future__ import annotations

import io
import logging
import os
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DATASET_ENV = "SPOT_FAKECLUE_DATASET"
DEFAULT_DATASET = "lingcco/FakeClue"
MAX_PULL = 24
MAX_IMAGE_BYTES = 20 * 1024 * 1024
_SCAN_LIMIT = 2000  # rows looked at in the streaming route before giving up on balance


class FakeClueUnavailable(Exception):
    """The dataset could not be reached or read; the message says why, in one line."""


@dataclass(frozen=True)
class FakeClueSample:
    data: bytes  # the picture file as stored in the dataset
    truth: str  # "real" | "fake"
    category: str | None
    reference: str | None  # the dataset's explanation of the picture
    name: str  # its path in the dataset, for the teacher's list


def dataset_id() -> str:
    return os.environ.get(DATASET_ENV, "").strip() or DEFAULT_DATASET


def label_of(value: Any) -> str | None:
    """FakeClue's label (1 real, 0 fake; strings accepted) as "real" / "fake", else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and value in (0, 1):
        return "real" if int(value) == 1 else "fake"
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("1", "real"):
            return "real"
        if v in ("0", "fake"):
            return "fake"
    return None


def reference_of(record: Mapping[str, Any]) -> str | None:
    """The dataset's explanation: the first "gpt" turn of `conversations` (or an `answer` field)."""
    for turn in record.get("conversations") or ():
        if isinstance(turn, Mapping) and turn.get("from") in ("gpt", "assistant"):
            text = str(turn.get("value") or "").strip()
            return text[:4000] or None
    for key in ("answer", "explanation", "gpt"):
        if isinstance(record.get(key), str) and record[key].strip():
            return record[key].strip()[:4000]
    return None


def _truth_from(record: Mapping[str, Any]) -> str | None:
    truth = label_of(record.get("label"))
    if truth is None:
        # some copies keep only the conversation; its first sentence carries the label
        ref = (reference_of(record) or "").lower().split(".")[0]
        truth = "real" if "real" in ref else "fake" if "fake" in ref else None
    return truth


def _image_bytes(value: Any) -> bytes | None:
    """Bytes of a `datasets` Image value: {"bytes": ..., "path": ...}, a PIL image, or bytes."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, Mapping):
        if value.get("bytes"):
            return bytes(value["bytes"])
        return None
    save = getattr(value, "save", None)
    if callable(save):
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        return buf.getvalue()
    return None


def sample_from_row(row: Mapping[str, Any], name: str = "") -> FakeClueSample | None:
    """A lesson sample from a dataset row, or None when the row lacks a picture or a label."""
    truth = _truth_from(row)
    data = _image_bytes(row.get("image"))
    if truth is None or not data or len(data) > MAX_IMAGE_BYTES:
        return None
    cate = row.get("cate") or row.get("category")
    return FakeClueSample(data, truth, str(cate) if cate else None, reference_of(row),
                          name or str(row.get("image_path") or row.get("id") or ""))


def balanced(rows: Iterable[Any], n: int, key: Any) -> list[Any]:
    """Up to `n` items, as evenly split between real and fake as the input allows."""
    by: dict[str, list[Any]] = {"real": [], "fake": []}
    for r in rows:
        t = key(r)
        if t in by:
            by[t].append(r)
    out: list[Any] = []
    while len(out) < n and (by["real"] or by["fake"]):
        for t in ("fake", "real"):
            if by[t] and len(out) < n:
                out.append(by[t].pop(0))
    return out


def pull(n: int, *, split: str = "test", seed: int | None = None, dataset: str | None = None) -> list[FakeClueSample]:
    """`n` labelled pictures (half real, half fake where possible). Raises FakeClueUnavailable."""
    n = max(1, min(int(n), MAX_PULL))
    repo = dataset or dataset_id()
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise FakeClueUnavailable(
            f"FakeClue ({repo}) needs the Hugging Face Hub, and this server is offline (HF_HUB_OFFLINE). "
            "Upload pictures or use the examples instead.")
    _check_reachable(repo)
    errors: list[str] = []
    # streaming first; the files when the datasets library cannot stream the layout (or got nothing)
    for fetch, none_found in ((_pull_streaming, "no labelled pictures in the streamed rows"),
                              (_pull_files, "the annotation file named no picture that could be fetched")):
        try:
            got = fetch(repo, split, n, seed)
            if got:
                return got
            errors.append(none_found)
        except FakeClueUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - unstreamable layouts and network failures come in many types
            errors.append(_one_line(exc))
    raise FakeClueUnavailable(f"could not get pictures from FakeClue ({repo}): {errors[-1]}")


def _check_reachable(repo: str, timeout_s: float = 8.0) -> None:
    """One quick request for the dataset's card: the libraries below retry for most of a minute
    before giving up, and a teacher waiting on a button deserves to hear at once."""
    import httpx  # noqa: PLC0415 - a dependency of huggingface_hub
    from huggingface_hub import constants  # noqa: PLC0415
    from huggingface_hub.utils import build_hf_headers  # noqa: PLC0415

    url = f"{constants.ENDPOINT}/api/datasets/{repo}"
    try:
        r = httpx.get(url, headers=build_hf_headers(), timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise FakeClueUnavailable(f"the Hugging Face Hub cannot be reached ({type(exc).__name__}); "
                                  "FakeClue needs a connection to it") from None
    if r.status_code in (401, 403):
        raise FakeClueUnavailable(f"{repo} needs a Hugging Face token with access to it (HF_TOKEN)")
    if r.status_code == 404:
        raise FakeClueUnavailable(f"there is no dataset {repo} on the Hugging Face Hub (set {DATASET_ENV})")
    if r.status_code >= 400:
        raise FakeClueUnavailable(f"the Hugging Face Hub answered {r.status_code} for {repo}")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    name = type(exc).__name__
    if any(w in name for w in ("Connect", "Timeout", "Network", "Offline", "Transport")) or isinstance(exc, OSError):
        return f"the Hugging Face Hub cannot be reached ({name})"
    return f"{name}: {text[0][:200]}" if text else name


def _pull_streaming(repo: str, split: str, n: int, seed: int | None) -> list[FakeClueSample]:
    from datasets import load_dataset  # noqa: PLC0415 - heavy, online only

    stream = load_dataset(repo, split=split, streaming=True)
    if seed is not None:
        stream = stream.shuffle(seed=seed, buffer_size=256)

    def rows() -> Iterator[FakeClueSample]:
        for i, row in enumerate(stream):
            if i >= _SCAN_LIMIT:
                return
            s = sample_from_row(row, name=f"{split}/{i}")
            if s is not None:
                yield s

    return balanced(_take_until_balanced(rows(), n), n, key=lambda s: s.truth)


def _take_until_balanced(samples: Iterator[FakeClueSample], n: int) -> list[FakeClueSample]:
    got: list[FakeClueSample] = []
    counts = {"real": 0, "fake": 0}
    half = (n + 1) // 2
    for s in samples:
        got.append(s)
        counts[s.truth] += 1
        if counts["real"] >= half and counts["fake"] >= half:
            break
    return got


def _pull_files(repo: str, split: str, n: int, seed: int | None) -> list[FakeClueSample]:
    import json  # noqa: PLC0415

    from huggingface_hub import HfApi, hf_hub_download  # noqa: PLC0415

    files = HfApi().list_repo_files(repo, repo_type="dataset")
    annotations = sorted(f for f in files if f.endswith(".json") and split in f.rsplit("/", 1)[-1])
    if not annotations:
        raise FakeClueUnavailable(f"FakeClue ({repo}) has no annotation file for the '{split}' split")
    with open(hf_hub_download(repo, annotations[0], repo_type="dataset"), encoding="utf-8") as fh:
        records = json.load(fh)
    if not isinstance(records, list):
        raise FakeClueUnavailable(f"{annotations[0]} in {repo} is not a list of FakeClue records")
    rng = random.Random(seed)
    rng.shuffle(records)
    wanted = balanced((r for r in records if isinstance(r, Mapping) and isinstance(r.get("image"), str)),
                      n * 2, key=_truth_from)
    present = set(files)
    out: list[FakeClueSample] = []
    for rec in wanted:
        if len(out) >= n:
            break
        path = next((p for p in (rec["image"], f"{split}/{rec['image']}", f"data/{split}/{rec['image']}")
                     if p in present and ".." not in p), None)
        if path is None:
            continue
        with open(hf_hub_download(repo, path, repo_type="dataset"), "rb") as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            continue
        truth = _truth_from(rec)
        if truth is not None:
            out.append(FakeClueSample(data, truth, rec.get("cate"), reference_of(rec), path))
    return balanced(out, n, key=lambda s: s.truth)
