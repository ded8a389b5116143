"""Turning a loaded Detector's decoding into continuous batching (`--batch-decode`).

`use_batching(detector, mode)` wraps the detector's backend in explain.decoding's BatchedBackend
when the mode says so, keeping the serial backend as its fallback, and says how many streams are
decoded together. "auto" batches on a CUDA device (not on ZeroGPU, where every call is a process of
its own) for a model the engine supports; "on" wherever the model is supported (CPU tests, the
benchmark); "off" never. The detector's `stream` is unchanged: each request still runs on its own
thread and receives its own tokens.
"""

from __future__ import annotations

import logging
import time

from .loader import on_zero_gpu

log = logging.getLogger(__name__)

MODES = ("auto", "on", "off")
CPU_STREAMS = 4  # "on" on a CPU without a stream count: enough to prove the batch, cheap to allocate


def use_batching(detector, mode: str = "auto", *, max_new_tokens: int = 256, streams: int | None = None) -> int:
    """Batch `detector`'s decoding if `mode` says so; the number of streams decoded together (1: serial).

    streams: rows of the batch (default: what the GPU's free memory allows, capped; CPU_STREAMS on a CPU).
    """
    if mode not in MODES:
        raise ValueError(f"unknown batch mode {mode!r}: use auto, on or off")
    backend = getattr(detector, "backend", None)
    if mode == "off" or backend is None:
        return 1
    if hasattr(backend, "between_steps"):  # batched already
        return backend.slots
    on_cuda = getattr(getattr(detector, "device", None), "type", None) == "cuda"
    if mode == "auto" and (not on_cuda or on_zero_gpu() or not hasattr(backend, "warmup")):
        return 1  # auto batches only where the static engine already decodes (a dedicated GPU)
    from ..decoding import BatchedBackend, streams_for_memory, unsupported_reason

    reason = unsupported_reason(detector.model)
    if reason is not None:
        log.warning("batched decoding is off because %s", reason)
        return 1
    if streams is None:
        prompt = detector.prepare(_grey())["input_ids"].shape[1] if on_cuda else 0
        streams = streams_for_memory(detector.model, prompt + max_new_tokens) if on_cuda else CPU_STREAMS
    detector.backend = BatchedBackend(slots=max(1, int(streams)), fallback=backend)
    log.info("batched decoding: up to %d streams together", detector.backend.slots)
    return detector.backend.slots


def between_steps(detector, fn, *args, **kwargs):
    """fn(*args, **kwargs) between two decode steps of the detector's batch (on its scheduler
    thread), or right here when the detector decodes serially."""
    run = getattr(detector.backend, "between_steps", None)
    if run is None:
        return fn(*args, **kwargs)
    return run(detector.model, fn, *args, **kwargs)


def _grey():
    from PIL import Image

    return Image.new("RGB", (336, 336), (128, 128, 128))


def sharing_turns(detector, cancel=None):
    """A `cancel` callback for work run by `between_steps` (attribution asks it between its batches)
    that first gives the batch's running streams as long as the work took since the last turn, so a
    long map and the streams share the GPU half and half instead of the streams standing still. It
    answers what `cancel` answers (False without one). Serially decoding detectors get `cancel` back."""
    pump = getattr(detector.backend, "pump", None)
    if pump is None:
        return cancel
    last = [time.perf_counter()]

    def turn() -> bool:
        pump(time.perf_counter() - last[0])
        last[0] = time.perf_counter()
        return bool(cancel()) if cancel is not None else False

    return turn
