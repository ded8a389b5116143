"""GPU scheduling: the ZeroGPU decorator, the model lock, and the worker that runs the detector.

On ZeroGPU the GPU exists only inside `spaces.GPU` calls, each run in a process forked from this
one; `ModelWorker` wraps the detector's two GPU verbs (stream an answer, attribute it) so that only
their arguments cross into that process, never the model. Everywhere else the wrappers are the
plain functions. `ModelLock` lets explanations share the model while attributions get it alone.

ZeroGPU checks the duration a call asks for against the visitor's remaining daily quota before it
starts (an anonymous visitor has about two minutes a day), so each call asks for what its own work
needs (`stream_seconds`, `attribute_seconds`: `spaces.GPU(duration=callable)` calls them with the
call's arguments), never more than `MAX_CALL_S`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from math import ceil
from typing import Any

from explain.intake import CheckedImage
from explain.types import Explanation, PhraseMap

from .progress import WorkCancelled

# Costs with FakeVLM's shape on an H200, in forked calls (bench/ZEROGPU_RESULTS.md), with margin:
# `generate` streamed 12.4-14.5 tokens/s, the static engine 243 tokens/s after building itself in
# the call (6.1 s to the first token with cold kernels, 1.6 s with them on disk); maps for 10
# phrases took 11.2 s (gradient), 11.5 s (occlusion 12x12), 19.8 s (24x24), each with 2-6 s of
# fork and weights' move, which START_S covers.
START_S = 8
ENGINE_S = 8  # the static engine's build and graph capture inside the call
TOKENS_PER_S = 10.0  # plain generate
FAST_TOKENS_PER_S = 100.0  # the static engine
PHRASE_S = 1.0  # a gradient map, its reliance scoring and faithfulness curve
CELL_S = 0.03
MIN_CALL_S = 10
MAX_CALL_S = 60  # half an anonymous visitor's ~120 s daily quota: an answer and its maps both fit


def _clamp(seconds: float) -> int:
    return int(min(MAX_CALL_S, max(MIN_CALL_S, ceil(seconds))))


def stream_seconds(checked: Any, max_new_tokens: int, *args: Any, fast: bool = False, **kwargs: Any) -> int:
    """GPU seconds to ask for one streamed answer of at most `max_new_tokens` tokens; `fast` when
    the static engine decodes (built in the call, then much faster than `generate`)."""
    if fast:
        return _clamp(START_S + ENGINE_S + max_new_tokens / FAST_TOKENS_PER_S)
    return _clamp(START_S + max_new_tokens / TOKENS_PER_S)


def attribute_seconds(checked: Any, explanation: Explanation, method: str, *args: Any, grid: int = 24,
                      **kwargs: Any) -> int:
    """GPU seconds to ask for one answer's maps: per phrase, plus per occlusion cell (grid x grid)."""
    phrases = len(getattr(explanation, "phrases", ())) + 1  # the verdict sentence may be mapped too
    cells = grid * grid if method == "occlusion" else 0
    return _clamp(START_S + phrases * PHRASE_S + cells * CELL_S)


def gpu(duration: int | Callable[..., int]) -> Callable[[Callable], Callable]:
    """`spaces.GPU(duration=...)` on Hugging Face ZeroGPU; elsewhere the function itself. `duration`
    may be a callable: ZeroGPU calls it with the call's own arguments to price that call.

    The `spaces` package makes its decorator a no-op off ZeroGPU; importing it is guarded so the app
    also runs where it is not installed.
    """
    try:
        import spaces  # noqa: PLC0415 - optional, and it must be imported after gradio
    except Exception:  # noqa: BLE001 - not installed, or refuses to import in this process
        return lambda fn: fn
    return spaces.GPU(duration=duration)


@dataclass(frozen=True)
class ProgressReporter:
    """Adapts a progress bar called as `target(fraction, desc=message)` (Gradio's) to the
    `(fraction, message)` callback the attribution takes. Picklable when its target is, so it can
    cross into a ZeroGPU worker process with the other arguments."""

    target: Any

    def __call__(self, fraction: float, message: str) -> None:
        self.target(fraction, desc=message)


