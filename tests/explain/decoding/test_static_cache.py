"""The static-cache backend decodes exactly what plain `generate` decodes (CPU: the same step the GPU
captures in a CUDA graph, run eagerly), stops and cancels like it, and hands what it cannot do to
`generate`."""

from __future__ import annotations

import io
import threading

import pytest
import torch
from PIL import Image

from explain.decoding import GenerateBackend, StaticCacheBackend, auto_backend, fuse_weights, unsupported_reason
from explain.model import TOY_MODEL_DIR, load_detector
from explain.model.detector import Detector
from tests.conftest import png_bytes

from .interpreter import FUSED_TINY_MODEL, assert_same_in_interpreter, needs_triton

IMAGES = [(0, 500, 300), (1, 336, 336), (2, 200, 640)]


def _image(seed=0, w=500, h=300):
    return Image.open(io.BytesIO(png_bytes(w, h, seed))).convert("RGB")


def _run(backend, detector, image, n=48, cancel=None, on_token=None):
    """(token ids, (real, fake) logit pairs) that `backend` emits."""
    toks, pairs = [], []

    def emit(tok, pair):
        toks.append(tok)
        pairs.append(pair)
        if on_token:
            on_token(len(toks))

    vids = (detector.verdict_ids["real"], detector.verdict_ids["fake"])
    backend.run(detector.model, detector.prepare(image), max_new_tokens=n, verdict_ids=vids,
                cancel=cancel or threading.Event(), emit=emit)  # fmt: skip
    return toks, pairs


def _assert_same(detector, backend, n=48, images=IMAGES):
    for seed, w, h in images:
        image = _image(seed, w, h)
        ref_toks, ref_pairs = _run(GenerateBackend(), detector, image, n)
        toks, pairs = _run(backend, detector, image, n)
        assert toks == ref_toks
        flat = [v for pair in pairs for v in pair]
        assert flat == pytest.approx([v for pair in ref_pairs for v in pair], abs=1e-4)


@pytest.fixture()
def fresh_detector(tiny_checkpoint):
    """A model of its own: these tests change weights' storage or the generation config."""
    return load_detector(str(tiny_checkpoint), device="cpu")


@pytest.fixture(scope="module")
def toy_arch_detector(tmp_path_factory):
    """The toy model's architecture (3 heads of 64, projector bias, last-layer features) with random
    weights, written and loaded like the shipped toy checkpoint."""
    from explain.toy.model import build_model, save_checkpoint
    from explain.toy.tokenizer import build_tokenizer

    tok = build_tokenizer()
    out = save_checkpoint(build_model(tok, seed=3), tok, tmp_path_factory.mktemp("toy-arch"))
    return load_detector(str(out), device="cpu")


def test_stream_equals_generate_on_tiny(tiny_detector):
    fast = Detector(tiny_detector.model, tiny_detector.processor, backend=StaticCacheBackend())
    for seed, w, h in IMAGES:
        image = _image(seed, w, h)
        explanation = fast.explain(image, max_new_tokens=48)
        assert list(explanation.token_ids) == tiny_detector.generate_reference(image, max_new_tokens=48)
        reference = tiny_detector.explain(image, max_new_tokens=48)
        assert explanation.text == reference.text
        if reference.p_fake is None:
            assert explanation.p_fake is None
        else:
            assert explanation.p_fake == pytest.approx(reference.p_fake, abs=1e-5)
    assert fast.backend.describe()["plan"] == "torch"
    assert fast.backend.describe()["cuda_graph"] is False  # CPU: the same step, run eagerly


def test_logits_and_tokens_equal_generate_on_toy_architecture(toy_arch_detector):
    _assert_same(toy_arch_detector, StaticCacheBackend(), n=40, images=IMAGES[:2])


@pytest.mark.skipif(not (TOY_MODEL_DIR / "config.json").is_file(), reason="the trained toy model is not built yet")
def test_equals_generate_on_shipped_toy_model():
    toy = load_detector("toy", device="cpu")
    _assert_same(toy, StaticCacheBackend(), n=256)


