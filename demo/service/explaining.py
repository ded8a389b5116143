"""Explaining a picture: check the upload, stream the model's answer, store it, then its maps.

The verbs of `AppState` (demo/service/state.py) that run the model. Snapshots (`ExplainView`) go
back to the UI as the answer grows; the finished analysis stays in the results cache for maps and
feedback.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

from explain.intake import CheckedImage, ImageRejected, load_image_file, model_view
from explain.phrases import split_phrases
from explain.types import Explanation, PhraseMap, TextDelta, VerdictReady
from storage import MapIn, PhraseSpan, PredictionIn, StorageError

from ..i18n import EN, current, t
from .errors import UserError
from .progress import WorkCancelled, WorkProgress, run_with_progress
from .results import Analysis, ExplainView, held_bytes
from .visitors import Visitor

log = logging.getLogger(__name__)

METHODS = ("gradient", "occlusion")


def finished_phrases(text: str, final: bool) -> tuple[str, ...]:
    """The phrases of a partial answer that are complete (all of them once the answer is final)."""
    phrases = split_phrases(text, [])
    if not phrases:
        return ()
    texts = tuple(p.text for p in phrases)
    if final or text.rstrip().endswith((".", "!", "?", ";", ":")):
        return texts
    return texts[:-1]


def read_provenance_json(data: bytes, c2pa_trust: str | None = None) -> dict | None:
    """Provenance findings of the original bytes as JSON, or None when the reader is unavailable.

    Reading metadata must never stop an explanation: any failure becomes an error entry.
    """
    try:
        from explain.provenance import cached_trust, read_provenance  # noqa: PLC0415
    except ImportError:
        return None
    try:
        return read_provenance(data, c2pa_trust=cached_trust(c2pa_trust)).to_json()
    except Exception as exc:  # noqa: BLE001 - untrusted metadata; the model's answer still counts
        log.warning("provenance reading failed: %s", exc)
        return {"findings": [], "errors": [f"metadata could not be read ({type(exc).__name__})"]}



def refusal(exc: ImageRejected) -> str:
    """The intake's refusal for the visitor: its English sentence as it is, or, in another language,
    the kind of problem translated, then the English sentence with its numbers."""
    key = f"intake_{exc.code}"
    if current() == "en" or key not in EN:
        return str(exc)
    return t("intake_detail", summary=t(key), detail=str(exc))


def _image_format_key(fmt: str) -> str:
    return {"JPEG": "jpeg", "MPO": "jpeg"}.get(fmt, fmt.lower())



def maps_json(maps: list[PhraseMap]) -> list[dict]:
    """Maps as JSON-ready dicts (the API's raw values)."""
    from explain.attribution import maps_to_json  # noqa: PLC0415 - attribution loads torch

    return maps_to_json(list(maps))


class ExplainMixin:
    """`AppState`'s verbs that run the model: explain a picture, attribute its phrases."""

    # ------------------------------------------------------------------ intake
    def check_upload(self, path: str | None) -> tuple[CheckedImage, bytes]:
        """Read and check an uploaded file (raises UserError with the intake's sentence)."""
        if not path:
            raise UserError(t("err_no_image"))
        with self._lock:
            hit = self._checked.get(path)
        if hit is not None:
            return hit
        try:
            checked = load_image_file(path, self.limits, self.config.preprocess)
        except ImageRejected as exc:
            raise UserError(refusal(exc)) from None
        # load_image_file read the bytes once to check them; keep the very same bytes for storage
        data = Path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != checked.sha256:  # the file changed under us
            raise UserError(t("err_no_image"))
        with self._lock:
            self._checked[path] = (checked, data)
            while len(self._checked) > 8 or (len(self._checked) > 1 and sum(
                    held_bytes(c, d) for c, d in self._checked.values()) > self._checked_bytes):
                self._checked.popitem(last=False)
        return checked, data

    def precheck(self, path: str | None, visitor: Visitor, page: str | None = None) -> str | None:
        """What the validator says before a request takes a model slot: None when fine. A picture
        that passes becomes the page's current one at once, so an older stream of the page stops."""
        try:
            self._rate(self.explain_rate, visitor, count=False)
            self.check_upload(path)
        except UserError as exc:
            return str(exc)
        if not self.admission.admit((page or visitor.client_hash, path)):
            return t("err_queue_full", waiting=self.admission.waiting)
        self.pages.start(page, path)
        return None

    # ------------------------------------------------------------------ explanation
    def explain(self, path: str | None, visitor: Visitor, page: str | None = None) -> Iterator[ExplainView]:
        """Check the upload, stream the model's answer, store the prediction; yields snapshots.

        When `page` has moved on to another picture (see demo/service/pages.py), the stream stops
        at the next token, nothing is stored and nothing more is yielded."""
        admitted = (page or visitor.client_hash, path)
        try:
            yield from self._explain(path, visitor, page)
        finally:
            self.admission.release(admitted)

    def _explain(self, path: str | None, visitor: Visitor, page: str | None) -> Iterator[ExplainView]:
        if path and not self.pages.is_current_upload(page, path):
            return
        self._rate(self.explain_rate, visitor, count=True)
        checked, data = self.check_upload(path)
        with self._lock:
            self._checked.pop(path, None)
        provenance = read_provenance_json(data, self.config.c2pa_trust)
        view = ExplainView("checked", checked, model_view(checked), provenance)
        yield view
        text = ""
        pieces = 0
        explanation: Explanation | None = None
        try:
            with self.model_lock.shared(), closing(self.worker.stream(checked, self.config.max_new_tokens)) as items:
                started = time.monotonic()
                for item in items:
                    if not self.pages.is_current_upload(page, path):
                        return  # closing() stops the generation thread now, not when collected
                    if isinstance(item, TextDelta):
                        text += item.text
                        pieces += 1
                        view = replace(view, stage="text", text=text, phrases=finished_phrases(text, False),
                                       pieces=pieces, elapsed_s=time.monotonic() - started,
                                       max_tokens=self.config.max_new_tokens)
                        yield view
                    elif isinstance(item, VerdictReady):
                        view = replace(view, stage="verdict", verdict=item.verdict, p_fake=item.p_fake)
                        yield view
                    elif isinstance(item, Explanation):
                        explanation = item
        except (MemoryError, RuntimeError, ValueError) as exc:
            log.exception("model failure")
            raise UserError(t("err_model", error=type(exc).__name__)) from None
        if explanation is None:  # the stream ended without an answer (cancelled)
            raise UserError(t("err_model", error="no answer"))
        prediction_id = self._save_prediction(visitor, checked, explanation, provenance)
        analysis = Analysis(prediction_id, visitor.client_hash, checked, data, explanation, provenance)
        self.results.remember(analysis)
        self.pages.done(page, path, prediction_id)
        yield replace(view, stage="done", text=explanation.text,
                      phrases=tuple(p.text for p in explanation.phrases), verdict=explanation.verdict,
                      p_fake=explanation.p_fake, prediction_id=prediction_id, explanation=explanation)

    def _save_prediction(self, visitor: Visitor, checked: CheckedImage, explanation: Explanation,
                         provenance: dict | None) -> int:
        tm = explanation.timings
        record = PredictionIn(
            client_hash=visitor.client_hash, image_sha256=checked.sha256,
            image_format=_image_format_key(checked.format), image_width=checked.width,
            image_height=checked.height, model_id=explanation.model_id or self.model_id,
            model_revision=self.worker.revision or "", prompt=explanation.prompt,
            text=explanation.text, verdict=explanation.verdict, p_fake=explanation.p_fake,
            phrases=[PhraseSpan(p.text, p.char_start, p.char_end) for p in explanation.phrases],
            timings={"preprocess_s": tm.preprocess_s, "first_token_s": tm.first_token_s,
                     "total_s": tm.total_s, "tokens_per_s": tm.tokens_per_s,
                     "new_tokens": float(tm.new_tokens)},
            provenance=provenance, rule=explanation.rule, preprocess=checked.preprocess,
        )
        try:
            return self.store.save_prediction(record)
        except StorageError as exc:
            raise UserError(t("err_storage", error=str(exc))) from None

    # ------------------------------------------------------------------ maps
    def maps(self, prediction_id: Any, visitor: Visitor, method: str = "gradient",
             progress: Callable[[float, str], None] | None = None,
             cancel: Callable[[], bool] | None = None) -> tuple[Analysis, list[PhraseMap]]:
        """Maps for every phrase of a visitor's prediction (computed once per method, then cached).
        `cancel()` is asked between batches: True stops the work (WorkCancelled), nothing is kept."""
        if not isinstance(method, str) or method not in METHODS:
            raise UserError(t("err_bad_method", method=str(method)[:40]))
        a = self._analysis(prediction_id, visitor)
        if method not in a.maps:
            self._rate(self.maps_rate, visitor, count=True)  # only new maps take the model
            try:
                with self.model_lock.exclusive():
                    if method not in a.maps:  # a twin request may have made them while we waited
                        if cancel is not None and cancel():  # cancelled while waiting for the model
                            raise WorkCancelled(method)
                        a.maps[method] = self.worker.attribute(a.checked, a.explanation, method, progress,
                                                               cancel)
                        self._save_maps(a, a.maps[method])
            except (MemoryError, RuntimeError, ValueError) as exc:
                log.exception("attribution failure")
                raise UserError(t("err_model", error=type(exc).__name__)) from None
        return a, a.maps[method]

    def maps_progress(self, prediction_id: Any, visitor: Visitor, method: str = "gradient",
                      page: str | None = None) -> Iterator[WorkProgress]:
        """`maps()` as snapshots of its progress (progress.py), the last one "done" with
        `(analysis, maps)` as its result. Closing the generator, or `cancel_work(page)`, stops the
        work within one batch; then it raises UserError(status_maps_cancelled) if still iterated."""
        if not isinstance(method, str) or method not in METHODS:
            raise UserError(t("err_bad_method", method=str(method)[:40]))
        a = self._analysis(prediction_id, visitor)
        if method in a.maps:
            yield WorkProgress("done", 1.0, eta_s=0.0, result=(a, a.maps[method]))
            return
        key = page or visitor.client_hash
        token = self.cancels.open(key)
        try:
            for p in run_with_progress(lambda report, tok: self.maps(prediction_id, visitor, method, report, tok)[1],
                                       kind=method, units=self._map_units(a, method), speeds=self.speeds,
                                       token=token):
                yield replace(p, result=(a, p.result)) if p.stage == "done" else p
        except WorkCancelled:
            raise UserError(t("status_maps_cancelled")) from None
        finally:
            self.cancels.close(key, token)

    def cancel_work(self, page: str | None) -> str | None:
        """The page's Cancel button: stop its running maps ("maps"), else its streaming answer
        ("explanation", which stops at the next token and is not stored); None when nothing runs."""
        if self.cancels.cancel(page):
            return "maps"
        if page and self.pages.is_streaming(page):
            self.pages.start(page, None)
            return "explanation"
        return None

    def _map_units(self, a: Analysis, method: str) -> int:
        from explain.attribution import work_units  # noqa: PLC0415 - attribution loads torch

        return sum(work_units(method, phrases=len(a.explanation.phrases), grid=self.config.occlusion_grid,
                              ig_steps=48, faithfulness_steps=10, with_faithfulness=True))

    def _save_maps(self, a: Analysis, maps: list[PhraseMap]) -> None:
        def done(future) -> None:
            if future.exception() is not None:  # the maps are still shown; only keeping them failed
                log.warning("could not store maps of prediction %s: %s", a.prediction_id, future.exception())

        try:
            self.store.save_maps_async(a.prediction_id, [
                MapIn(m.phrase_index, m.method, m.grid, tuple(m.crop_box), m.score, m.reliance,
                      m.deletion_auc, m.insertion_auc) for m in maps]).add_done_callback(done)
        except StorageError as exc:
            log.warning("could not queue maps for storage: %s", exc)

    def cached_maps(self, prediction_id: Any, visitor: Visitor, method: str) -> tuple[Analysis, list[PhraseMap]] | None:
        """Maps already computed (no model call), or None."""
        try:
            a = self._analysis(prediction_id, visitor)
        except UserError:
            return None
        return (a, a.maps[method]) if method in a.maps else None
