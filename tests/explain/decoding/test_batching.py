"""Continuous batching is exact: every stream decoded in a batch gets the tokens it gets alone (the
serial static engine) and from transformers' `generate`, and its verdict logits to float tolerance,
whatever joins, leaves, is cancelled or fails around it. CPU: the eager steps the GPU captures."""

from __future__ import annotations

import io
import threading

import pytest
import torch
from PIL import Image

from explain.decoding import BatchedBackend, BatchScheduler, GenerateBackend, StaticCacheBackend, streams_for_memory
from explain.model import TOY_MODEL_DIR, load_detector
from explain.model.detector import Detector
from tests.conftest import png_bytes

from .interpreter import FUSED_TINY_MODEL, assert_same_in_interpreter, needs_triton

PROMPTS = [None, "<image>Is this picture real or fake? Say why.", "<image>Real or fake?"]


def _image(seed=0, w=500, h=300):
    return Image.open(io.BytesIO(png_bytes(w, h, seed))).convert("RGB")


def _vids(det):
    return det.verdict_ids["real"], det.verdict_ids["fake"]


def _serial(backend, det, inputs, n):
    toks, pairs = [], []
    backend.run(det.model, inputs, max_new_tokens=n, verdict_ids=_vids(det), cancel=threading.Event(),
                emit=lambda t, p: (toks.append(t), pairs.append(p)))  # fmt: skip
    return toks, pairs


def _requests(det, count):
    """Different pictures, prompts (so prompt lengths) and answer lengths."""
    lengths = [40, 17, 64, 9, 33, 50, 26, 12]
    return [(det.prepare(_image(i, 300 + 40 * i, 500 - 30 * i), PROMPTS[i % 3]), lengths[i % 8]) for i in range(count)]


def _assert_exact(det, requests, got, *, check_generate=True):
    for (inputs, n), (toks, pairs) in zip(requests, got, strict=True):
        ref_toks, ref_pairs = _serial(StaticCacheBackend(), det, inputs, n)
        assert toks == ref_toks
        assert [v for p in pairs for v in p] == pytest.approx([v for p in ref_pairs for v in p], abs=1e-4)
        if check_generate:
            assert toks == _serial(GenerateBackend(), det, inputs, n)[0]


def _collect(handle):
    toks, pairs = [], []
    for t, p in handle:
        toks.append(t)
        pairs.append(p)
    return toks, pairs


@pytest.fixture(scope="module")
def toy_arch_detector(tmp_path_factory):
    """The toy model's architecture (3 heads of 64) with random weights: answers run to their length."""
    from explain.toy.model import build_model, save_checkpoint
    from explain.toy.tokenizer import build_tokenizer

    tok = build_tokenizer()
    out = save_checkpoint(build_model(tok, seed=3), tok, tmp_path_factory.mktemp("toy-arch"))
    return load_detector(str(out), device="cpu")


@pytest.mark.parametrize("depth", [1, 2])
def test_streams_arriving_together_equal_batch_one_and_generate(tiny_detector, depth):
    requests = _requests(tiny_detector, 6)
    sched = BatchScheduler(tiny_detector.model, slots=4, pipeline_depth=depth)  # 6 streams, 4 rows: some wait
    try:
        handles = [sched.submit(x, max_new_tokens=n, verdict_ids=_vids(tiny_detector)) for x, n in requests]
        got = [_collect(h) for h in handles]
        stats = sched.describe()
    finally:
        sched.close()
    _assert_exact(tiny_detector, requests, got)
    assert stats["max_batch"] == 4 and stats["stepped_rows"] > stats["steps"]  # really decoded together


def test_streams_joining_mid_answer_on_toy_architecture(toy_arch_detector):
    det = toy_arch_detector
    requests = _requests(det, 5)
    requests = [(x, 48) for x, _ in requests]
    sched = BatchScheduler(det.model, slots=8)
    got: list = [None] * len(requests)
    joined_at: list[int] = []
    try:
        first = sched.submit(requests[0][0], max_new_tokens=48, verdict_ids=_vids(det))
        toks, pairs = [], []
        handles = {}
        for t, p in first:  # each newcomer arrives while the first stream is mid-answer
            toks.append(t)
            pairs.append(p)
            k = len(joined_at) + 1
            if k < len(requests) and len(toks) == 6 * k:
                joined_at.append(len(toks))
                handles[k] = sched.submit(requests[k][0], max_new_tokens=48, verdict_ids=_vids(det))
        got[0] = (toks, pairs)
        for k, h in handles.items():
            got[k] = _collect(h)
        stats = sched.describe()
    finally:
        sched.close()
    assert joined_at == [6, 12, 18, 24]
    _assert_exact(det, requests, got)
    assert stats["prefills"] == 5 and stats["max_batch"] >= 4