@pytest.mark.parametrize("prefill", ["own", "hf"])
def test_both_prefills_equal_generate(tiny_detector, prefill):
    """The own prefill (the one captured on GPU) and the model's forward give the same first steps."""
    _assert_same(tiny_detector, StaticCacheBackend(prefill=prefill), n=8, images=IMAGES[:2])


def test_grouped_query_attention(tiny_checkpoint):
    """Two query heads sharing one key/value head: the cache is expanded as the model's repeat_kv does."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    base = load_detector(str(tiny_checkpoint), device="cpu")
    config = LlavaConfig.from_pretrained(tiny_checkpoint)
    config.text_config.num_key_value_heads = 1
    torch.manual_seed(5)
    model = LlavaForConditionalGeneration(config).eval()
    model.generation_config = base.model.generation_config
    det = Detector(model, base.processor)
    _assert_same(det, StaticCacheBackend(), n=32, images=IMAGES[:2])


def test_fused_weights_are_views_and_keep_autograd(fresh_detector):
    model = fresh_detector.model
    attn = model.model.language_model.layers[0].self_attn
    before = torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).clone()
    _assert_same(fresh_detector, StaticCacheBackend(fuse=True), n=32, images=IMAGES[:2])
    fused = fuse_weights([attn.q_proj, attn.k_proj, attn.v_proj])  # finds the fusion already done
    assert torch.equal(fused, before)
    assert fused.untyped_storage().data_ptr() == attn.q_proj.weight.untyped_storage().data_ptr()
    assert attn.k_proj.weight.data_ptr() == attn.q_proj.weight.data_ptr() + attn.q_proj.weight.numel() * 4
    for p in (attn.q_proj.weight, attn.v_proj.weight):
        assert not p.is_inference() and p.requires_grad  # attribution still differentiates through them
    x = torch.randn(1, attn.q_proj.in_features, requires_grad=True)
    attn.v_proj(x).sum().backward()
    assert x.grad is not None


def test_eos_is_emitted_and_stops(fresh_detector):
    image = _image()
    toks, _ = _run(GenerateBackend(), fresh_detector, image, 20)
    eos = toks[5]
    fresh_detector.model.generation_config.eos_token_id = eos
    ref, _ = _run(GenerateBackend(), fresh_detector, image, 20)
    got, _ = _run(StaticCacheBackend(), fresh_detector, image, 20)
    assert got == ref == toks[: toks.index(eos) + 1]


@pytest.mark.parametrize("dedicated", [False, True])
def test_cancel_stops_at_the_next_token(tiny_detector, dedicated):
    cancel = threading.Event()
    toks, _ = _run(StaticCacheBackend(dedicated_thread=dedicated), tiny_detector, _image(), n=200, cancel=cancel,
                   on_token=lambda n: cancel.set() if n == 3 else None)  # fmt: skip
    assert len(toks) == 3


def test_errors_in_the_dedicated_thread_reach_the_caller(tiny_detector):
    def emit(_tok, _pair):
        raise RuntimeError("consumer failed")

    backend = StaticCacheBackend(dedicated_thread=True)
    with pytest.raises(RuntimeError, match="consumer failed"):
        backend.run(tiny_detector.model, tiny_detector.prepare(_image()), max_new_tokens=4, verdict_ids=(1, 2),
                    cancel=threading.Event(), emit=emit)  # fmt: skip
    toks, _ = _run(backend, tiny_detector, _image(), n=4)  # the backend still works afterwards
    assert len(toks) == 4


def test_max_new_tokens_is_exact_and_engines_are_reused(tiny_detector):
    backend = StaticCacheBackend(keep_engines=1)
    for n in (1, 7, 20):
        toks, _ = _run(backend, tiny_detector, _image(), n=n)
        assert len(toks) == n
    assert len(backend.describe()["cache_lengths"]) == 1  # 7 and 20 fit the bucket the first run made
    _run(backend, tiny_detector, _image(), n=200)  # needs a longer cache: a new engine replaces it
    assert len(backend.describe()["cache_lengths"]) == 1
    prompt = tiny_detector.prepare(_image())["input_ids"].shape[1]
    assert backend.describe()["cache_lengths"][0] >= prompt + 200
    toks, _ = _run(backend, tiny_detector, _image(), n=7)  # a shorter request uses the longer cache
    assert len(toks) == 7 and len(backend.describe()["cache_lengths"]) == 1


class _CountingBackend(GenerateBackend):
    calls = 0

    def run(self, *args, **kwargs):
        self.calls += 1
        return super().run(*args, **kwargs)


def test_generation_config_processors_fall_back_to_generate(fresh_detector):
    fresh_detector.model.generation_config.repetition_penalty = 1.3
    assert "repetition penalty" in unsupported_reason(fresh_detector.model)
    fallback = _CountingBackend()
    backend = StaticCacheBackend(fallback=fallback)
    _assert_same(fresh_detector, backend, n=16, images=IMAGES[:1])
    assert fallback.calls == 1
    assert any("repetition penalty" in n for n in backend.describe()["notes"])


def test_padded_inputs_fall_back_to_generate(tiny_detector):
    fallback = _CountingBackend()
    backend = StaticCacheBackend(fallback=fallback)
    inputs = tiny_detector.prepare(_image())
    inputs["attention_mask"][0, 0] = 0
    backend.run(tiny_detector.model, inputs, max_new_tokens=4, verdict_ids=(1, 2),
                cancel=threading.Event(), emit=lambda t, p: None)  # fmt: skip
    assert fallback.calls == 1


def test_other_architectures_are_refused(tiny_checkpoint):
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    config = LlavaConfig.from_pretrained(tiny_checkpoint)
    config.text_config.attention_bias = True
    model = LlavaForConditionalGeneration(config)
    assert "bias" in unsupported_reason(model)


def test_auto_backend_is_generate_on_cpu(tiny_detector):
    assert isinstance(auto_backend(tiny_detector.model), GenerateBackend)


@pytest.mark.parametrize("dedicated", [False, True])
def test_concurrent_runs_are_serialised(tiny_detector, dedicated):
    backend = StaticCacheBackend(dedicated_thread=dedicated)
    image = _image()
    expected, _ = _run(GenerateBackend(), tiny_detector, image, 24)
    results = [None] * 3

    def work(i):
        results[i] = _run(backend, tiny_detector, image, 24)[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 3


@needs_triton
def test_triton_kernels_match_the_torch_step_in_the_interpreter(tiny_checkpoint, tmp_path):
    """The GPU plan's kernels, run by triton's CPU interpreter, give the torch plan's tokens."""
    assert_same_in_interpreter(_TRITON_CHECK, tiny_checkpoint, tmp_path)


_TRITON_CHECK = FUSED_TINY_MODEL + """
from PIL import Image
from explain.decoding.engine import Engine
inputs = det.prepare(Image.new("RGB", (400, 300), (90, 140, 30)))
seqs = {}
for plan in ("torch", "triton"):
    with torch.inference_mode():
        eng = Engine(det.model, lay, 768, plan=plan, fused=fused, use_graph=False, prefill="own")
        eng.vids.copy_(torch.tensor([1, 2]))
        eng.prefill(det.model, inputs)
        seq = []
        for j in range(6):
            if j:
                eng.step()
            seq.append(int(eng.packed[0]))
        seqs[plan] = (seq, eng.k_cache.clone())
same = seqs["torch"][0] == seqs["triton"][0]
close = torch.allclose(seqs["torch"][1], seqs["triton"][1], atol=1e-5)
print("SAME" if same and close else f"DIFFERENT {seqs['torch'][0]} {seqs['triton'][0]}")
"""
