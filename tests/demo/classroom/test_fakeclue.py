"""FakeClue pulls (demo/service/classroom/fakeclue.py): records read the dataset's way, and every failure of
the online path (offline mode, no route to the Hub, a refusal) is one clear sentence, fast. The
Hub itself is out of reach here: the tests stop at the real network call, made to loopback."""

from __future__ import annotations

import http.server
import io
import threading
import time

import pytest
from PIL import Image

from demo.service.classroom import fakeclue
from demo.service.classroom.fakeclue import FakeClueUnavailable, balanced, label_of, reference_of, sample_from_row

from .conftest import png_bytes

CONV = [{"from": "human", "value": "<image>Does the image looks real/fake?"},
        {"from": "gpt", "value": "This is a fake image. The fur is overly smooth."}]


@pytest.mark.parametrize("value,truth", [(0, "fake"), (1, "real"), ("0", "fake"), ("1", "real"), ("real", "real"),
                                         (" Fake ", "fake"), (2, None), (True, None), (None, None), (0.5, None)])
def test_labels_follow_fakeclue(value, truth):
    assert label_of(value) == truth


def test_the_reference_is_the_gpt_turn():
    assert reference_of({"conversations": CONV}) == "This is a fake image. The fur is overly smooth."
    assert reference_of({"answer": " An answer. "}) == "An answer."
    assert reference_of({"conversations": [{"from": "human", "value": "q"}]}) is None
    assert reference_of({"conversations": "not a list"}) is None


def test_rows_with_bytes_or_a_pil_image_become_samples():
    data = png_bytes(64, 64, 3)
    s = sample_from_row({"image": {"bytes": data, "path": "x.png"}, "label": 0, "cate": "animal",
                         "conversations": CONV}, name="test/0")
    assert (s.data, s.truth, s.category, s.name) == (data, "fake", "animal", "test/0")
    assert s.reference.startswith("This is a fake image.")
    pil = sample_from_row({"image": Image.new("RGB", (40, 40), (1, 2, 3)), "label": 1})
    assert pil.truth == "real" and Image.open(io.BytesIO(pil.data)).size == (40, 40)
    # no label field: the answer's first sentence carries it
    assert sample_from_row({"image": {"bytes": data}, "conversations": CONV}).truth == "fake"


@pytest.mark.parametrize("row", [
    {"label": 0},  # no picture
    {"image": {"path": "only/a/path.png"}, "label": 0},
    {"image": {"bytes": b"x"}, "label": 7},  # no usable label
    {"image": {"bytes": b"x" * (fakeclue.MAX_IMAGE_BYTES + 1)}, "label": 0},
])
def test_unusable_rows_are_skipped(row):
    assert sample_from_row(row) is None


def test_balanced_takes_both_kinds():
    rows = ["f1", "f2", "f3", "f4", "r1"]
    assert balanced(rows, 4, key=lambda r: "fake" if r[0] == "f" else "real") == ["f1", "r1", "f2", "f3"]
    assert balanced([], 3, key=lambda r: r) == []


def test_offline_is_said_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(FakeClueUnavailable, match="offline"):
        fakeclue.pull(4)
    assert time.monotonic() - t0 < 1.0


def test_the_dataset_id_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(fakeclue.DATASET_ENV, raising=False)
    assert fakeclue.dataset_id() == "lingcco/FakeClue"
    monkeypatch.setenv(fakeclue.DATASET_ENV, "someone/FakeClue-mirror")
    assert fakeclue.dataset_id() == "someone/FakeClue-mirror"


class _Hub(http.server.BaseHTTPRequestHandler):
    status = 404

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "no"}')

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_hub(monkeypatch):
    """A loopback server standing in for the Hub's address (it only ever refuses)."""
    from huggingface_hub import constants

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield _Hub
    server.shutdown()


@pytest.mark.parametrize("status,message", [(404, "there is no dataset"), (401, "token"), (500, "answered 500")])
def test_a_refusal_from_the_hub_is_named(local_hub, status, message):
    local_hub.status = status
    with pytest.raises(FakeClueUnavailable, match=message):
        fakeclue.pull(2, dataset="lingcco/FakeClue")


def test_no_route_to_the_hub_is_named_quickly(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    t0 = time.monotonic()
    with pytest.raises(FakeClueUnavailable, match="cannot be reached"):
        fakeclue.pull(2)
    assert time.monotonic() - t0 < 10
