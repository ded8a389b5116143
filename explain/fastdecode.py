"""A faster greedy decoding backend: a static KV cache and one CUDA graph per decode step.

`StaticCacheBackend` has the same `run` as `explain.detector.GenerateBackend` and gives the same
greedy tokens, faster:

- prefill: the model's own forward computes the prompt embeddings (vision tower, projector, image
  tokens merged in; a hook stops it at the language model's door), then the language model runs
  over the prompt with the model's own modules, writing keys/values straight into a fixed-size
  cache. That part is captured in a CUDA graph per prompt length (FakeVLM's prompt has one length),
  so it costs one launch instead of a thousand; it computes exactly what `generate`'s first
  forward computes (same modules, same kernels);
- each later token is one decode step of the language model written against that cache, with the
  position read from device memory, so the whole step is captured ONCE in a `torch.cuda.CUDAGraph`
  and replayed per token (no torch.compile, no recompilation: warm-up is the captures, ~1 s);
- argmax and the two verdict logits are computed inside the graph; the host copies 3 numbers per
  token through pinned memory while the GPU already runs the next steps (`pipeline_depth`);
- on CUDA the work runs on one long-lived thread of the backend's: a fresh thread per request (as
  the Detector makes) was measured to add ~55 ms to the first token.

Two plans for the step:
- "torch": the model's own modules (RMSNorm, projections, MLP) around a masked attention over
  the static cache. Any device, any linear layer type (bitsandbytes 4-bit too); on CPU it runs
  eagerly and is what the CI test compares with `generate`.
- "triton" (CUDA + triton): fused kernels from explain.fastdecode_triton, seven per layer.
On CUDA the q/k/v and gate/up weights are stored side by side (the parameters become views of one
tensor: same values, no extra memory) so each is read by one matrix-vector product.

Anything this backend does not handle (another architecture, logits processors in the generation
config, padded batches) is handed to `fallback` (plain `generate`), with the reason logged once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import inspect
import logging
import threading
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

log = logging.getLogger(__name__)

CACHE_BUCKET = 256  # cache lengths are rounded up to this, so one captured graph serves many lengths
_STATIC_ROPE = (None, "default", "linear", "llama3")  # rope types whose tables do not depend on length


def _as_list(x) -> list[int]:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [int(x)]


@dataclass
class _Layout:
    """The parts of a llava-hf model that a decode step touches."""

    lm: nn.Module  # the Llama decoder stack (embed_tokens, layers, norm, rotary_emb)
    layers: list
    embed: nn.Module
    norm: nn.Module
    lm_head: nn.Module
    n_heads: int
    n_kv: int
    head_dim: int
    hidden: int
    scaling: float


def language_model_of(model: nn.Module) -> nn.Module | None:
    """The decoder stack: `model.model.language_model` in transformers 5, `.language_model.model` in 4."""
    inner = getattr(model, "model", None)
    for cand in (
        getattr(inner, "language_model", None),
        getattr(getattr(model, "language_model", None), "model", None),
    ):
        if cand is not None and hasattr(cand, "layers") and hasattr(cand, "norm"):
            return cand
    return None


def _layout(model: nn.Module) -> _Layout:
    lm = language_model_of(model)
    attn = lm.layers[0].self_attn
    tc = model.config.text_config
    n_heads = tc.num_attention_heads
    head_dim = getattr(attn, "head_dim", None) or tc.hidden_size // n_heads
    return _Layout(
        lm=lm,
        layers=list(lm.layers),
        embed=model.get_input_embeddings(),
        norm=lm.norm,
        lm_head=model.get_output_embeddings(),
        n_heads=n_heads,
        n_kv=getattr(tc, "num_key_value_heads", None) or n_heads,
        head_dim=head_dim,
        hidden=tc.hidden_size,
        scaling=float(getattr(attn, "scaling", head_dim**-0.5)),
    )


def unsupported_reason(model: nn.Module) -> str | None:
    """Why this backend cannot decode `model` exactly like `generate`, or None if it can."""
    lm = language_model_of(model)
    tc = getattr(getattr(model, "config", None), "text_config", None)
    if lm is None or tc is None:
        return "the model is not a llava-hf model with a decoder stack"
    if getattr(tc, "model_type", None) != "llama":
        return f"the language model is '{getattr(tc, 'model_type', None)}', not llama"
    if getattr(tc, "attention_bias", False) or getattr(tc, "mlp_bias", False):
        return "the language model has attention or MLP biases"
    if (getattr(tc, "pretraining_tp", 1) or 1) > 1 or getattr(tc, "sliding_window", None):
        return "the language model uses tensor-parallel slicing or a sliding window"
    rope = getattr(tc, "rope_parameters", None) or getattr(tc, "rope_scaling", None) or {}
    rope_type = rope.get("rope_type", rope.get("type")) if isinstance(rope, dict) else None
    if rope_type not in _STATIC_ROPE:
        return f"rope type '{rope_type}' depends on the sequence length"
    layer = lm.layers[0]
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        if not hasattr(layer.self_attn, name):
            return f"the attention has no {name}"
    for name in ("gate_proj", "up_proj", "down_proj", "act_fn"):
        if not hasattr(layer.mlp, name):
            return f"the MLP has no {name}"
    gc = getattr(model, "generation_config", None)
    if gc is not None:
        if getattr(gc, "repetition_penalty", None) not in (None, 1.0):
            return "the generation config sets a repetition penalty"
        for key in ("no_repeat_ngram_size", "bad_words_ids", "suppress_tokens", "begin_suppress_tokens",
                    "forced_bos_token_id", "forced_eos_token_id", "min_new_tokens", "sequence_bias",
                    "exponential_decay_length_penalty"):  # fmt: skip
            if getattr(gc, key, None):
                return f"the generation config sets {key}"
        if (getattr(gc, "min_length", 0) or 0) > 0:
            return "the generation config sets min_length"
    return None


def _triton_available() -> bool:
    try:
        from . import fastdecode_triton  # noqa: F401
    except Exception:  # no triton, or it cannot build for this machine
        return False
    return True


def _plain_linears(mods) -> bool:
    return all(type(m) is nn.Linear and m.bias is None for m in mods)


@torch.no_grad()
def fuse_weights(mods: list[nn.Module]) -> torch.Tensor | None:
    """One (sum of rows, K) tensor holding the weights of `mods` side by side, the modules' weights
    becoming views of it (same values, no extra memory). None when they are not plain nn.Linear.

    Done outside inference mode on purpose: the parameters stay usable by autograd (attribution)."""
    if not _plain_linears(mods):
        return None
    with torch.inference_mode(False):
        return _fuse(mods)


def _fuse(mods: list[nn.Module]) -> torch.Tensor | None:
    ws = [m.weight for m in mods]
    if len({(w.dtype, w.device, w.shape[1]) for w in ws}) != 1:
        return None
    rows = [w.shape[0] for w in ws]
    k = ws[0].shape[1]
    base = ws[0]
    adjacent = all(w.is_contiguous() for w in ws) and all(
        w.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
        and w.storage_offset() == base.storage_offset() + sum(rows[:i]) * k
        for i, w in enumerate(ws)
    )
    if adjacent:  # fused before (by another backend on the same model)
        return base.detach().new_empty(0).set_(base.untyped_storage(), base.storage_offset(), (sum(rows), k))
    fused = torch.cat([w.detach() for w in ws])
    for m, part in zip(mods, fused.split(rows), strict=True):
        m.weight.data = part
    return fused


def _cache_kv(cache, i: int):
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return layers[i].keys, layers[i].values
    if hasattr(cache, "key_cache"):
        return cache.key_cache[i], cache.value_cache[i]
    return cache[i][0], cache[i][1]


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class _StopAtLanguageModel(Exception):
    """Raised by a hook to end the model's forward once the merged prompt embeddings are known."""


