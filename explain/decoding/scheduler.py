"""Continuous batching: many streams decoded together by one BatchEngine, joining and leaving at
token boundaries.

`BatchScheduler.submit` is thread-safe and returns a `StreamHandle` at once; iterating it yields
that stream's (token id, (real logit, fake logit)) pairs in order, ending after eos, after
`max_new_tokens`, or at the next token once `cancel()` is called. All model work happens on one
scheduler thread, in a loop:

1. streams cancelled before they produced anything are ended; waiting streams are admitted into
   free cache rows (FIFO; prompts of one length prefilled together, up to `prefill_tokens` tokens at
   a time, so a newcomer's prefill sits between two decode steps of the running streams);
2. live rows are compacted to the front of the cache (a row is copied, never recomputed), so the
   step runs the smallest bucket and one stream alone runs on row 0, batch-1's fast path;
3. one decode step over the rows that want a token;
4. results are read back `pipeline_depth` steps behind (on CUDA the GPU keeps working while the
   host hands tokens out) and handed to each stream's queue; a finished stream frees its row.

`stats["max_batch"]` is the most streams one decode step ran; each new high is logged at INFO (at
most `slots` lines), so the app's log shows how many visitors really shared a step.

A failure while preparing one stream (its prompt, its picture) ends that stream alone with the
error; a failure of a shared step ends every stream that was in it. `call(fn)` runs `fn` on the
scheduler thread between two decode steps: attribution maps run there, never seeing the streams'
forward passes. So that a long map (occlusion: hundreds of forward passes) does not freeze the
running streams for its whole duration, `fn` may call `pump(seconds)` between its own batches: the
running streams decode for that long (decode steps only: no newcomer's prefill runs inside a map,
whose hooks on the vision tower and projector would see it).
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

import torch

from .batch_engine import BatchEngine, build_engine
from .tokens import as_list

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Stream:
    inputs: dict
    max_new: int
    vids: tuple[int, int]
    eos: frozenset
    cancel: threading.Event
    needed: int  # cache positions the stream may use: prompt + max_new
    out: queue.Queue = field(default_factory=queue.Queue)
    row: int | None = None
    launched: int = 0  # decode steps launched for it (token 0 comes from the prefill)
    emitted: int = 0
    inflight: int = 0  # unread results that include it
    done: bool = False


class StreamHandle:
    """One stream's tokens in order, as (token id, (real logit, fake logit)); `cancel()` from any thread."""

    def __init__(self, stream: _Stream, wake):
        self._s = stream
        self._wake = wake

    def __iter__(self):
        while True:
            kind, a, b = self._s.out.get()
            if kind == "token":
                yield a, b
            elif kind == "end":
                return
            else:
                raise a

    def cancel(self) -> None:
        self._s.cancel.set()
        self._wake()