class ModelLock:
    """Explanations may share the model; attributions need it alone (writer-preferring RW lock).

    Captum hooks the model's modules while it attributes, and such hooks fire for every forward
    pass through the module, from any thread: a generation running beside an attribution would
    corrupt its maps (or break its backward pass). Generation alone is safe to overlap.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _FreeLock:
    """ModelLock's interface with nothing to wait for: with batched decoding every model pass, maps
    included, runs on the batch's one scheduler thread, which already keeps them apart."""

    @contextmanager
    def shared(self) -> Iterator[None]:
        yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        yield


class ModelWorker:
    """The detector and its GPU calls, as the service uses them.

    Bound methods wrapped by `gpu()`: on ZeroGPU only their arguments (picture, answer, method) are
    pickled into the GPU worker, never the model, which the forked worker already has.

    batch_decode ("auto", "on", "off"): decode concurrent explanations in one continuous batch
    (explain.model.use_batching); `streams` is then how many run together, and maps run between
    two decode steps instead of waiting for every stream to end. `model_lock` is the lock the
    service takes around the model: a ModelLock when decoding is serial.
    """

    def __init__(self, detector: Any, occlusion_grid: int, *, batch_decode: str = "off",
                 max_new_tokens: int = 256, streams: int | None = None) -> None:
        self.detector = detector
        self.occlusion_grid = occlusion_grid
        self.streams = 1
        self.batched = False
        if batch_decode != "off":
            from explain.model import use_batching  # noqa: PLC0415 - loads torch, only when asked

            self.streams = use_batching(detector, batch_decode, max_new_tokens=max_new_tokens, streams=streams)
            self.batched = hasattr(detector.backend, "between_steps")
            if self.batched and getattr(detector, "warm", False):
                detector.warmup(max_new_tokens)  # the batch's cache and graphs, before the first visitor
        self.model_lock: ModelLock | _FreeLock = _FreeLock() if self.batched else ModelLock()
        fast = hasattr(detector.backend, "warmup")  # only the static engines have something to warm
        self.stream = gpu(duration=partial(stream_seconds, fast=fast))(self._stream_impl)
        self.attribute = gpu(duration=partial(attribute_seconds, grid=occlusion_grid))(self._attribute_impl)

    def _stream_impl(self, checked: CheckedImage, max_new_tokens: int) -> Iterator[Any]:
        yield from self.detector.stream(checked, max_new_tokens=max_new_tokens)

    def _attribute_impl(self, checked: CheckedImage, explanation: Explanation, method: str,
                        progress: Callable[[float, str], None] | None,
                        cancel: Callable[[], bool] | None = None) -> list[PhraseMap]:
        """The maps; `cancel()` is asked between batches, and True ends the work with WorkCancelled."""
        from explain.attribution import AttributionCancelled, attribute  # noqa: PLC0415 - loaded when first needed

        try:
            if self.batched:  # between two decode steps; the running streams get every other turn
                from explain.model import between_steps, sharing_turns  # noqa: PLC0415

                return between_steps(self.detector, attribute, self.detector, checked, explanation, method,
                                     progress=progress, cancel=sharing_turns(self.detector, cancel),
                                     grid=self.occlusion_grid)
            return attribute(self.detector, checked, explanation, method, progress=progress, cancel=cancel,
                             grid=self.occlusion_grid)
        except AttributionCancelled:
            raise WorkCancelled(method) from None

    @property
    def model_id(self) -> str:
        return getattr(self.detector, "model_id", "?")

    @property
    def revision(self) -> str | None:
        return getattr(self.detector, "revision", None)

    @property
    def notice(self) -> str | None:
        return getattr(self.detector, "notice", None)

    @property
    def license(self) -> str:
        return getattr(self.detector, "license", "")

    @property
    def is_toy(self) -> bool:
        return bool(getattr(self.detector, "is_toy", False))
