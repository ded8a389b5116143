"""Progress and cancellation of an attribution run, in units of work a caller can count.

`attribute()` reports through one `(fraction, message)` callback. The message is a `Step`: a string
for people ("occlusion 96/577") that also carries the stage and its counts, so a caller can say
"96 of 577 positions" in its own words and language. The fraction weighs each stage by its work
(image copies rescored), so elapsed time / fraction is an honest estimate of the whole run.

A `cancel` callable, asked between batches (each progress report), stops the run by raising
`AttributionCancelled`; nothing is returned and the model is free again within one batch.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]


class AttributionCancelled(Exception):  # noqa: N818 - reads as what happened, like KeyboardInterrupt
    """The caller asked the attribution to stop (raised between batches)."""


class Step(str):
    """A progress message that also says which stage ran how many of its units (`done` of `total`)."""

    stage: str
    done: int
    total: int

    def __new__(cls, stage: str, done: int, total: int, text: str | None = None) -> Step:
        self = super().__new__(cls, text or f"{stage} {done}/{total}")
        self.stage, self.done, self.total = stage, int(done), int(total)
        return self

    def __reduce__(self):  # pickles (a ZeroGPU call's progress crosses processes) with its counts
        return (Step, (self.stage, self.done, self.total, str(self)))


def work_units(method: str, *, phrases: int, grid: int, ig_steps: int, faithfulness_steps: int,
               with_faithfulness: bool) -> tuple[int, int]:
    """(map units, faithfulness units): image copies each stage rescores, the weights of the
    progress fraction. A gradient map counts as three copies (a forward and a backward pass)."""
    if method == "occlusion":
        maps = grid * grid + 1
    elif method == "ig":
        maps = 3 * phrases * ig_steps
    else:
        maps = 1 + 2 * phrases
    faith = 2 + 3 * phrases * max(0, faithfulness_steps - 1) if with_faithfulness else 0
    return maps, faith


class Stages:
    """One progress callback over the stages (maps, then faithfulness), weighted by their work, and
    the cancellation check between batches."""

    def __init__(self, progress: Progress | None, units: tuple[int, int],
                 cancel: Callable[[], bool] | None = None):
        self.progress = progress
        self.cancel = cancel
        maps, faith = units
        self.split = maps / max(1, maps + faith)

    def check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise AttributionCancelled("attribution cancelled")

    def _report(self, fraction: float, message: str, stage: str) -> None:
        self.check()
        if self.progress:
            self.progress(fraction, message if isinstance(message, Step) else _step(stage, message))
            self.check()  # a cancel that arrived while the caller handled the report: no next batch

    def maps(self, fraction: float, message: str) -> None:
        self._report(self.split * fraction, message, "maps")

    def faithfulness(self, fraction: float, message: str) -> None:
        self._report(self.split + (1.0 - self.split) * fraction, message, "faithfulness")

    def done(self) -> None:
        if self.progress:
            self.progress(1.0, Step("done", 1, 1, "maps ready"))


def _step(stage: str, message: str) -> Step:
    """The Step of a method's own message ("occlusion 96/576"): its last "done/total" counts."""
    words = str(message).split()
    name = words[0] if words and stage == "maps" else stage
    if words and "/" in words[-1]:
        done, _, total = words[-1].partition("/")
        if done.isdigit() and total.isdigit():
            return Step(name, int(done), int(total), str(message))
    return Step(name, 0, 0, str(message))