class _Engine:
    """Static buffers, the prefill and decode steps and their CUDA graphs for one model and one
    cache length. Holds no reference to itself (no bound methods stored), so dropping it frees it."""

    def __init__(self, model, lay: _Layout, max_len: int, *, plan: str, fused: dict, use_graph: bool, prefill: str):
        self.notes: list[str] = []
        self.model = model
        self.lay = lay
        self.max_len = max_len
        p = next(model.parameters())
        self.device = p.device
        self.dtype = lay.embed.weight.dtype if lay.embed.weight.is_floating_point() else p.dtype
        dev, dt = self.device, self.dtype
        n_layers, n_kv, d = len(lay.layers), lay.n_kv, lay.head_dim
        self.k_cache = torch.zeros(n_layers, 1, n_kv, max_len, d, device=dev, dtype=dt)
        self.v_cache = torch.zeros_like(self.k_cache)
        self.tok = torch.zeros(1, 1, dtype=torch.long, device=dev)
        self.pos = torch.zeros(1, dtype=torch.long, device=dev)
        self.vids = torch.zeros(2, dtype=torch.long, device=dev)
        self.packed = torch.zeros(3, dtype=torch.float32, device=dev)  # next token, real, fake logits
        self.logits = torch.zeros(lay.lm_head.weight.shape[0], device=dev, dtype=dt)  # the last step's
        self.arange = torch.arange(max_len, device=dev)
        positions = self.arange.unsqueeze(0)
        cos, sin = lay.lm.rotary_emb(torch.zeros(1, 1, dtype=dt, device=dev), positions)
        self.cos, self.sin = cos[0].contiguous(), sin[0].contiguous()  # (max_len, d), as the model rounds them
        self.host = torch.zeros(max_len, 3, dtype=torch.float32, pin_memory=dev.type == "cuda")
        self.fused = fused
        self.plan = plan
        self.prefill_mode = prefill  # "own" (graph-captured where graphs are on) | "eager" | "hf"
        self.use_graph = use_graph
        self._prefill_graphs: dict[int, tuple] = {}  # prompt length -> (graph, embeddings buffer)
        if plan == "triton":
            self._triton_setup()
        self.graph = None
        if use_graph:
            self.graph = self._capture(self._step)

    # -- prefill ---------------------------------------------------------------------------------------
    def prefill(self, model, inputs, trace: dict | None = None) -> None:
        """Fill the cache with the prompt and choose token 0, as generate's first forward does."""
        n = inputs["input_ids"].shape[1]
        if self.prefill_mode != "hf":
            embeds = self._prompt_embeddings(model, inputs)
            if trace is not None:
                trace["embeddings_queued"] = time.perf_counter()
            if embeds is not None:
                self._own_prefill(embeds, n)
                return
        self._hf_prefill(model, inputs)

    def _hf_prefill(self, model, inputs) -> None:
        kwargs = dict(inputs)
        kwargs["use_cache"] = True
        if "logits_to_keep" in inspect.signature(model.forward).parameters:
            kwargs["logits_to_keep"] = 1  # as generate does
        out = model(**kwargs)
        n = inputs["input_ids"].shape[1]
        cache = out.past_key_values
        for i in range(len(self.lay.layers)):
            k, v = _cache_kv(cache, i)
            self.k_cache[i, :, :, :n].copy_(k)
            self.v_cache[i, :, :, :n].copy_(v)
        self.pos.fill_(n)
        self._finish(out.logits[0, -1], advance=False)

    def _prompt_embeddings(self, model, inputs) -> torch.Tensor | None:
        """The prompt as the language model receives it (image features merged in), computed by the
        model's own forward, stopped by a hook at the language model's door."""
        got: dict = {}

        def hook(_module, args, kwargs):
            got["embeds"] = kwargs.get("inputs_embeds")
            raise _StopAtLanguageModel

        handle = self.lay.lm.register_forward_pre_hook(hook, with_kwargs=True)
        try:
            model(**inputs, use_cache=False)
        except _StopAtLanguageModel:
            pass
        finally:
            handle.remove()
        embeds = got.get("embeds")
        if embeds is None or embeds.shape[:2] != inputs["input_ids"].shape:
            return None
        return embeds

    def _own_prefill(self, embeds: torch.Tensor, n: int) -> None:
        if not self.use_graph or self.prefill_mode == "eager":
            self._prefill_layers(embeds, n)
            return
        entry = self._prefill_graphs.get(n)
        if entry is None:
            buf = embeds.clone()
            try:
                entry = (self._capture(lambda: self._prefill_layers(buf, n)), buf)
            except Exception as exc:  # a layer type that cannot be captured: run the prefill eagerly
                self.notes.append(f"prefill graph capture failed ({type(exc).__name__}: {exc}); prefill runs eagerly")
                self.prefill_mode = "eager"
                self._prefill_layers(embeds, n)
                return
            self._prefill_graphs[n] = entry
        graph, buf = entry
        buf.copy_(embeds)
        graph.replay()

    def _prefill_layers(self, x: torch.Tensor, n: int) -> None:
        """The language model over the prompt with the model's own modules, writing the cache."""
        lay = self.lay
        nh, nkv, d = lay.n_heads, lay.n_kv, lay.head_dim
        cos = self.cos[:n].view(1, 1, n, d)
        sin = self.sin[:n].view(1, 1, n, d)
        for i, layer in enumerate(lay.layers):
            attn = layer.self_attn
            h = layer.input_layernorm(x)
            q = attn.q_proj(h).view(1, n, nh, d).transpose(1, 2)
            k = attn.k_proj(h).view(1, n, nkv, d).transpose(1, 2)
            v = attn.v_proj(h).view(1, n, nkv, d).transpose(1, 2)
            q = (q * cos) + (_rotate_half(q) * sin)
            k = (k * cos) + (_rotate_half(k) * sin)
            self.k_cache[i, :, :, :n].copy_(k)
            self.v_cache[i, :, :, :n].copy_(v)
            k, v = _repeat_kv(k, nh // nkv), _repeat_kv(v, nh // nkv)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=n > 1, scale=lay.scaling)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(1, n, nh * d))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = lay.lm_head(lay.norm(x[:, -1:]))
        self.pos.fill_(n)
        self._finish(logits[0, -1], advance=False)

    # -- decode ------------------------------------------------------------------------------------------
    def _finish(self, logits: torch.Tensor, *, advance: bool = True) -> None:
        """Greedy choice and verdict logits into the static buffers (inside the graph)."""
        if logits.data_ptr() != self.logits.data_ptr():
            self.logits.copy_(logits)
        nxt = torch.argmax(logits)
        self.tok.view(-1).copy_(nxt.view(1))
        torch.cat([nxt.view(1).float(), logits.index_select(0, self.vids).float()], out=self.packed)
        if advance:
            self.pos.add_(1)

    def step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self._step()

    def _step(self) -> None:
        if self.plan == "triton":
            self._triton_step()
        else:
            self._torch_step()

    def _capture(self, fn):
        """fn captured in a CUDA graph, after two eager runs (kernel builds, library handles). The
        state fn leaves behind is reset by the next prefill."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                fn()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            fn()
        torch.cuda.synchronize()
        self.pos.zero_()
        return graph

    # -- the "torch" plan: the model's own modules around a masked static-cache attention ------------
    def _torch_step(self) -> None:
        lay = self.lay
        nh, nkv, d = lay.n_heads, lay.n_kv, lay.head_dim
        x = lay.embed(self.tok)  # (1, 1, H)
        cos = self.cos.index_select(0, self.pos).view(1, 1, 1, d)
        sin = self.sin.index_select(0, self.pos).view(1, 1, 1, d)
        mask = (self.arange <= self.pos).view(1, 1, 1, -1)
        for i, layer in enumerate(lay.layers):
            attn, mlp = layer.self_attn, layer.mlp
            h = layer.input_layernorm(x)
            wqkv = self.fused.get(("qkv", i))
            if wqkv is not None:
                q, k, v = F.linear(h, wqkv).split([nh * d, nkv * d, nkv * d], dim=-1)
            else:
                q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)
            q = q.view(1, 1, nh, d).transpose(1, 2)
            k = k.view(1, 1, nkv, d).transpose(1, 2)
            v = v.view(1, 1, nkv, d).transpose(1, 2)
            q = (q * cos) + (_rotate_half(q) * sin)
            k = (k * cos) + (_rotate_half(k) * sin)
            kc, vc = self.k_cache[i], self.v_cache[i]
            kc.index_copy_(2, self.pos, k)
            vc.index_copy_(2, self.pos, v)
            kc, vc = _repeat_kv(kc, nh // nkv), _repeat_kv(vc, nh // nkv)
            a = F.scaled_dot_product_attention(q, kc, vc, attn_mask=mask, scale=lay.scaling)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(1, 1, nh * d))
            h = layer.post_attention_layernorm(x)
            wgu = self.fused.get(("gate_up", i))
            if wgu is not None:
                g, u = F.linear(h, wgu).chunk(2, dim=-1)
                x = x + mlp.down_proj(mlp.act_fn(g) * u)
            else:
                x = x + mlp(h)
        logits = lay.lm_head(lay.norm(x))
        self._finish(logits[0, -1])

    # -- the "triton" plan: fused kernels, seven a layer ------------------------------------------------
    def _triton_setup(self) -> None:
        lay = self.lay
        dev, dt = self.device, self.dtype
        nh, d = lay.n_heads, lay.head_dim
        from . import fastdecode_triton as tk

        inter = lay.layers[0].mlp.down_proj.weight.shape[1]
        splits = -(-self.max_len // tk.ATTN_CHUNK)
        self.x = torch.zeros(lay.hidden, device=dev, dtype=dt)
        self.qkv = torch.zeros(self.fused[("qkv", 0)].shape[0], device=dev, dtype=dt)
        self.q = torch.zeros(nh * d, device=dev, dtype=dt)
        self.a = torch.zeros(nh * d, device=dev, dtype=dt)
        self.gu = torch.zeros(2 * inter, device=dev, dtype=dt)
        self.m_buf = torch.zeros(nh, splits, device=dev, dtype=torch.float32)
        self.l_buf = torch.zeros(nh, splits, device=dev, dtype=torch.float32)
        self.acc_buf = torch.zeros(nh, splits, d, device=dev, dtype=torch.float32)
        self.eps = [(_eps(layer.input_layernorm), _eps(layer.post_attention_layernorm)) for layer in lay.layers]

    def _triton_step(self) -> None:
        from . import fastdecode_triton as tk

        lay = self.lay
        nh, d = lay.n_heads, lay.head_dim
        group = nh // lay.n_kv
        torch.index_select(lay.embed.weight, 0, self.tok.view(1), out=self.x.view(1, -1))
        for i, layer in enumerate(lay.layers):
            e1, e2 = self.eps[i]
            kc, vc = self.k_cache[i, 0], self.v_cache[i, 0]
            tk.norm_gemv(self.x, layer.input_layernorm.weight, e1, self.fused[("qkv", i)], self.qkv)
            tk.rope_store(self.qkv, self.cos, self.sin, self.pos, kc, vc, self.q, n_heads=nh, n_kv=lay.n_kv, head_dim=d)
            tk.attention(self.q, kc, vc, self.pos, self.m_buf, self.l_buf, self.acc_buf, self.a,
                         scale=lay.scaling, group=group)  # fmt: skip
            tk.gemv_add_(self.a, layer.self_attn.o_proj.weight, self.x)
            tk.norm_gemv(self.x, layer.post_attention_layernorm.weight, e2, self.fused[("gate_up", i)], self.gu)
            tk.gemv_add_(self.gu, layer.mlp.down_proj.weight, self.x, silu_gate=True)
        tk.norm_gemv(self.x, lay.norm.weight, _eps(lay.norm), lay.lm_head.weight, self.logits)
        self._finish(self.logits)


def _repeat_kv(x: torch.Tensor, group: int) -> torch.Tensor:
    """(1, kv heads, len, d) -> (1, heads, len, d), as the model's repeat_kv does."""
    if group == 1:
        return x
    b, nkv, n, d = x.shape
    return x[:, :, None].expand(b, nkv, group, n, d).reshape(b, nkv * group, n, d)


def _eps(norm: nn.Module) -> float:
    return float(getattr(norm, "variance_epsilon", getattr(norm, "eps", 1e-6)))


class StaticCacheBackend:
    """Greedy decoding with a static KV cache and a CUDA-graph decode step (see the module doc).

    plan: "auto" (triton on CUDA where it can run, else torch), "torch" or "triton".
    prefill: "own" (the language model over the prompt with the model's modules, writing the static
        cache directly, captured in a CUDA graph per prompt length where graphs are on), "eager"
        (the same, never captured) or "hf" (the model's own forward with a dynamic cache, copied).
    cuda_graph: None = on CUDA; False runs the same steps eagerly (what CPU always does).
    fuse: None = on CUDA; store q/k/v and gate/up weights side by side (parameters become views).
    pipeline_depth: decode steps queued on the GPU ahead of the token being handed to `emit`.
    dedicated_thread: do the work on one long-lived thread of the backend's instead of the caller's.
        None = on CUDA. The Detector starts a new thread per request, and a fresh thread's first
        eager CUDA work (the vision tower) was measured 55 ms slower on an H200 (bench/RESULTS.md).
    Runs are serialised (one cache); concurrent callers wait their turn.
    """

    name = "static"

    def __init__(
        self,
        *,
        plan: str = "auto",
        prefill: str = "own",
        cuda_graph: bool | None = None,
        fuse: bool | None = None,
        pipeline_depth: int = 3,
        dedicated_thread: bool | None = None,
        bucket: int = CACHE_BUCKET,
        keep_engines: int = 2,
        fallback=None,
    ):
        if plan not in ("auto", "torch", "triton"):
            raise ValueError(f"unknown plan '{plan}': use auto, torch or triton")
        if prefill not in ("own", "eager", "hf"):
            raise ValueError(f"unknown prefill '{prefill}': use own, eager or hf")
        self.plan = plan
        self.prefill = prefill
        self.cuda_graph = cuda_graph
        self.fuse = fuse
        self.pipeline_depth = max(1, pipeline_depth)
        self.bucket = bucket
        self.keep_engines = max(1, keep_engines)
        if fallback is None:
            from .detector import GenerateBackend

            fallback = GenerateBackend()
        self.fallback = fallback
        self._lock = threading.Lock()
        self.dedicated_thread = dedicated_thread
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self.last_trace: dict[str, float] = {}  # perf_counter marks of the last run, for the benchmark
        self._engines: collections.OrderedDict[int, _Engine] = collections.OrderedDict()
        self._model_key: tuple | None = None
        self._fused: dict = {}
        self._reasons: dict[int, str | None] = {}
        self.last_setup_s: float | None = None  # seconds the last engine took to build (capture included)
        self.notes: list[str] = []  # what fell back and why, for the benchmark and the logs

    # -- public --------------------------------------------------------------------------------------
    def describe(self) -> dict:
        eng = next(reversed(self._engines.values()), None)
        return {
            "backend": self.name,
            "plan": eng.plan if eng else None,
            "cuda_graph": bool(eng and eng.graph is not None),
            "prefill": eng.prefill_mode if eng else None,
            "prefill_graphs": sorted(eng._prefill_graphs) if eng else [],
            "fused_weights": bool(self._fused),
            "cache_lengths": list(self._engines),
            "notes": list(self.notes) + [n for e in self._engines.values() for n in e.notes],
        }

    def warmup(self, model, inputs, *, max_new_tokens: int = 256) -> float:
        """Build the engine a request with these inputs will use and capture its graphs (decode step,
        prefill for this prompt length); seconds taken."""
        t0 = time.perf_counter()
        if self._reason(model, inputs) is None:
            self._in_worker(model, self._warm, model, inputs, max_new_tokens)
        return time.perf_counter() - t0

    def _warm(self, model, inputs, max_new_tokens: int) -> None:
        with self._lock:
            eng = self._engine(model, inputs["input_ids"].shape[1] + max_new_tokens)
            with torch.inference_mode():
                eng.prefill(model, inputs)
            if eng.device.type == "cuda":
                torch.cuda.synchronize()

    def run(self, model, inputs, *, max_new_tokens: int, verdict_ids: tuple[int, int], cancel, emit) -> None:
        reason = self._reason(model, inputs)
        if reason is not None:
            self.fallback.run(
                model, inputs, max_new_tokens=max_new_tokens, verdict_ids=verdict_ids, cancel=cancel, emit=emit
            )
            return
        if max_new_tokens <= 0:
            return
        eos = set(_as_list(model.generation_config.eos_token_id))
        self._in_worker(model, self._run_static, model, inputs, max_new_tokens, verdict_ids, cancel, emit, eos)

    def _in_worker(self, model, fn, *args) -> None:
        """fn(*args) on the backend's own long-lived thread (see dedicated_thread), else right here."""
        dedicated = self.dedicated_thread
        if dedicated is None:
            dedicated = next(model.parameters()).device.type == "cuda"
        if not dedicated:
            fn(*args)
            return
        with self._executor_lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="spot-fastdecode")
        self._executor.submit(fn, *args).result()

    def _run_static(self, model, inputs, max_new_tokens, verdict_ids, cancel, emit, eos) -> None:
        trace = {"start": time.perf_counter()}
        self.last_trace = trace
        with self._lock:
            eng = self._engine(model, inputs["input_ids"].shape[1] + max_new_tokens)
            trace["engine"] = time.perf_counter()
            with torch.inference_mode():
                eng.vids.copy_(torch.tensor(verdict_ids, dtype=torch.long))
                eng.prefill(model, inputs, trace)
                trace["prefill_queued"] = time.perf_counter()
                self._decode(eng, max_new_tokens, eos, cancel, emit, trace)

    # -- internals -----------------------------------------------------------------------------------
    def _reason(self, model, inputs) -> str | None:
        key = id(model)
        if key not in self._reasons:
            self._reasons[key] = unsupported_reason(model)
            if self._reasons[key]:
                self._note(f"plain generate is used because {self._reasons[key]}")
        if self._reasons[key]:
            return self._reasons[key]
        ids = inputs["input_ids"]
        mask = inputs.get("attention_mask")
        if ids.dim() != 2 or ids.shape[0] != 1 or (mask is not None and not bool(mask.all())):
            return "the inputs are batched or padded"
        return None

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            log.warning("fast decoding: %s", text)

    def _engine(self, model, needed: int) -> _Engine:
        key = (id(model), next(model.parameters()).device)
        if key != self._model_key:
            self._engines.clear()
            self._fused = {}
            self._model_key = key
        fits = [length for length in self._engines if length >= needed]
        if fits:  # a longer cache serves a shorter request: the warmed-up engine covers them all
            length = min(fits)
            self._engines.move_to_end(length)
            return self._engines[length]
        max_len = -(-needed // self.bucket) * self.bucket
        while len(self._engines) >= self.keep_engines:
            self._engines.popitem(last=False)
        t0 = time.perf_counter()
        eng = self._build(model, max_len)
        self.last_setup_s = time.perf_counter() - t0
        self._engines[max_len] = eng
        return eng

    def _build(self, model, max_len: int) -> _Engine:
        lay = _layout(model)
        on_cuda = next(model.parameters()).device.type == "cuda"
        fuse = on_cuda if self.fuse is None else self.fuse
        if fuse and not self._fused:
            for i, layer in enumerate(lay.layers):
                a, m = layer.self_attn, layer.mlp
                wqkv = fuse_weights([a.q_proj, a.k_proj, a.v_proj])
                wgu = fuse_weights([m.gate_proj, m.up_proj])
                if wqkv is not None:
                    self._fused[("qkv", i)] = wqkv
                if wgu is not None:
                    self._fused[("gate_up", i)] = wgu
        plan = self.plan
        triton_ok = (
            on_cuda
            and len(self._fused) == 2 * len(lay.layers)
            and _plain_linears([lay.lm_head] + [layer.self_attn.o_proj for layer in lay.layers])
            and lay.head_dim & (lay.head_dim - 1) == 0
            and lay.n_heads % lay.n_kv == 0
            and _triton_available()
        )
        if plan == "auto":
            plan = "triton" if triton_ok else "torch"
        elif plan == "triton" and not triton_ok:
            self._note(
                "the triton plan needs CUDA, triton, plain bf16/fp16 linear layers and fused weights; using torch"
            )
            plan = "torch"
        use_graph = on_cuda if self.cuda_graph is None else (self.cuda_graph and on_cuda)
        with torch.inference_mode():
            try:
                return _Engine(
                    model, lay, max_len, plan=plan, fused=self._fused, use_graph=use_graph, prefill=self.prefill
                )
            except Exception as exc:  # a kernel that does not build here, a capture that fails
                if plan == "triton":
                    self._note(f"the triton plan failed ({type(exc).__name__}: {exc}); using torch")
                    return self._retry(model, lay, max_len, use_graph)
                if use_graph:
                    self._note(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); decoding eagerly")
                    return _Engine(
                        model, lay, max_len, plan=plan, fused=self._fused, use_graph=False, prefill=self.prefill
                    )
                raise

    def _retry(self, model, lay, max_len, use_graph) -> _Engine:
        try:
            return _Engine(
                model, lay, max_len, plan="torch", fused=self._fused, use_graph=use_graph, prefill=self.prefill
            )
        except Exception as exc:
            if not use_graph:
                raise
            self._note(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); decoding eagerly")
            return _Engine(model, lay, max_len, plan="torch", fused=self._fused, use_graph=False, prefill=self.prefill)

    def _decode(self, eng: _Engine, n: int, eos: set[int], cancel, emit, trace: dict | None = None) -> None:
        """Token 0 comes from the prefill; tokens 1..n-1 from decode steps, queued `depth` ahead."""
        on_cuda = eng.device.type == "cuda"
        depth = self.pipeline_depth if on_cuda else 1
        pending: collections.deque = collections.deque()
        launched = 0
        try:
            while True:
                while launched < n and len(pending) < depth:
                    if launched > 0:
                        eng.step()
                    eng.host[launched].copy_(eng.packed, non_blocking=on_cuda)
                    event = None
                    if on_cuda:
                        event = torch.cuda.Event()
                        event.record()
                    pending.append((launched, event))
                    launched += 1
                if not pending:
                    return
                i, event = pending.popleft()
                if event is not None:
                    event.synchronize()
                row = eng.host[i].tolist()
                tok = int(row[0])
                if i == 0 and trace is not None:
                    trace["first_token"] = time.perf_counter()
                emit(tok, (row[1], row[2]))
                if tok in eos or cancel.is_set():
                    return
        finally:
            if on_cuda and pending:
                pending[-1][1].synchronize()  # steps queued past the end: let them finish before reuse


def auto_backend(model):
    """The fastest backend that decodes `model` exactly: StaticCacheBackend on CUDA when the model is
    supported, else plain generate."""
    from .detector import GenerateBackend

    on_cuda = next(model.parameters()).device.type == "cuda"
    if on_cuda and unsupported_reason(model) is None:
        return StaticCacheBackend()
    return GenerateBackend()
