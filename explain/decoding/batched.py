"""The batched backend: the backend interface (`run`, `warmup`) over a continuous-batching
scheduler, so that the Detector's requests, each on its own thread, decode together.

`BatchedBackend.run` submits the request as one stream and hands its tokens to `emit` as they come,
exactly like the serial backends; what the model cannot batch (another architecture, padded or
batched inputs, generation settings the engine does not honour) goes to `fallback`, the serial
backend the detector had. `between_steps(fn)` runs other model work (attribution) on the
scheduler's thread between decode steps. `streams_for_memory` sizes the batch to the GPU.
"""

from __future__ import annotations

import logging
import threading
import time

from .generate import GenerateBackend
from .layout import layout_of, unsupported_reason
from .scheduler import BatchScheduler

log = logging.getLogger(__name__)

MAX_STREAMS = 16  # more rows buy little once a step is bound by compute, and cost first-token latency
RESERVE_BYTES = 8 * 2**30  # left free for attribution maps, the vision tower and activations


def streams_for_memory(model, max_len: int, *, free_bytes: int | None = None, reserve_bytes: int = RESERVE_BYTES,
                       cap: int = MAX_STREAMS) -> int:  # fmt: skip
    """How many streams of `max_len` tokens fit in the GPU's free memory beside `reserve_bytes`
    (1 on CPU, where the batcher is not the default). Not yet measured on a GPU."""
    import torch

    device = next(model.parameters()).device
    if free_bytes is None:
        if device.type != "cuda":
            return 1
        free_bytes, _ = torch.cuda.mem_get_info(device)
    lay = layout_of(model)
    elem = lay.embed.weight.element_size()
    per_stream = 2 * len(lay.layers) * lay.n_kv * lay.head_dim * max_len * elem
    return int(max(1, min(cap, (free_bytes - reserve_bytes) // max(per_stream, 1))))


class BatchedBackend:
    """Greedy decoding of concurrent requests in one continuous batch (see the module doc).

    slots: streams decoded together; the rest of `scheduler_options` goes to BatchScheduler.
    """

    name = "batched"

    def __init__(self, *, slots: int = 8, fallback=None, **scheduler_options):
        self.slots = max(1, int(slots))
        self.fallback = fallback if fallback is not None else GenerateBackend()
        self.options = scheduler_options
        self._lock = threading.Lock()
        self._scheduler: BatchScheduler | None = None
        self._model_id: int | None = None
        self._reasons: dict[int, str | None] = {}

    def scheduler(self, model) -> BatchScheduler:
        with self._lock:
            if self._scheduler is None or self._model_id != id(model):
                if self._scheduler is not None:
                    self._scheduler.close()
                self._scheduler = BatchScheduler(model, slots=self.slots, **self.options)
                self._model_id = id(model)
            return self._scheduler

    def run(self, model, inputs, *, max_new_tokens: int, verdict_ids: tuple[int, int], cancel, emit) -> None:
        reason = self._reason(model, inputs)
        if reason is not None:
            self.fallback.run(model, inputs, max_new_tokens=max_new_tokens, verdict_ids=verdict_ids,
                              cancel=cancel, emit=emit)  # fmt: skip
            return
        handle = self.scheduler(model).submit(inputs, max_new_tokens=max_new_tokens, verdict_ids=verdict_ids,
                                              cancel=cancel)  # fmt: skip
        finished = False
        try:
            for tok, pair in handle:
                emit(tok, pair)
            finished = True
        finally:
            if not finished:  # emit failed or the caller went away: free the row at the next token
                handle.cancel()

    def warmup(self, model, inputs, *, max_new_tokens: int = 256) -> float:
        """Build the engine (and on CUDA capture its graphs) for requests like `inputs`; seconds."""
        t0 = time.perf_counter()
        if self._reason(model, inputs) is None:
            self.scheduler(model).warmup(inputs["input_ids"].shape[1] + max_new_tokens)
        return time.perf_counter() - t0

    def between_steps(self, model, fn, *args, **kwargs):
        """fn(*args, **kwargs) on the scheduler's thread, between two decode steps of the batch."""
        return self.scheduler(model).call(fn, *args, **kwargs)

    def pump(self, seconds: float) -> int:
        """Inside `between_steps`: let the running streams decode for about `seconds` (BatchScheduler.pump)."""
        sched = self._scheduler
        return sched.pump(seconds) if sched is not None else 0

    def describe(self) -> dict:
        sched = self._scheduler
        return sched.describe() if sched is not None else {"backend": self.name, "slots": self.slots}

    def close(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.close()
                self._scheduler = None

    def _reason(self, model, inputs) -> str | None:
        key = id(model)
        if key not in self._reasons:
            self._reasons[key] = unsupported_reason(model)
            if self._reasons[key]:
                log.warning("batched decoding: serial decoding is used because %s", self._reasons[key])
        if self._reasons[key]:
            return self._reasons[key]
        ids, mask = inputs["input_ids"], inputs.get("attention_mask")
        if ids.dim() != 2 or ids.shape[0] != 1 or (mask is not None and not bool(mask.all())):
            return "the inputs are batched or padded"
        return None
