"""One static-cache decoding engine: the KV cache, the prefill and decode steps, their CUDA graphs.

- prefill: the model's own forward computes the prompt embeddings (vision tower, projector, image
  tokens merged in; a hook stops it at the language model's door), then the language model runs
  over the prompt with the model's own modules, writing keys/values straight into the fixed-size
  cache (captured in a CUDA graph per prompt length where graphs are on);
- decode: one step of the language model against that cache, the position read from device
  memory, so the whole step is captured once and replayed per token. Plan "torch" uses the model's
  own modules around a masked attention; plan "triton" the fused kernels of kernels.py.
"""

from __future__ import annotations

import inspect
import time

import torch
from torch import nn
from torch.nn import functional as F

from .layout import Layout


def _cache_kv(cache, i: int):
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return layers[i].keys, layers[i].values
    if hasattr(cache, "key_cache"):
        return cache.key_cache[i], cache.value_cache[i]
    return cache[i][0], cache[i][1]


def rotated_qkv(layer, h: torch.Tensor, wqkv: torch.Tensor | None, heads: tuple[int, int, int],
                cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One decode step's queries, keys and values of `layer` for rows h (B, 1, hidden): through the
    fused QKV weight when there is one, as (B, heads, 1, head_dim), queries and keys rotated."""
    nh, nkv, d = heads
    attn, b = layer.self_attn, h.shape[0]
    if wqkv is not None:
        q, k, v = F.linear(h, wqkv).split([nh * d, nkv * d, nkv * d], dim=-1)
    else:
        q, k, v = attn.q_proj(h), attn.k_proj(h), attn.v_proj(h)
    q = q.view(b, 1, nh, d).transpose(1, 2)
    k = k.view(b, 1, nkv, d).transpose(1, 2)
    v = v.view(b, 1, nkv, d).transpose(1, 2)
    return (q * cos) + (_rotate_half(q) * sin), (k * cos) + (_rotate_half(k) * sin), v


def mlp_out(layer, h: torch.Tensor, wgu: torch.Tensor | None) -> torch.Tensor:
    """`layer`'s MLP on h, through the fused gate/up weight when there is one."""
    mlp = layer.mlp
    if wgu is None:
        return mlp(h)
    g, u = F.linear(h, wgu).chunk(2, dim=-1)
    return mlp.down_proj(mlp.act_fn(g) * u)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class _StopAtLanguageModel(Exception):
    """Raised by a hook to end the model's forward once the merged prompt embeddings are known."""


def prompt_embeddings(lm: nn.Module, model, inputs) -> torch.Tensor | None:
    """The prompt as the language model `lm` receives it (image features merged in), computed by the
    model's own forward, stopped by a hook at the language model's door; None if it never got there."""
    got: dict = {}

    def hook(_module, args, kwargs):
        got["embeds"] = kwargs.get("inputs_embeds")
        raise _StopAtLanguageModel

    handle = lm.register_forward_pre_hook(hook, with_kwargs=True)
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


class Engine:
    """Static buffers, the prefill and decode steps and their CUDA graphs for one model and one
    cache length. Holds no reference to itself (no bound methods stored), so dropping it frees it."""

    def __init__(self, model, lay: Layout, max_len: int, *, plan: str, fused: dict, use_graph: bool, prefill: str):
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
        return prompt_embeddings(self.lay.lm, model, inputs)

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
            attn = layer.self_attn
            q, k, v = rotated_qkv(layer, layer.input_layernorm(x), self.fused.get(("qkv", i)), (nh, nkv, d), cos, sin)
            kc, vc = self.k_cache[i], self.v_cache[i]
            kc.index_copy_(2, self.pos, k)
            vc.index_copy_(2, self.pos, v)
            kc, vc = _repeat_kv(kc, nh // nkv), _repeat_kv(vc, nh // nkv)
            a = F.scaled_dot_product_attention(q, kc, vc, attn_mask=mask, scale=lay.scaling)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(1, 1, nh * d))
            x = x + mlp_out(layer, layer.post_attention_layernorm(x), self.fused.get(("gate_up", i)))
        logits = lay.lm_head(lay.norm(x))
        self._finish(logits[0, -1])

    # -- the "triton" plan: fused kernels, seven a layer ------------------------------------------------
    def _triton_setup(self) -> None:
        lay = self.lay
        dev, dt = self.device, self.dtype
        nh, d = lay.n_heads, lay.head_dim
        from . import kernels as tk

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
        from . import kernels as tk

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
