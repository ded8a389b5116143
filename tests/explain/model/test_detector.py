"""Streaming: identical to model.generate, cancellable, and honest about the verdict."""

import io
import threading

from PIL import Image

from explain.decoding import IncrementalDecoder, verdict_token_ids
from explain.model.detector import StreamCancelled, p_fake_from_logits
from explain.types import Explanation, TextDelta, VerdictReady
from tests.conftest import png_bytes


def _image(seed=0, w=500, h=300):
    return Image.open(io.BytesIO(png_bytes(w, h, seed))).convert("RGB")


def test_stream_equals_generate(tiny_detector):
    for seed, (w, h) in enumerate([(500, 300), (336, 336), (200, 640)]):
        image = _image(seed, w, h)
        items = list(tiny_detector.stream(image, max_new_tokens=48))
        explanation = items[-1]
        assert isinstance(explanation, Explanation)
        assert list(explanation.token_ids) == tiny_detector.generate_reference(image, max_new_tokens=48)
        streamed = "".join(i.text for i in items if isinstance(i, TextDelta))
        assert streamed == explanation.text
        assert sum(isinstance(i, VerdictReady) for i in items) == 1


def test_cancel_stops_promptly(tiny_detector):
    cancel = threading.Event()
    seen = 0
    try:
        for item in tiny_detector.stream(_image(), max_new_tokens=200, cancel=cancel):
            if isinstance(item, TextDelta):
                seen += 1
                if seen == 3:
                    cancel.set()
        raised = False
    except StreamCancelled:
        raised = True
    assert raised
    assert seen < 20  # it stopped at the next token, not after 200


def test_abandoned_stream_frees_the_worker(tiny_detector):
    before = {t.name for t in threading.enumerate() if t.name == "spot-generate"}
    stream = tiny_detector.stream(_image(), max_new_tokens=200)
    next(stream)
    stream.close()  # what Gradio does when a visitor leaves
    alive = [t for t in threading.enumerate() if t.name == "spot-generate" and t.name not in before]
    assert not any(t.is_alive() for t in alive)


def test_p_fake_is_softmax_of_two_logits():
    assert p_fake_from_logits(0.0, 0.0) == 0.5
    assert abs(p_fake_from_logits(1.0, 3.0) - 0.8807970779778823) < 1e-12
    assert p_fake_from_logits(1000.0, -1000.0) == 0.0  # no overflow


def test_verdict_token_ids_are_single_tokens(tiny_detector):
    ids = verdict_token_ids(tiny_detector.tokenizer)
    tok = tiny_detector.tokenizer
    assert tok.decode([ids["real"]]).strip() == "real"
    assert tok.decode([ids["fake"]]).strip() == "fake"


def test_incremental_decoder_never_splits_characters(tiny_detector):
    tok = tiny_detector.tokenizer
    text = "This is a fake image. 图像 é ü; done."
    ids = tok.encode(text, add_special_tokens=False)
    dec = IncrementalDecoder(tok)
    pieces = [dec.push(i) for i in ids]
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
    final, ends = dec.finish()
    assert final == text and ends[-1] == len(text) and ends == sorted(ends)


def test_forced_answer_gives_verdict_and_p_fake(tiny_detector):
    """Drive the real stream with a prompt whose answer we force through the logits processor."""
    from explain.model.detector import Detector

    det: Detector = tiny_detector
    answer = det.tokenizer.encode("This is a fake image. The sky is banded.", add_special_tokens=False)
    steps = [(0.5, 2.0)] * len(answer)
    verdict, p, idx = det._verdict(det.tokenizer.decode(answer), answer, steps)
    assert verdict == "fake"
    assert answer[idx] == det.verdict_ids["fake"]
    assert abs(p - p_fake_from_logits(0.5, 2.0)) < 1e-12
