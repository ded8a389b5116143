"""A faster greedy decoding backend: a static KV cache and one CUDA graph per decode step.

`StaticCacheBackend` has the same `run` as `GenerateBackend` and gives the same greedy tokens,
faster. It builds an `Engine` (engine.py) per cache length and feeds its steps:

- argmax and the two verdict logits are computed inside the graph; the host copies 3 numbers per
  token through pinned memory while the GPU already runs the next steps (`pipeline_depth`);
- on CUDA the work runs on one long-lived thread of the backend's: a fresh thread per request (as
  the Detector makes) was measured to add ~55 ms to the first token;
- plan "torch" runs on any device and any linear layer type (bitsandbytes 4-bit too; on CPU it
  runs eagerly and is what the CI test compares with `generate`); plan "triton" (CUDA + triton)
  uses the fused kernels of kernels.py. On CUDA the q/k/v and gate/up weights are stored side by
  side (layout.fuse_weights) so each is read by one matrix-vector product.

Anything this backend does not handle (another architecture, logits processors in the generation
config, padded batches) is handed to `fallback` (plain `generate`), with the reason logged once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
import time

import torch

from .engine import Engine
from .generate import GenerateBackend
from .layout import fuse_weights, layout_of, plain_linears, unsupported_reason
from .tokens import as_list

log = logging.getLogger(__name__)

CACHE_BUCKET = 256  # cache lengths are rounded up to this, so one captured graph serves many lengths


def _triton_available() -> bool:
    try:
        from . import kernels  # noqa: F401
    except Exception:  # no triton, or it cannot build for this machine
        return False
    return True


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
        self.fallback = fallback if fallback is not None else GenerateBackend()
        self._lock = threading.Lock()
        self.dedicated_thread = dedicated_thread
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        self.last_trace: dict[str, float] = {}  # perf_counter marks of the last run, for the benchmark
        self._engines: collections.OrderedDict[int, Engine] = collections.OrderedDict()
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
        eos = set(as_list(model.generation_config.eos_token_id))
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

    def _engine(self, model, needed: int) -> Engine:
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

    def _build(self, model, max_len: int) -> Engine:
        lay = layout_of(model)
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
            and plain_linears([lay.lm_head] + [layer.self_attn.o_proj for layer in lay.layers])
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
                return Engine(
                    model, lay, max_len, plan=plan, fused=self._fused, use_graph=use_graph, prefill=self.prefill
                )
            except Exception as exc:  # a kernel that does not build here, a capture that fails
                if plan == "triton":
                    self._note(f"the triton plan failed ({type(exc).__name__}: {exc}); using torch")
                    return self._retry(model, lay, max_len, use_graph)
                if use_graph:
                    self._note(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); decoding eagerly")
                    return Engine(
                        model, lay, max_len, plan=plan, fused=self._fused, use_graph=False, prefill=self.prefill
                    )
                raise

    def _retry(self, model, lay, max_len, use_graph) -> Engine:
        try:
            return Engine(
                model, lay, max_len, plan="torch", fused=self._fused, use_graph=use_graph, prefill=self.prefill
            )
        except Exception as exc:
            if not use_graph:
                raise
            self._note(f"CUDA graph capture failed ({type(exc).__name__}: {exc}); decoding eagerly")
            return Engine(model, lay, max_len, plan="torch", fused=self._fused, use_graph=False, prefill=self.prefill)

    def _decode(self, eng: Engine, n: int, eos: set[int], cancel, emit, trace: dict | None = None) -> None:
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
    on_cuda = next(model.parameters()).device.type == "cuda"
    if on_cuda and unsupported_reason(model) is None:
        return StaticCacheBackend()
    return GenerateBackend()