@pytest.mark.skipif(not (TOY_MODEL_DIR / "config.json").is_file(), reason="the trained toy model is not built yet")
def test_each_streams_p_fake_equals_its_batch_one_value_on_the_shipped_toy_model():
    """The trained toy model through the Detector: same text, tokens and p_fake batched and alone."""
    toy = load_detector("toy", device="cpu")
    serial = Detector(toy.model, toy.processor, backend=StaticCacheBackend())
    batched = Detector(toy.model, toy.processor, backend=BatchedBackend(slots=4))
    from explain.toy.world import generate

    images = [generate(11, i, label="fake" if i % 2 else "real").image for i in range(4)]  # toy-world pictures
    results: list = [None] * 4

    def work(i):
        results[i] = batched.explain(images[i], max_new_tokens=256)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert batched.backend.describe()["max_batch"] >= 2
    for image, got in zip(images, results, strict=True):
        ref = serial.explain(image, max_new_tokens=256)
        assert got.token_ids == ref.token_ids
        eos = toy.model.generation_config.eos_token_id
        assert list(got.token_ids) == [t for t in toy.generate_reference(image, max_new_tokens=256) if t != eos]
        assert got.text == ref.text and got.verdict == ref.verdict
        assert ref.p_fake is not None and got.p_fake == pytest.approx(ref.p_fake, abs=1e-5)
    batched.backend.close()


def test_a_cancelled_stream_stops_and_the_others_continue(tiny_detector):
    requests = [(x, 60) for x, _ in _requests(tiny_detector, 3)]
    sched = BatchScheduler(tiny_detector.model, slots=4)
    try:
        handles = [sched.submit(x, max_new_tokens=n, verdict_ids=_vids(tiny_detector)) for x, n in requests]
        cancelled = []
        for t, _ in handles[1]:
            cancelled.append(t)
            if len(cancelled) == 5:
                handles[1].cancel()
        others = [_collect(handles[0]), _collect(handles[2])]
    finally:
        sched.close()
    ref = _serial(StaticCacheBackend(), tiny_detector, requests[1][0], 60)[0]
    assert 5 <= len(cancelled) <= 6 and cancelled == ref[: len(cancelled)]  # stops at the next token
    _assert_exact(tiny_detector, [requests[0], requests[2]], others, check_generate=False)


def test_a_failing_stream_fails_alone(tiny_detector):
    good = [(x, 30) for x, _ in _requests(tiny_detector, 2)]
    bad = dict(tiny_detector.prepare(_image(7)))
    image_id = tiny_detector.model.config.image_token_id
    bad["input_ids"] = torch.cat([bad["input_ids"], torch.tensor([[image_id]])], dim=1)  # 577 image tokens
    bad["attention_mask"] = torch.ones_like(bad["input_ids"])
    sched = BatchScheduler(tiny_detector.model, slots=4)
    try:
        h0 = sched.submit(good[0][0], max_new_tokens=30, verdict_ids=_vids(tiny_detector))
        hb = sched.submit(bad, max_new_tokens=30, verdict_ids=_vids(tiny_detector))
        h1 = sched.submit(good[1][0], max_new_tokens=30, verdict_ids=_vids(tiny_detector))
        with pytest.raises(ValueError):
            _collect(hb)
        got = [_collect(h0), _collect(h1)]
    finally:
        sched.close()
    _assert_exact(tiny_detector, good, got, check_generate=False)


def test_eos_ends_a_stream_and_frees_its_row(tmp_path):
    from tests.factories.checkpoints import build_tiny_random

    det = load_detector(str(build_tiny_random(tmp_path / "ckpt", seed=0)), device="cpu")
    requests = [(x, 30) for x, _ in _requests(det, 3)]
    det.model.generation_config.eos_token_id = _serial(GenerateBackend(), det, requests[0][0], 30)[0][4]
    sched = BatchScheduler(det.model, slots=2)
    try:
        got = [_collect(sched.submit(x, max_new_tokens=n, verdict_ids=_vids(det))) for x, n in requests]
    finally:
        sched.close()
    assert len(got[0][0]) == 5  # eos is emitted, then the stream ends
    _assert_exact(det, requests, got)


