"""The batched static-cache engine: a KV cache with one row ("slot") per stream, prefill into
chosen rows, and one decode step over the first B rows, each row at its own position.

Every stream owns a whole row of the cache and its own position counter, so no stream is padded
against another: a row's keys sit at positions 0..n-1 of its own prompt and answer, its rotary
angles come from its own position, and its attention mask (`key position <= its position`) sees
exactly its own tokens. A decode step runs rows 0..B-1; rows inside that range that no stream
wants stepped (free, or finished but not yet released) keep their position (`active` is 0) and
their outputs are ignored by the scheduler.

- plan "torch" (any device): the model's own modules over a (B, 1, hidden) batch, so every linear
  layer is one matrix-matrix product at small B, around a masked SDPA attention;
- plan "triton" (CUDA + triton): at B = 1 the step is today's fused batch-1 kernels (kernels.py)
  run on row 0, so one visitor alone decodes as fast as the serial engine; B > 1 uses the torch
  plan's ops. Batched Triton kernels are future work;
- CUDA graphs: one per batch-size bucket (1, 2, 4, 8, ..., slots), captured when the engine is built,
  before any stream owns a row (capture runs the step and would move live rows' positions).

NOT YET MEASURED ON A GPU: the graphs, the triton row-0 path and pinned-memory transfers only run on
CUDA; on CPU the same steps run eagerly and are what the CI exactness tests compare.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .engine import Engine, _repeat_kv, _rotate_half, mlp_out, prompt_embeddings, rotated_qkv
from .layout import Layout, fuse_weights, layout_of, plain_linears


def buckets_for(slots: int) -> list[int]:
    """Batch sizes that get a graph: powers of two below `slots`, and `slots` itself."""
    out, b = [], 1
    while b < slots:
        out.append(b)
        b *= 2
    return [*out, slots]


class BatchEngine:
    """Static buffers for `slots` streams of at most `max_len` tokens, the prefill and the batched
    decode step. Holds no bound methods of itself, so dropping it frees its memory."""

    def __init__(self, model, lay: Layout, max_len: int, slots: int, *, plan: str, fused: dict, use_graph: bool):
        self.notes: list[str] = []
        self.lay, self.max_len, self.slots = lay, max_len, slots
        p = next(model.parameters())
        self.device = p.device
        self.dtype = lay.embed.weight.dtype if lay.embed.weight.is_floating_point() else p.dtype
        dev, dt = self.device, self.dtype
        n_layers, n_kv, d = len(lay.layers), lay.n_kv, lay.head_dim
        self.k_cache = torch.zeros(n_layers, slots, n_kv, max_len, d, device=dev, dtype=dt)
        self.v_cache = torch.zeros_like(self.k_cache)
        self.tok = torch.zeros(slots, dtype=torch.long, device=dev)
        self.pos = torch.zeros(slots, dtype=torch.long, device=dev)
        self.active = torch.zeros(slots, dtype=torch.long, device=dev)  # 1: the step advances this row
        self.vids = torch.zeros(slots, 2, dtype=torch.long, device=dev)  # each row's verdict token ids
        self.packed = torch.zeros(slots, 3, dtype=torch.float32, device=dev)  # next token, real, fake logits
        self.logits = torch.zeros(slots, lay.lm_head.weight.shape[0], device=dev, dtype=dt)  # the last step's
        self.rows = torch.arange(slots, device=dev)
        self.arange = torch.arange(max_len, device=dev)
        cos, sin = lay.lm.rotary_emb(torch.zeros(1, 1, dtype=dt, device=dev), self.arange.unsqueeze(0))
        self.cos, self.sin = cos[0].contiguous(), sin[0].contiguous()  # (max_len, d), as the model rounds them
        self.fused = fused
        self.plan = plan
        self.row0 = _RowZero(self) if plan == "triton" else None
        self.buckets = buckets_for(slots)
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        if use_graph:
            for b in self.buckets:
                self.graphs[b] = self._capture(b)
            self.reset()

    def cache_bytes(self) -> int:
        return 2 * self.k_cache.numel() * self.k_cache.element_size()

    def bucket(self, rows_needed: int) -> int:
        return next(b for b in self.buckets if b >= rows_needed)

    def reset(self, rows: torch.Tensor | None = None) -> None:
        """Rows (default: all) back to free: position 0, not advanced by steps."""
        for t in (self.pos, self.active, self.tok):
            if rows is None:
                t.zero_()
            else:
                t.index_fill_(0, rows, 0)

    # -- prefill ---------------------------------------------------------------------------------------
    def embeddings(self, model, inputs) -> torch.Tensor:
        embeds = prompt_embeddings(self.lay.lm, model, inputs)
        if embeds is None:
            raise ValueError("the model's forward did not reach its language model with the prompt's embeddings")
        return embeds

    def prefill(self, embeds: list[torch.Tensor], rows: list[int], vids: list[tuple[int, int]]) -> torch.Tensor:
        """Prompts of one length (each (1, n, hidden)) into `rows` of the cache, run together; the
        rows become active at position n. Returns (G, 3) float32: token 0, real and fake logits."""
        lay = self.lay
        x = torch.cat(embeds).to(self.dtype)
        g, n = x.shape[:2]
        if n >= self.max_len:
            raise ValueError(f"the prompt ({n} tokens) does not fit the cache ({self.max_len})")
        nh, nkv, d = lay.n_heads, lay.n_kv, lay.head_dim
        idx = torch.tensor(rows, device=self.device, dtype=torch.long)
        cos = self.cos[:n].view(1, 1, n, d)
        sin = self.sin[:n].view(1, 1, n, d)
        for i, layer in enumerate(lay.layers):
            attn = layer.self_attn
            h = layer.input_layernorm(x)
            q = attn.q_proj(h).view(g, n, nh, d).transpose(1, 2)
            k = attn.k_proj(h).view(g, n, nkv, d).transpose(1, 2)
            v = attn.v_proj(h).view(g, n, nkv, d).transpose(1, 2)
            q = (q * cos) + (_rotate_half(q) * sin)
            k = (k * cos) + (_rotate_half(k) * sin)
            self.k_cache[i, :, :, :n].index_copy_(0, idx, k)
            self.v_cache[i, :, :, :n].index_copy_(0, idx, v)
            k, v = _repeat_kv(k, nh // nkv), _repeat_kv(v, nh // nkv)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=n > 1, scale=lay.scaling)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(g, n, nh * d))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = lay.lm_head(lay.norm(x[:, -1:]))[:, -1]  # (G, vocab)
        self.logits.index_copy_(0, idx, logits)
        nxt = torch.argmax(logits, dim=-1)
        self.vids.index_copy_(0, idx, torch.tensor(vids, device=self.device, dtype=torch.long))
        self.tok.index_copy_(0, idx, nxt)
        self.pos.index_fill_(0, idx, n)
        self.active.index_fill_(0, idx, 1)
        pair = logits.gather(1, self.vids.index_select(0, idx)).float()
        return torch.cat([nxt.float().unsqueeze(1), pair], dim=1)

    def move_row(self, src: int, dst: int) -> None:
        """Stream state of row src copied to row dst (compaction keeps the live rows at the front)."""
        for t in (self.k_cache, self.v_cache):
            t[:, dst].copy_(t[:, src])
        for t in (self.tok, self.pos, self.active, self.vids):
            t[dst].copy_(t[src])

    # -- decode ------------------------------------------------------------------------------------------
    def step(self, b: int) -> None:
        """One decode step of rows 0..b-1 (b a bucket): their next tokens into tok, packed."""
        graph = self.graphs.get(b)
        if graph is not None:
            graph.replay()
        else:
            self._step(b)

    def _step(self, b: int) -> None:
        if b == 1 and self.row0 is not None:
            self.row0.step()
        else:
            self._torch_step(b)

    def _capture(self, b: int):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):  # kernel builds, library handles
                self._step(b)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: request threads may copy their inputs to the GPU while the engine is built
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            self._step(b)
        torch.cuda.synchronize()
        return graph

    def _torch_step(self, b: int) -> None:
        lay = self.lay
        nh, nkv, d = lay.n_heads, lay.n_kv, lay.head_dim
        pos = self.pos[:b]
        x = lay.embed(self.tok[:b].view(b, 1))  # (b, 1, hidden)
        cos = self.cos.index_select(0, pos).view(b, 1, 1, d)
        sin = self.sin.index_select(0, pos).view(b, 1, 1, d)
        mask = (self.arange.view(1, -1) <= pos.view(-1, 1)).view(b, 1, 1, -1)
        rows = self.rows[:b]
        for i, layer in enumerate(lay.layers):
            attn = layer.self_attn
            q, k, v = rotated_qkv(layer, layer.input_layernorm(x), self.fused.get(("qkv", i)), (nh, nkv, d), cos, sin)
            kc, vc = self.k_cache[i, :b], self.v_cache[i, :b]
            kc[rows, :, pos] = k[:, :, 0]  # each row's key at its own position
            vc[rows, :, pos] = v[:, :, 0]
            kc, vc = _repeat_kv(kc, nh // nkv), _repeat_kv(vc, nh // nkv)
            a = F.scaled_dot_product_attention(q, kc, vc, attn_mask=mask, scale=lay.scaling)
            x = x + attn.o_proj(a.transpose(1, 2).reshape(b, 1, nh * d))
            x = x + mlp_out(layer, layer.post_attention_layernorm(x), self.fused.get(("gate_up", i)))
        logits = lay.lm_head(lay.norm(x))[:, -1]  # (b, vocab)
        self.logits[:b].copy_(logits)  # kept for the benchmark's comparisons
        nxt = torch.argmax(logits, dim=-1)
        self.tok[:b].copy_(nxt)
        pair = logits.gather(1, self.vids[:b]).float()
        torch.cat([nxt.float().unsqueeze(1), pair], dim=1, out=self.packed[:b])
        # free and finished rows keep their place; the clamp is a second guard for the cache's end
        pos.add_(self.active[:b]).clamp_(max=self.max_len - 1)


def build_engine(model, max_len: int, slots: int, *, plan: str, cuda_graph: bool | None, fuse: bool | None,
                 fused: dict, note) -> BatchEngine:  # fmt: skip
    """A BatchEngine for `model`: q/k/v and gate/up weights stored side by side on CUDA (into `fused`,
    kept by the caller across rebuilds), the triton plan where it can build, graphs on CUDA; what
    fails to build falls back (torch plan, then no graphs), each fallback told to `note`."""
    from .static import _triton_available

    lay = layout_of(model)
    on_cuda = next(model.parameters()).device.type == "cuda"
    if (on_cuda if fuse is None else fuse) and not fused:
        for i, layer in enumerate(lay.layers):
            a, m = layer.self_attn, layer.mlp
            for key, mods in ((("qkv", i), [a.q_proj, a.k_proj, a.v_proj]),
                              (("gate_up", i), [m.gate_proj, m.up_proj])):  # fmt: skip
                w = fuse_weights(mods)
                if w is not None:
                    fused[key] = w
    triton_ok = (on_cuda and len(fused) == 2 * len(lay.layers)
                 and plain_linears([lay.lm_head] + [layer.self_attn.o_proj for layer in lay.layers])
                 and lay.head_dim & (lay.head_dim - 1) == 0 and _triton_available())  # fmt: skip
    chosen = ("triton" if triton_ok else "torch") if plan == "auto" else plan
    if chosen == "triton" and not triton_ok:
        note("the triton plan needs CUDA, triton and fused plain linear layers; using torch")
        chosen = "torch"
    use_graph = on_cuda if cuda_graph is None else (cuda_graph and on_cuda)
    attempts = [(chosen, use_graph)] + ([("torch", use_graph)] if chosen == "triton" else [])
    attempts += [("torch", False)] if use_graph else []
    for i, (p, g) in enumerate(attempts):
        try:
            return BatchEngine(model, lay, max_len, slots, plan=p, fused=fused, use_graph=g)
        except Exception as exc:  # a kernel that does not build here, a capture that fails
            if i == len(attempts) - 1:
                raise
            note(f"batched engine with plan {p}, graphs {g} failed ({type(exc).__name__}: {exc})")
    raise AssertionError("unreachable")


class _RowZero:
    """Row 0 of a BatchEngine seen as a batch-1 Engine, so that one stream alone runs today's fused
    batch-1 kernels (Engine's triton step) on its row. CUDA + triton only; not yet measured on a GPU."""

    _finish = Engine._finish
    _triton_setup = Engine._triton_setup
    _triton_step = Engine._triton_step

    def __init__(self, be: BatchEngine):
        self.lay, self.max_len, self.device, self.dtype = be.lay, be.max_len, be.device, be.dtype
        self.fused, self.cos, self.sin = be.fused, be.cos, be.sin
        self.k_cache, self.v_cache = be.k_cache[:, 0:1], be.v_cache[:, 0:1]  # each [i, 0] is contiguous
        self.tok = be.tok[0:1].view(1, 1)
        self.pos = be.pos[0:1]
        self.vids = be.vids[0]
        self.packed = be.packed[0]
        self.logits = be.logits[0]  # the fused head writes row 0's logits in place
        self._triton_setup()

    def step(self) -> None:
        self._triton_step()