class BatchScheduler:
    """Continuous batching of greedy streams over one model (see the module doc).

    slots: streams decoded together (rows of the cache). plan: "auto" (triton's batch-1 kernels
    for a lone stream on CUDA where they build, else torch), "torch" or "triton". cuda_graph: None =
    on CUDA. pipeline_depth: steps in flight before a result is read (None: 2 on CUDA, 1 elsewhere).
    bucket: cache lengths are rounded up to it. prefill_tokens: prompt tokens prefilled in one go.
    """

    def __init__(self, model, *, slots: int = 8, plan: str = "auto", cuda_graph: bool | None = None,
                 pipeline_depth: int | None = None, bucket: int = 256, prefill_tokens: int = 8192,
                 fuse: bool | None = None):  # fmt: skip
        if plan not in ("auto", "torch", "triton"):
            raise ValueError(f"unknown plan '{plan}': use auto, torch or triton")
        self.model = model
        self.slots = max(1, int(slots))
        self.plan, self.cuda_graph, self.bucket, self.fuse = plan, cuda_graph, bucket, fuse
        self.prefill_tokens = max(1, prefill_tokens)
        self.device = next(model.parameters()).device
        on_cuda = self.device.type == "cuda"
        self.depth = max(1, pipeline_depth if pipeline_depth is not None else (2 if on_cuda else 1))
        self.eos = frozenset(as_list(model.generation_config.eos_token_id))
        self.notes: list[str] = []
        self.stats = {"steps": 0, "stepped_rows": 0, "prefills": 0, "prefilled_streams": 0, "max_batch": 0,
                      "moves": 0, "calls": 0}  # fmt: skip
        self.engine: BatchEngine | None = None
        self._fused: dict = {}
        self._cond = threading.Condition()
        self._waiting: collections.deque[_Stream] = collections.deque()
        self._calls: collections.deque = collections.deque()
        self._rows: list[_Stream | None] = [None] * self.slots
        self._active = [False] * self.slots  # host mirror of engine.active
        self._pending: collections.deque = collections.deque()
        self._ring: list[torch.Tensor] = []
        self._ring_i = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- public, any thread ----------------------------------------------------------------------------
    def submit(self, inputs, *, max_new_tokens: int, verdict_ids: tuple[int, int],
               cancel: threading.Event | None = None) -> StreamHandle:  # fmt: skip
        ids = inputs["input_ids"]
        if ids.dim() != 2 or ids.shape[0] != 1:
            raise ValueError("a stream is one prompt: input_ids must be (1, n)")
        s = _Stream(inputs, int(max_new_tokens), (int(verdict_ids[0]), int(verdict_ids[1])), self.eos,
                    cancel or threading.Event(), ids.shape[1] + max(0, int(max_new_tokens)))  # fmt: skip
        handle = StreamHandle(s, self._wake)
        if s.max_new <= 0:
            s.done = True
            s.out.put(("end", None, None))
            return handle
        with self._cond:
            if self._closed:
                raise RuntimeError("the batch scheduler is closed")
            self._waiting.append(s)
            self._start()
            self._cond.notify_all()
        return handle

    def call(self, fn, *args, **kwargs):
        """fn(*args, **kwargs) on the scheduler thread between two decode steps; its result or error."""
        if threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the batch scheduler is closed")
            self._calls.append((fut, fn, args, kwargs))
            self._start()
            self._cond.notify_all()
        return fut.result()

    def pump(self, seconds: float) -> int:
        """Inside a `call`: decode the running streams for about `seconds` (at least one step when a
        stream wants a token), then hand out their tokens; the number of steps. Anywhere else: 0."""
        if threading.current_thread() is not self._thread or self.engine is None:
            return 0
        deadline = time.perf_counter() + max(0.0, seconds)
        steps = 0
        with torch.inference_mode():
            while True:
                self._tick(admit=False)
                steps += 1
                if not any(s is not None and not s.done for s in self._rows) or time.perf_counter() >= deadline:
                    break
            self._drain()
        self.stats["pumped_steps"] = self.stats.get("pumped_steps", 0) + steps
        return steps

    def warmup(self, needed: int) -> BatchEngine:
        """Build (and on CUDA capture) the engine for streams of up to `needed` tokens."""
        return self.call(self._ensure_engine, needed)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def describe(self) -> dict:
        eng = self.engine
        return {"backend": "batched", "slots": self.slots, "plan": eng.plan if eng else None,
                "cuda_graph": bool(eng and eng.graphs), "buckets": eng.buckets if eng else [],
                "cache_length": eng.max_len if eng else None, "pipeline_depth": self.depth,
                "notes": list(self.notes) + (list(eng.notes) if eng else []), **self.stats}  # fmt: skip

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="spot-batch", daemon=True)
            self._thread.start()

    # -- the scheduler thread --------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not (self._closed or self._waiting or self._calls or self._pending or any(self._rows)):
                    self._cond.wait(timeout=1.0)
                if self._closed:
                    break
                calls = list(self._calls)
                self._calls.clear()
            try:
                if calls:
                    self._drain()
                    for fut, fn, args, kwargs in calls:
                        self._run_call(fut, fn, args, kwargs)
                with torch.inference_mode():
                    self._tick()
            except BaseException as exc:  # noqa: BLE001 - a shared step failed: end its streams, keep serving
                log.exception("batched decoding failed")
                self._fail_all(exc)
        closed = RuntimeError("the batch scheduler was closed")
        self._fail_all(closed)
        with self._cond:
            waiting, self._waiting = list(self._waiting), collections.deque()
            calls, self._calls = list(self._calls), collections.deque()
        for s in waiting:
            self._end(s, closed)
        for fut, *_ in calls:
            fut.set_exception(closed)

    def _run_call(self, fut, fn, args, kwargs) -> None:
        if not fut.set_running_or_notify_cancel():
            return
        self.stats["calls"] += 1
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            fut.set_exception(exc)

    def _tick(self, admit: bool = True) -> None:
        self._reap()
        if admit:
            self._admit()
        self._compact()
        launched = self._launch()
        while self._pending and (len(self._pending) >= self.depth or not launched):
            self._deliver(self._pending.popleft())

    def _drain(self) -> None:
        while self._pending:
            self._deliver(self._pending.popleft())

    def _reap(self) -> None:
        for s in self._rows:
            if s is not None and not s.done and s.cancel.is_set() and s.inflight == 0:
                self._end(s)
        with self._cond:
            gone = [s for s in self._waiting if s.cancel.is_set()]
            for s in gone:
                self._waiting.remove(s)
        for s in gone:
            self._end(s)

    def _admit(self) -> None:
        free = [r for r, s in enumerate(self._rows) if s is None]
        group: list[_Stream] = []
        with self._cond:
            if not self._waiting or not free:
                return
            head = self._waiting[0]
            if self.engine is None or head.needed > self.engine.max_len:
                if any(self._rows) or self._pending:
                    return  # a longer cache is built once the running streams are done
                needed = head.needed
            else:
                needed = 0
            tokens = 0
            while self._waiting and len(group) < len(free):
                s = self._waiting[0]
                n = s.inputs["input_ids"].shape[1]
                if group and (s.needed > max(needed, self.engine.max_len if self.engine else 0)
                              or tokens + n > self.prefill_tokens):  # fmt: skip
                    break
                group.append(self._waiting.popleft())
                tokens += n
        if needed:
            self._ensure_engine(needed)
        by_length: dict[int, list[tuple[_Stream, torch.Tensor]]] = {}
        for s in group:
            try:
                embeds = self.engine.embeddings(self.model, s.inputs)
            except Exception as exc:  # noqa: BLE001 - this visitor's input: it ends this stream only
                self._end(s, exc)
                continue
            by_length.setdefault(embeds.shape[1], []).append((s, embeds))
        for members in by_length.values():
            rows = [free.pop(0) for _ in members]
            try:
                out = self.engine.prefill([e for _, e in members], rows, [s.vids for s, _ in members])
            except Exception as exc:  # noqa: BLE001 - e.g. a prompt longer than the cache
                self.engine.reset(torch.tensor(rows, device=self.device))
                free[:0] = rows
                for s, _ in members:
                    self._end(s, exc)
                continue
            for (s, _), r in zip(members, rows, strict=True):
                s.row, self._rows[r], self._active[r] = r, s, True
                s.inflight += 1
            self._pending.append(self._readback(out, [(i, s) for i, (s, _) in enumerate(members)]))
            self.stats["prefills"] += 1
            self.stats["prefilled_streams"] += len(members)

    def _compact(self) -> None:
        """Move the last live row into the first free one until the live rows are 0..k-1."""
        while True:
            live = [r for r, s in enumerate(self._rows) if s is not None]
            if not live:
                return
            holes = [r for r in range(len(live)) if self._rows[r] is None]
            if not holes:
                return
            src, dst = live[-1], holes[0]
            s = self._rows[src]
            self.engine.move_row(src, dst)
            self._rows[dst], self._rows[src] = s, None
            self._active[dst], self._active[src] = self._active[src], False
            self.engine.reset(torch.tensor([src], device=self.device))
            s.row = dst
            self.stats["moves"] += 1

    def _launch(self) -> bool:
        want = [r for r, s in enumerate(self._rows)
                if s is not None and not s.done and not s.cancel.is_set() and s.launched < s.max_new - 1]  # fmt: skip
        if not want:
            return False
        eng = self.engine
        b = eng.bucket(want[-1] + 1)
        wanted = set(want)
        still = [r for r in range(b) if self._active[r] and r not in wanted]
        if still:  # rows that need no more tokens stop moving (their outputs are not read)
            eng.active.index_fill_(0, torch.tensor(still, device=self.device), 0)
            for r in still:
                self._active[r] = False
        eng.step(b)
        items = []
        for r in want:
            s = self._rows[r]
            s.launched += 1
            s.inflight += 1
            items.append((r, s))
        self._pending.append(self._readback(eng.packed[:b], items))
        self.stats["steps"] += 1
        self.stats["stepped_rows"] += len(want)
        if len(want) > self.stats["max_batch"]:  # a new high: the app's log says how many ran together
            self.stats["max_batch"] = len(want)
            log.info("batched decoding: the most streams in one decode step so far: %d", len(want))
        return True

    def _readback(self, values: torch.Tensor, items: list) -> tuple:
        """values copied off the device now (asynchronously on CUDA), read when delivered."""
        if self.device.type != "cuda":
            return values.clone(), None, items
        if not self._ring:  # enough pinned buffers for every result that can be unread at once
            self._ring = [torch.zeros(self.slots, 3, pin_memory=True) for _ in range(2 * self.slots + self.depth + 2)]
        host = self._ring[self._ring_i][: values.shape[0]]
        self._ring_i = (self._ring_i + 1) % len(self._ring)
        host.copy_(values, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        return host, event, items

    def _deliver(self, entry: tuple) -> None:
        host, event, items = entry
        if event is not None:
            event.synchronize()
        values = host.tolist()
        for i, s in items:
            s.inflight -= 1
            if s.done:
                continue
            tok, real, fake = values[i]
            tok = int(tok)
            s.out.put(("token", tok, (real, fake)))
            s.emitted += 1
            if tok in s.eos or s.emitted >= s.max_new or s.cancel.is_set():
                self._end(s)

    def _end(self, s: _Stream, error: BaseException | None = None) -> None:
        if s.done:
            return
        s.done = True
        s.out.put(("error", error, None) if error is not None else ("end", None, None))
        if s.row is not None:
            r, s.row = s.row, None
            self._rows[r] = None
            self._active[r] = False
            if self.engine is not None:
                self.engine.reset(torch.tensor([r], device=self.device))

    def _fail_all(self, exc: BaseException) -> None:
        for s in [s for s in self._rows if s is not None]:
            self._end(s, exc)
        for _, _, items in self._pending:
            for _, s in items:
                self._end(s, exc)
        self._pending.clear()

    # -- building the engine ---------------------------------------------------------------------------
    def _ensure_engine(self, needed: int) -> BatchEngine:
        if self.engine is not None and self.engine.max_len >= needed:
            return self.engine
        if any(self._rows) or self._pending:
            raise RuntimeError("the cache cannot grow while streams are running")
        max_len = -(-needed // self.bucket) * self.bucket
        self.engine = None  # the old cache is freed before the new one is allocated
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        t0 = time.perf_counter()
        with torch.inference_mode():
            self.engine = build_engine(self.model, max_len, self.slots, plan=self.plan, cuda_graph=self.cuda_graph,
                                       fuse=self.fuse, fused=self._fused, note=self._note)
        self._ring = []
        self.stats["setup_s"] = time.perf_counter() - t0
        return self.engine

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            log.warning("batched decoding: %s", text)