def test_work_between_steps_runs_on_the_scheduler_thread_and_streams_stay_exact(tiny_detector):
    requests = [(x, 50) for x, _ in _requests(tiny_detector, 3)]
    sched = BatchScheduler(tiny_detector.model, slots=4)
    seen = []
    try:
        handles = [sched.submit(x, max_new_tokens=n, verdict_ids=_vids(tiny_detector)) for x, n in requests]
        first = []
        for t, p in handles[0]:
            first.append((t, p))
            if len(first) == 10:  # e.g. an attribution: it needs gradients and sees no decode step
                seen.append(sched.call(lambda: (threading.current_thread().name, torch.is_grad_enabled())))
        got = [([t for t, _ in first], [p for _, p in first]), _collect(handles[1]), _collect(handles[2])]
    finally:
        sched.close()
    assert seen == [("spot-batch", True)]
    _assert_exact(tiny_detector, requests, got, check_generate=False)


def test_streams_keep_decoding_while_a_long_map_pumps_between_its_batches(tiny_detector):
    """Issue 16: a map (here 12 "batches" of work with gradients on, as attribution has) run between
    decode steps used to freeze every running stream for its whole duration. Pumping between its
    batches lets the streams advance during the map, exactly, and with gradients still on after."""
    requests = [(x, 200) for x, _ in _requests(tiny_detector, 2)]
    sched = BatchScheduler(tiny_detector.model, slots=4)
    delivered: list[list[tuple]] = [[], []]
    during: list[int] = []

    def drain(i, handle):
        for t, p in handle:
            delivered[i].append((t, p))

    def long_map():
        for _ in range(12):
            with torch.enable_grad():
                torch.ones(2, requires_grad=True).sum().backward()  # the map's own work
            sched.pump(0.0)  # at least one decode step of the running streams
            during.append(len(delivered[0]) + len(delivered[1]))
        return torch.is_grad_enabled()

    try:
        handles = [sched.submit(x, max_new_tokens=n, verdict_ids=_vids(tiny_detector)) for x, n in requests]
        readers = [threading.Thread(target=drain, args=(i, h)) for i, h in enumerate(handles)]
        for r in readers:
            r.start()
        while len(delivered[0]) < 3:  # both streams are running
            threading.Event().wait(0.01)
        before = len(delivered[0]) + len(delivered[1])
        assert sched.call(long_map) is True
        for r in readers:
            r.join(timeout=120)
    finally:
        sched.close()
    assert sched.pump(1.0) == 0  # outside a call it does nothing
    assert during[-1] >= before + 12, (before, during)  # the streams moved while the map ran
    assert sched.stats["pumped_steps"] >= 12
    got = [([t for t, _ in d], [q for _, q in d]) for d in delivered]
    _assert_exact(tiny_detector, requests, got, check_generate=False)


def test_sharing_turns_gives_the_streams_the_maps_time(tiny_detector):
    """The cancel callback a batched worker hands to attribution (which asks it between batches)
    lets the running streams decode for as long as the map worked, then answers as the page's cancel
    does; a serially decoding detector gets the page's cancel back unchanged."""
    from explain.model import between_steps, sharing_turns

    batched = Detector(tiny_detector.model, tiny_detector.processor, backend=BatchedBackend(slots=2))
    stop = threading.Event()
    turn = sharing_turns(batched, stop.is_set)
    (inputs, _), = _requests(tiny_detector, 1)
    handle = batched.backend.scheduler(batched.model).submit(inputs, max_new_tokens=400, verdict_ids=_vids(batched))
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(handle))
    reader.start()

    def a_map():
        answers, seen = [], []
        for _ in range(4):
            threading.Event().wait(0.02)  # the map's own work
            answers.append(turn())
            seen.append(len(got))
        stop.set()
        answers.append(turn())
        return answers, seen

    try:
        while not got:
            threading.Event().wait(0.01)
        answers, seen = between_steps(batched, a_map)
        reader.join(timeout=60)
        pumped = batched.backend.describe().get("pumped_steps", 0)
    finally:
        batched.backend.close()
    assert answers == [False] * 4 + [True]
    assert seen == sorted(seen) and seen[-1] > seen[0], seen  # the stream moved during the map
    assert pumped >= 4
    assert sharing_turns(tiny_detector, stop.is_set) == stop.is_set  # serial: unchanged


