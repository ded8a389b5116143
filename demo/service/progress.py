"""Long work with progress, an honest estimate and a cancel that stops it.

`run_with_progress(work, ...)` runs `work(report, cancel)` in a thread and yields `WorkProgress`
snapshots while it runs, then its result. The estimate comes from the work itself: the attribution
reports the fraction of its units (image copies rescored) done, and the time left is the measured
seconds per unit times the units left; before the first batch is measured it is the speed of the
previous run of the same kind on this server (`Speeds`), or none. Closing the generator (Gradio
closes it when a visitor cancels the event or leaves) cancels the work, which the attribution sees
between batches; so does `Cancels.cancel(key)` (a page's Cancel button).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..i18n import tr

POLL_S = 0.25  # how often the waiting generator looks at the work's reports
HEARTBEAT_S = 1.0  # the longest it goes without a snapshot (the countdown, and a chance to cancel)


class CancelToken:
    """A flag the page's cancel sets and the work asks between batches (`token()` -> bool)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def __reduce__(self):
        # a ZeroGPU call runs in another process, which a flag set here cannot reach: it crosses as
        # a fresh token, and that call runs to its end (its duration is bounded by gpu.MAX_CALL_S)
        return (CancelToken, ())


class Reporter:
    """The work's `(fraction, message)` callback: puts timed reports on the waiting side's queue."""

    def __init__(self, sink: queue.Queue | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._sink, self._clock = sink, clock

    def __call__(self, fraction: float, message: str) -> None:
        if self._sink is not None:
            self._sink.put((self._clock(), float(fraction), message))

    def __reduce__(self):
        # like CancelToken: a ZeroGPU call's reports cannot reach this process; the page shows the
        # waiting line (with the estimate from earlier runs) until the call returns
        return (Reporter, ())


class WorkCancelled(Exception):  # noqa: N818 - reads as what happened
    """The work was cancelled before it finished."""


@dataclass(frozen=True)
class WorkProgress:
    """One snapshot of running work. `stage`: "waiting" (for the model), a method's stage
    ("occlusion", "gradient", "integrated", "faithfulness", "maps") or "done"."""

    stage: str
    fraction: float = 0.0
    done: int = 0
    total: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None  # None: not measured yet
    result: Any = None


class Speeds:
    """Seconds per unit of work, measured by the last finished run of each kind on this server."""

    def __init__(self) -> None:
        self._s: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> float | None:
        with self._lock:
            return self._s.get(kind)

    def record(self, kind: str, seconds_per_unit: float) -> None:
        if seconds_per_unit > 0:
            with self._lock:
                self._s[kind] = seconds_per_unit


def estimate(fraction: float, elapsed_s: float, units: float | None = None,
             prior_s_per_unit: float | None = None) -> float | None:
    """Seconds left: measured (elapsed / fraction x what is left) once some work is done; before
    that the prior speed times the work's size, or None when neither is known."""
    if fraction > 0 and elapsed_s > 0:
        return max(0.0, elapsed_s / fraction * (1.0 - fraction))
    if prior_s_per_unit and units:
        return prior_s_per_unit * units
    return None


class Cancels:
    """The running cancellable work of each page (key), so that a Cancel click reaches it."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._tokens: OrderedDict[str, CancelToken] = OrderedDict()
        self._lock = threading.Lock()
        self.max_keys = max_keys

    def open(self, key: str | None) -> CancelToken:
        token = CancelToken()
        if key:
            with self._lock:
                old = self._tokens.pop(key, None)
                self._tokens[key] = token
                while len(self._tokens) > self.max_keys:
                    self._tokens.popitem(last=False)
            if old is not None:  # one piece of long work a page: a new one replaces the old
                old.cancel()
        return token

    def close(self, key: str | None, token: CancelToken) -> None:
        if key:
            with self._lock:
                if self._tokens.get(key) is token:
                    del self._tokens[key]

    def cancel(self, key: str | None) -> bool:
        """Cancel the page's running work; False when it has none."""
        with self._lock:
            token = self._tokens.pop(key, None) if key else None
        if token is None:
            return False
        token.cancel()
        return True


def run_with_progress(work: Callable[[Callable[[float, str], None], CancelToken], Any], *, kind: str,
                      units: float | None, speeds: Speeds, token: CancelToken | None = None,
                      clock: Callable[[], float] = time.monotonic) -> Iterator[WorkProgress]:
    """Run `work(report, token)` in a thread; yield "waiting" until its first report, then a
    snapshot per report (at most every POLL_S), and last a "done" snapshot holding the result.
    The clock starts at the first report: waiting for the model is not the work's speed."""
    token = token or CancelToken()
    reports: queue.Queue = queue.Queue()
    outcome: dict[str, Any] = {}

    report = Reporter(reports, clock)

    def run() -> None:
        try:
            outcome["result"] = work(report, token)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting generator, raised there
            outcome["error"] = exc
        reports.put(None)

    thread = threading.Thread(target=run, name=f"spot-{kind}", daemon=True)
    thread.start()
    started: float | None = None
    first = 0.0
    try:
        last = WorkProgress("waiting", eta_s=estimate(0.0, 0.0, units, speeds.get(kind)))
        last_at = clock()
        yield last
        finished = False
        while not finished:
            latest = None
            try:
                item = reports.get(timeout=POLL_S)
                while True:  # only the newest report counts; the others are already out of date
                    if item is None:
                        finished = True
                        break
                    latest = item
                    item = reports.get_nowait()
            except queue.Empty:
                pass
            if finished:
                continue
            if latest is None:
                # a heartbeat between slow batches: the time left counts down, and a cancel (which
                # Gradio delivers by closing this generator between two yields) is never kept waiting
                now = clock()
                if now - last_at >= HEARTBEAT_S:
                    ticking = last.stage != "waiting" and last.eta_s is not None
                    last = replace(last, elapsed_s=last.elapsed_s + (now - last_at) if started else 0.0,
                                   eta_s=max(0.0, last.eta_s - (now - last_at)) if ticking else last.eta_s)
                    last_at = now
                    yield last
                continue
            at, fraction, message = latest
            if started is None:  # the first report starts the clock; work before it is not measured
                started, first = at, fraction
            elapsed = at - started
            stage = getattr(message, "stage", "maps")
            stage = "maps" if stage == "done" else stage  # "done" is said once, with the result in hand
            if fraction > first and elapsed > 0:  # measured: seconds per unit of this run
                eta = elapsed / (fraction - first) * (1.0 - fraction)
            else:
                eta = estimate(0.0, 0.0, units * (1 - fraction) if units else None, speeds.get(kind))
            last = WorkProgress(stage, fraction, getattr(message, "done", 0), getattr(message, "total", 0),
                                elapsed, eta)
            last_at = clock()
            yield last
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        if started is not None and units and first < 1.0:
            speeds.record(kind, (clock() - started) / (units * (1.0 - first)))
        yield WorkProgress("done", 1.0, elapsed_s=0.0 if started is None else clock() - started,
                           eta_s=0.0, result=outcome.get("result"))
    finally:
        token.cancel()  # a no-op once finished; stops the work when the consumer walked away


# ---------------------------------------------------------------------- words for the status line
def duration_text(seconds: float, lang: str | None = None) -> str:
    s = max(1, round(seconds))
    if s < 60:
        return tr("dur_s", lang, s=s)
    return tr("dur_min", lang, m=s // 60, s=s % 60)


def progress_text(p: WorkProgress, lang: str | None = None) -> str:
    """The status line's sentence for a snapshot of the maps' work."""
    percent = round(100 * p.fraction)
    if p.stage == "waiting":
        head = tr("prog_waiting", lang)
    elif p.stage == "occlusion" and p.total:
        head = tr("prog_occlusion", lang, done=p.done, total=p.total, percent=percent)
    elif p.stage == "gradient" and p.total:
        head = tr("prog_gradient", lang, done=p.done, total=p.total, percent=percent)
    elif p.stage == "faithfulness":
        head = tr("prog_faithfulness", lang, percent=percent)
    else:
        head = tr("prog_maps", lang, percent=percent)
    eta = tr("prog_eta_measuring", lang) if p.eta_s is None else tr("prog_eta", lang,
                                                                      time=duration_text(p.eta_s, lang))
    return f"{head} · {eta}  \n{tr('prog_cancel_hint', lang)}"


def stream_text(pieces: int, elapsed_s: float, max_tokens: int, lang: str | None = None) -> str:
    """The status line while the answer streams: an upper bound of the time left, from the measured
    pace (pieces of text are at most one a token, so both the pace and the bound err on the long side)."""
    if pieces < 2 or elapsed_s <= 0:
        return tr("status_streaming", lang)
    left = max(0, max_tokens - pieces) * elapsed_s / pieces
    return tr("prog_stream", lang, seconds=round(elapsed_s), time=duration_text(left, lang))
