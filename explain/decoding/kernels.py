"""Triton kernels for one greedy decode step of a Llama language model at batch 1 (GPU only).

Used by the static-cache engine's "triton" plan (engine.py), which captures a whole decode step
(seven kernels a layer) in one CUDA graph. A step at batch 1 reads every weight once and does little arithmetic, so
its cost is memory traffic plus one launch gap per kernel: these kernels fuse what the reference
module code does in many small launches (RMSNorm into the following matrix-vector product, the
residual add and SiLU-gate into theirs, rotary embedding into the KV-cache write) and read only the
filled part of a fixed-size KV cache, taking the position from device memory so that one captured
graph serves every step.

Rounding follows the reference modules (transformers' Llama in bf16): every place where the module
code rounds to the model dtype, the kernels round too, so the remaining differences come from the
order of float32 sums only.

Importing this module needs triton; the engine imports it only on CUDA.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

# (rows a program, columns an iteration, warps, pipeline stages) per weight shape "NxK". Picked by
# bench/gpu_bench.py's sweep on an H200 (bench/RESULTS.md): few rows a program and long rows of
# columns keep many 16-byte loads in flight; the configurations within a few percent of the best
# were many, so these are the ones that won on more than one run.
GEMV_CONFIGS: dict[str, tuple[int, int, int, int]] = {
    "default": (2, 1024, 4, 3),
    "4096x11008": (4, 1024, 4, 3),  # down_proj
}
ATTN_CHUNK = 64  # keys a program of the split attention handles


def _gemv_config(n: int, k: int) -> tuple[int, int, int, int]:
    return GEMV_CONFIGS.get(f"{n}x{k}", GEMV_CONFIGS["default"])


@triton.jit
def _norm_gemv_kernel(
    x_ptr,
    nw_ptr,
    w_ptr,
    y_ptr,
    eps,
    N,
    K: tl.constexpr,
    HAS_NORM: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    """y = W @ rmsnorm(x) (or W @ x): W (N, K) row-major, x (K,), y (N,), all in the model dtype."""
    pid = tl.program_id(0)
    rows = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    rmask = rows < N
    dt = y_ptr.dtype.element_ty
    r = 1.0
    if HAS_NORM:
        ss = tl.zeros([BLOCK_K], dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            xv = tl.load(x_ptr + ks, mask=ks < K, other=0.0).to(tl.float32)
            ss += xv * xv
        r = 1.0 / tl.sqrt(tl.sum(ss, 0) / K + eps)
    acc = tl.zeros([BLOCK_N, BLOCK_K], dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        kmask = ks < K
        hv = tl.load(x_ptr + ks, mask=kmask, other=0.0).to(tl.float32)
        if HAS_NORM:
            # RMSNorm as the module does it: normalise in float32, round, scale by the weight, round
            hv = (hv * r).to(dt).to(tl.float32)
            nw = tl.load(nw_ptr + ks, mask=kmask, other=0.0).to(tl.float32)
            hv = (nw * hv).to(dt).to(tl.float32)
        w = tl.load(w_ptr + rows[:, None] * K + ks[None, :], mask=rmask[:, None] & kmask[None, :], other=0.0).to(
            tl.float32
        )
        acc += w * hv[None, :]
    tl.store(y_ptr + rows, tl.sum(acc, 1).to(dt), mask=rmask)


@triton.jit
def _gemv_add_kernel(
    x_ptr,
    w_ptr,
    res_ptr,
    N,
    K: tl.constexpr,
    SILU_GATE: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    """res += W @ x, in place (each program owns its rows of res). With SILU_GATE, x_ptr holds
    [gate; up] (2K,) and the input is silu(gate) * up, rounded where the module rounds."""
    pid = tl.program_id(0)
    rows = pid * BLOCK_N + tl.arange(0, BLOCK_N)
    rmask = rows < N
    dt = res_ptr.dtype.element_ty
    acc = tl.zeros([BLOCK_N, BLOCK_K], dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        kmask = ks < K
        if SILU_GATE:
            g = tl.load(x_ptr + ks, mask=kmask, other=0.0).to(tl.float32)
            u = tl.load(x_ptr + K + ks, mask=kmask, other=0.0).to(tl.float32)
            a = (g / (1.0 + tl.exp(-g))).to(dt).to(tl.float32)
            hv = (a * u).to(dt).to(tl.float32)
        else:
            hv = tl.load(x_ptr + ks, mask=kmask, other=0.0).to(tl.float32)
        w = tl.load(w_ptr + rows[:, None] * K + ks[None, :], mask=rmask[:, None] & kmask[None, :], other=0.0).to(
            tl.float32
        )
        acc += w * hv[None, :]
    y = tl.sum(acc, 1).to(dt).to(tl.float32)
    res = tl.load(res_ptr + rows, mask=rmask, other=0.0).to(tl.float32)
    tl.store(res_ptr + rows, (res + y).to(dt), mask=rmask)


@triton.jit
def _rope_store_kernel(
    qkv_ptr,
    cos_ptr,
    sin_ptr,
    pos_ptr,
    kc_ptr,
    vc_ptr,
    q_ptr,
    NH,
    NKV,
    MAXLEN,
    D: tl.constexpr,
):
    """Rotary embedding of head h's query (and key, for a key/value head) at the position in
    pos_ptr; the rotated key and the value go into the cache (NKV, MAXLEN, D) at that position."""
    h = tl.program_id(0)
    pos = tl.load(pos_ptr)
    HALF: tl.constexpr = D // 2
    i = tl.arange(0, HALF)
    dt = q_ptr.dtype.element_ty
    c1 = tl.load(cos_ptr + pos * D + i).to(tl.float32)
    c2 = tl.load(cos_ptr + pos * D + HALF + i).to(tl.float32)
    s1 = tl.load(sin_ptr + pos * D + i).to(tl.float32)
    s2 = tl.load(sin_ptr + pos * D + HALF + i).to(tl.float32)
    # x * cos + rotate_half(x) * sin, each product and the sum rounded as the module's ops are
    x1 = tl.load(qkv_ptr + h * D + i).to(tl.float32)
    x2 = tl.load(qkv_ptr + h * D + HALF + i).to(tl.float32)
    o1 = ((x1 * c1).to(dt).to(tl.float32) + (-x2 * s1).to(dt).to(tl.float32)).to(dt)
    o2 = ((x2 * c2).to(dt).to(tl.float32) + (x1 * s2).to(dt).to(tl.float32)).to(dt)
    tl.store(q_ptr + h * D + i, o1)
    tl.store(q_ptr + h * D + HALF + i, o2)
    if h < NKV:
        kbase = qkv_ptr + NH * D + h * D
        k1 = tl.load(kbase + i).to(tl.float32)
        k2 = tl.load(kbase + HALF + i).to(tl.float32)
        p1 = ((k1 * c1).to(dt).to(tl.float32) + (-k2 * s1).to(dt).to(tl.float32)).to(dt)
        p2 = ((k2 * c2).to(dt).to(tl.float32) + (k1 * s2).to(dt).to(tl.float32)).to(dt)
        dst = (h * MAXLEN + pos) * D
        tl.store(kc_ptr + dst + i, p1)
        tl.store(kc_ptr + dst + HALF + i, p2)
        vbase = qkv_ptr + (NH + NKV) * D + h * D
        tl.store(vc_ptr + dst + i, tl.load(vbase + i))
        tl.store(vc_ptr + dst + HALF + i, tl.load(vbase + HALF + i))


@triton.jit
def _attn_partial_kernel(
    q_ptr,
    kc_ptr,
    vc_ptr,
    pos_ptr,
    m_ptr,
    l_ptr,
    acc_ptr,
    scale,
    MAXLEN,
    S,
    GROUP: tl.constexpr,
    D: tl.constexpr,
    CHUNK: tl.constexpr,
):
    """Split attention of one query head over one chunk of keys (flash-decoding): writes the
    chunk's running max, normaliser and unnormalised output. Keys past the position are skipped
    (masked loads move no memory)."""
    h = tl.program_id(0)
    s = tl.program_id(1)
    kvh = h // GROUP
    n = tl.load(pos_ptr) + 1
    d = tl.arange(0, D)
    q = tl.load(q_ptr + h * D + d).to(tl.float32)
    ks = s * CHUNK + tl.arange(0, CHUNK)
    km = ks < n
    offs = (kvh * MAXLEN + ks[:, None]) * D + d[None, :]
    k = tl.load(kc_ptr + offs, mask=km[:, None], other=0.0).to(tl.float32)
    sc = tl.sum(k * q[None, :], 1) * scale
    sc = tl.where(km, sc, float("-inf"))
    m = tl.max(sc, 0)
    m_safe = tl.where(m == float("-inf"), 0.0, m)
    p = tl.exp(sc - m_safe)
    v = tl.load(vc_ptr + offs, mask=km[:, None], other=0.0).to(tl.float32)
    out = tl.sum(p[:, None] * v, 0)
    tl.store(m_ptr + h * S + s, m)
    tl.store(l_ptr + h * S + s, tl.sum(p, 0))
    tl.store(acc_ptr + (h * S + s) * D + d, out)


@triton.jit
def _attn_combine_kernel(m_ptr, l_ptr, acc_ptr, out_ptr, S, S_POW2: tl.constexpr, D: tl.constexpr):
    """Merges the chunks of one head: out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s."""
    h = tl.program_id(0)
    si = tl.arange(0, S_POW2)
    smask = si < S
    d = tl.arange(0, D)
    ms = tl.load(m_ptr + h * S + si, mask=smask, other=float("-inf"))
    ls = tl.load(l_ptr + h * S + si, mask=smask, other=0.0)
    big = tl.max(ms, 0)
    w = tl.where(ms == float("-inf"), 0.0, tl.exp(ms - big))
    acc = tl.load(acc_ptr + (h * S + si[:, None]) * D + d[None, :], mask=smask[:, None], other=0.0)
    out = tl.sum(w[:, None] * acc, 0) / tl.sum(w * ls, 0)
    tl.store(out_ptr + h * D + d, out.to(out_ptr.dtype.element_ty))


# --- launchers (plain Python: called while a CUDA graph captures, so no allocation, no sync) ---


def norm_gemv(x: torch.Tensor, norm_w: torch.Tensor | None, eps: float, w: torch.Tensor, y: torch.Tensor) -> None:
    n, k = w.shape
    bn, bk, warps, stages = _gemv_config(n, k)
    _norm_gemv_kernel[(triton.cdiv(n, bn),)](
        x,
        norm_w if norm_w is not None else x,
        w,
        y,
        eps,
        n,
        K=k,
        HAS_NORM=norm_w is not None,
        BLOCK_N=bn,
        BLOCK_K=bk,
        num_warps=warps,
        num_stages=stages,
    )


def gemv_add_(x: torch.Tensor, w: torch.Tensor, res: torch.Tensor, *, silu_gate: bool = False) -> None:
    n, k = w.shape
    bn, bk, warps, stages = _gemv_config(n, k)
    _gemv_add_kernel[(triton.cdiv(n, bn),)](
        x, w, res, n, K=k, SILU_GATE=silu_gate, BLOCK_N=bn, BLOCK_K=bk, num_warps=warps, num_stages=stages
    )


def rope_store(qkv, cos, sin, pos, k_cache, v_cache, q_out, *, n_heads: int, n_kv: int, head_dim: int) -> None:
    max_len = k_cache.shape[-2]
    _rope_store_kernel[(n_heads,)](
        qkv, cos, sin, pos, k_cache, v_cache, q_out, n_heads, n_kv, max_len, D=head_dim, num_warps=1
    )


def attention(q, k_cache, v_cache, pos, m_buf, l_buf, acc_buf, out, *, scale: float, group: int) -> None:
    """q (NH*D,), caches (NKV, MAXLEN, D); scratch m/l (NH, S) and acc (NH, S, D) float32."""
    n_heads, splits = m_buf.shape
    head_dim = acc_buf.shape[-1]
    max_len = k_cache.shape[-2]
    _attn_partial_kernel[(n_heads, splits)](
        q, k_cache, v_cache, pos, m_buf, l_buf, acc_buf, scale, max_len, splits,
        GROUP=group, D=head_dim, CHUNK=ATTN_CHUNK, num_warps=4,
    )  # fmt: skip
    _attn_combine_kernel[(n_heads,)](
        m_buf, l_buf, acc_buf, out, splits, S_POW2=triton.next_power_of_2(splits), D=head_dim, num_warps=4
    )