def test_submissions_from_many_threads_and_a_longer_cache(tiny_detector):
    """Threads submit at once; a stream too long for the cache waits for the batch to empty, then
    the cache is rebuilt longer, and everyone is still exact."""
    requests = [(x, n) for x, n in _requests(tiny_detector, 4)] + [(tiny_detector.prepare(_image(9)), 400)]
    backend = BatchedBackend(slots=3)
    got: list = [None] * len(requests)

    def work(i):
        got[i] = _serial(backend, tiny_detector, *requests[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert backend.describe()["cache_length"] >= requests[-1][0]["input_ids"].shape[1] + 400
    backend.close()
    _assert_exact(tiny_detector, requests, got, check_generate=False)


def test_consumer_failure_frees_the_row(tiny_detector):
    backend = BatchedBackend(slots=1)
    inputs = tiny_detector.prepare(_image())

    def emit(_t, _p):
        raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError, match="consumer failed"):
        backend.run(tiny_detector.model, inputs, max_new_tokens=20, verdict_ids=_vids(tiny_detector),
                    cancel=threading.Event(), emit=emit)  # fmt: skip
    toks, _ = _serial(backend, tiny_detector, inputs, 20)  # the only row was given back
    assert toks == _serial(StaticCacheBackend(), tiny_detector, inputs, 20)[0]
    backend.close()


def test_unsupported_models_and_padded_inputs_go_to_the_fallback(tiny_detector):
    calls = []

    class Counting(GenerateBackend):
        def run(self, *args, **kwargs):
            calls.append(1)
            return super().run(*args, **kwargs)

    backend = BatchedBackend(fallback=Counting())
    inputs = tiny_detector.prepare(_image())
    inputs["attention_mask"][0, 0] = 0
    _serial(backend, tiny_detector, inputs, 4)
    assert calls == [1] and backend.describe().get("steps") is None  # the batch never started


def test_streams_for_memory():
    from transformers import LlavaForConditionalGeneration

    from tests.factories.checkpoints import build_tokenizer, tiny_config

    model = LlavaForConditionalGeneration(tiny_config(build_tokenizer()))
    per_stream = 2 * 2 * 2 * 16 * 1024 * 4  # k and v, 2 layers, 2 kv heads of 16, 1024 tokens, float32
    assert streams_for_memory(model, 1024, free_bytes=5 * per_stream + 100, reserve_bytes=100) == 5
    assert streams_for_memory(model, 1024, free_bytes=10**12, reserve_bytes=0, cap=16) == 16
    assert streams_for_memory(model, 1024, free_bytes=0) == 1
    assert streams_for_memory(model, 1024) == 1  # CPU


@needs_triton
def test_triton_row_zero_path_matches_the_torch_plan_in_the_interpreter(tiny_checkpoint, tmp_path):
    """The GPU's lone-stream path (today's batch-1 kernels on row 0), run by triton's CPU interpreter,
    hands over to and from the batched step and gives the torch plan's tokens and cache."""
    assert_same_in_interpreter(_TRITON_ROW0_CHECK, tiny_checkpoint, tmp_path)


_TRITON_ROW0_CHECK = FUSED_TINY_MODEL + """
from PIL import Image
from explain.decoding.batch_engine import BatchEngine
a = det.prepare(Image.new("RGB", (400, 300), (90, 140, 30)))
b = det.prepare(Image.new("RGB", (300, 400), (20, 40, 230)), "<image>Real or fake?")
runs = {}
for plan in ("torch", "triton"):
    with torch.inference_mode():
        eng = BatchEngine(det.model, lay, 768, 2, plan=plan, fused=fused, use_graph=False)
        seq = [int(eng.prefill([eng.embeddings(det.model, a)], [0], [(1, 2)])[0, 0])]
        for _ in range(3):  # alone: row 0's batch-1 kernels on the triton plan
            eng.step(1); seq.append(int(eng.packed[0, 0]))
        seq.append(int(eng.prefill([eng.embeddings(det.model, b)], [1], [(1, 2)])[0, 0]))
        for _ in range(3):  # together: the batched step
            eng.step(2); seq += [int(eng.packed[0, 0]), int(eng.packed[1, 0])]
        eng.reset(torch.tensor([1]))
        for _ in range(3):  # alone again
            eng.step(1); seq.append(int(eng.packed[0, 0]))
        runs[plan] = (seq, eng.k_cache[:, 0].clone(), eng.logits[0].clone())
same = runs["torch"][0] == runs["triton"][0]
close = torch.allclose(runs["torch"][1], runs["triton"][1], atol=1e-5)
close = close and torch.allclose(runs["torch"][2], runs["triton"][2], atol=1e-4)
print("SAME" if same and close else f"DIFFERENT {runs['torch'][0]} {runs['triton'][0]} {close}")
"""
