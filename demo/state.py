"""The app's state and everything the UI does, without Gradio: handlers in demo/handlers.py only
translate between Gradio components and the plain results of `AppState`'s methods.

One `AppState` is built per process by app.py and passed down (no module-level globals). It owns:
- the Detector (explain/) and the Store (storage/);
- a small in-memory cache of recent analyses (checked image, original bytes, explanation, maps),
  keyed by prediction id and tied to the visitor who made it, so a visitor's map requests and
  feedback need no second upload, and nobody else can reach them;
- pseudonymous visitor ids (storage's keyed hash of a random per-browser token; raw IPs are
  never stored: a hash of the request address is kept in memory only, for a coarse rate limit);
- the reviewer check (admin token, or a Hugging Face user on the reviewer list).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from explain.images import CheckedImage, ImageRejected, IntakeLimits, check_image, load_image_file, model_view
from explain.phrases import split_phrases
from explain.types import Explanation, PhraseMap, TextDelta, VerdictReady
from storage import (
    CATEGORIES,
    FeedbackFilter,
    FeedbackIn,
    FeedbackOut,
    MapIn,
    NotFound,
    PhraseSpan,
    PredictionIn,
    PredictionOut,
    StorageError,
    Store,
)

from .config import AppConfig
from .i18n import t

log = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
_RATE_WINDOW_S = 600.0
_IP_FACTOR = 4  # the per-address fallback allows this many visitors' worth of requests
METHODS = ("gradient", "occlusion")


class UserError(Exception):
    """Something the visitor can fix or should know; `str(err)` is shown as it is."""


# --------------------------------------------------------------------------- GPU scheduling


def gpu(duration: int) -> Callable[[Callable], Callable]:
    """`spaces.GPU(duration=...)` on Hugging Face ZeroGPU; elsewhere the function itself.

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


# --------------------------------------------------------------------------- small parts


class RateLimiter:
    """Sliding-window request counts per key, in memory only."""

    def __init__(self, limit: int, window_s: float = _RATE_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._hits.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def wait_s(self, key: str) -> float:
        """Seconds until `key` may go again (0 when it may now); does not count a hit."""
        with self._lock:
            now = self.clock()
            q = self._prune(key, now)
            return 0.0 if len(q) < self.limit else q[0] + self.window_s - now

    def hit(self, key: str) -> float:
        """Count a hit if allowed and return 0, else return the seconds to wait (nothing counted)."""
        with self._lock:
            now = self.clock()
            q = self._prune(key, now)
            if len(q) >= self.limit:
                return q[0] + self.window_s - now
            q.append(now)
            if len(self._hits) > 50_000:  # forget idle keys rather than grow without bound
                for k in [k for k, v in self._hits.items() if not v][:10_000]:
                    del self._hits[k]
            return 0.0


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


@dataclass(frozen=True)
class Visitor:
    """Who is asking: a pseudonymous, stored id and an in-memory-only key for their address.

    `aliases` are other ids the same page may have used: a picture uploaded before the browser's
    token arrived is owned by the page's session id, and stays the visitor's.
    """

    client_hash: str
    address_key: str | None = None
    aliases: tuple[str, ...] = ()

    def owns(self, owner: str) -> bool:
        return any(hmac.compare_digest(owner, h) for h in (self.client_hash, *self.aliases))


@dataclass(frozen=True)
class Reviewer:
    name: str
    via: str  # "token" | "huggingface"


@dataclass
class Analysis:
    """One visitor's recent result, kept in memory for maps and feedback."""

    prediction_id: int
    owner: str  # client hash
    checked: CheckedImage
    data: bytes  # the original upload, byte for byte (kept for consented storage)
    explanation: Explanation
    provenance: dict | None
    maps: dict[str, list[PhraseMap]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExplainView:
    """A snapshot of a running explanation, for the UI to draw."""

    stage: str  # "checked" | "text" | "verdict" | "done"
    checked: CheckedImage
    view: Any  # PIL image: the 336x336 crop the model sees
    provenance: dict | None
    text: str = ""
    phrases: tuple[str, ...] = ()  # finished phrases so far
    verdict: str | None = None
    p_fake: float | None = None
    prediction_id: int | None = None
    explanation: Explanation | None = None


@dataclass(frozen=True)
class FeedbackForm:
    prediction_id: int | None
    verdict: str | None = None  # "right" | "wrong" | None
    true_label: str | None = None  # "real" | "fake" | "unsure" | None
    agree: Sequence[int] = ()
    disagree: Sequence[int] = ()
    corrected: str | None = None
    category: str | None = None
    comment: str | None = None
    consent: bool = False


@dataclass(frozen=True)
class Reopened:
    prediction: PredictionOut
    image: Any  # PIL image or None when the bytes are not kept
    size: tuple[int, int]
    maps: list[PhraseMap]
    feedback: FeedbackOut | None


def finished_phrases(text: str, final: bool) -> tuple[str, ...]:
    """The phrases of a partial answer that are complete (all of them once the answer is final)."""
    phrases = split_phrases(text, [])
    if not phrases:
        return ()
    texts = tuple(p.text for p in phrases)
    if final or text.rstrip().endswith((".", "!", "?", ";", ":")):
        return texts
    return texts[:-1]


def read_provenance_json(data: bytes) -> dict | None:
    """Provenance findings of the original bytes as JSON, or None when the reader is unavailable.

    Reading metadata must never stop an explanation: any failure becomes an error entry.
    """
    try:
        from explain.provenance import read_provenance  # noqa: PLC0415
    except ImportError:
        return None
    try:
        return read_provenance(data).to_json()
    except Exception as exc:  # noqa: BLE001 - untrusted metadata; the model's answer still counts
        log.warning("provenance reading failed: %s", exc)
        return {"findings": [], "errors": [f"metadata could not be read ({type(exc).__name__})"]}


def _phrase_map_from_out(m) -> PhraseMap:
    return PhraseMap(phrase_index=m.phrase_index, method=m.method,
                     grid=tuple(tuple(float(v) for v in row) for row in m.grid), crop_box=tuple(m.crop_box),
                     score=m.score, reliance=m.reliance, deletion_auc=m.deletion_auc,
                     insertion_auc=m.insertion_auc)


def _image_format_key(fmt: str) -> str:
    return {"JPEG": "jpeg", "MPO": "jpeg"}.get(fmt, fmt.lower())


# --------------------------------------------------------------------------- the state


class AppState:
    def __init__(self, detector, store: Store, config: AppConfig, *,
                 clock: Callable[[], float] = time.monotonic, cache_items: int = 64,
                 cache_bytes: int = 512 * 1024 * 1024):
        self.detector = detector
        self.store = store
        self.config = config
        self.limits = IntakeLimits(max_bytes=config.max_upload_bytes, max_pixels=config.max_pixels)
        self._cache: OrderedDict[int, Analysis] = OrderedDict()
        self._cache_items = cache_items
        self._cache_bytes = cache_bytes
        self._checked: OrderedDict[str, tuple[CheckedImage, bytes]] = OrderedDict()  # validator -> handler
        self._lock = threading.Lock()
        self.model_lock = ModelLock()
        self._address_salt = secrets.token_bytes(16)  # per process: address keys die with it
        self.explain_rate = RateLimiter(config.rate_limit, clock=clock)
        self.feedback_rate = RateLimiter(config.rate_limit, clock=clock)
        self.address_rate = RateLimiter(config.rate_limit * _IP_FACTOR, clock=clock)
        self.login_rate = RateLimiter(10, clock=clock)
        self._export_dir = Path(tempfile.mkdtemp(prefix="spot-export-"))
        # GPU work as bound methods: on ZeroGPU only their arguments (picture, answer, method) are
        # pickled into the GPU worker, never the model, which the forked worker already has.
        self._stream_gpu = gpu(duration=120)(self._stream_impl)
        self._attribute_gpu = gpu(duration=240)(self._attribute_impl)

    def _stream_impl(self, checked: CheckedImage, max_new_tokens: int) -> Iterator[Any]:
        yield from self.detector.stream(checked, max_new_tokens=max_new_tokens)

    def _attribute_impl(self, checked: CheckedImage, explanation: Explanation, method: str,
                        progress: Callable[[float, str], None] | None) -> list[PhraseMap]:
        from explain.attribution import attribute  # noqa: PLC0415 - loaded when first needed

        return attribute(self.detector, checked, explanation, method, progress=progress,
                         grid=self.config.occlusion_grid)

    # ------------------------------------------------------------------ the model, for the page
    @property
    def model_id(self) -> str:
        return getattr(self.detector, "model_id", "?")

    @property
    def model_notice(self) -> str | None:
        return getattr(self.detector, "notice", None)

    @property
    def model_license(self) -> str:
        return getattr(self.detector, "license", "")

    @property
    def is_toy(self) -> bool:
        return bool(getattr(self.detector, "is_toy", False))

    # ------------------------------------------------------------------ visitors
    @staticmethod
    def new_visitor_token() -> str:
        return secrets.token_urlsafe(24)

    @staticmethod
    def valid_token(token: Any) -> bool:
        return isinstance(token, str) and bool(_TOKEN_RE.match(token))

    def visitor(self, token: Any, session_hash: str | None, address: str | None = None) -> Visitor:
        """The visitor's pseudonym: from their browser token, else (API clients) their session."""
        aliases: tuple[str, ...] = ()
        if self.valid_token(token):
            raw = f"browser:{token}"
            if session_hash:
                aliases = (self.store.client_hash(f"session:{session_hash}"),)
        elif session_hash:
            raw = f"session:{session_hash}"
        else:
            raw = f"anonymous:{secrets.token_hex(16)}"  # no continuity possible; still private
        key = None
        if address:
            key = hmac.new(self._address_salt, address.encode(), hashlib.sha256).hexdigest()
        return Visitor(self.store.client_hash(raw), key, aliases)

    def _rate(self, limiter: RateLimiter, visitor: Visitor, *, count: bool) -> None:
        waits = [limiter.hit(visitor.client_hash) if count else limiter.wait_s(visitor.client_hash)]
        if visitor.address_key:
            k = f"{id(limiter)}:{visitor.address_key}"
            waits.append(self.address_rate.hit(k) if count else self.address_rate.wait_s(k))
        wait = max(waits)
        if wait > 0:
            raise UserError(t("err_rate", limit=limiter.limit, minutes=int(limiter.window_s // 60),
                              wait=int(wait) + 1))

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
            checked = load_image_file(path, self.limits)
        except ImageRejected as exc:
            raise UserError(str(exc)) from None
        # load_image_file read the bytes once to check them; keep the very same bytes for storage
        data = Path(path).read_bytes()
        if hashlib.sha256(data).hexdigest() != checked.sha256:  # the file changed under us
            raise UserError(t("err_no_image"))
        with self._lock:
            self._checked[path] = (checked, data)
            while len(self._checked) > 8:
                self._checked.popitem(last=False)
        return checked, data

    def precheck(self, path: str | None, visitor: Visitor) -> str | None:
        """What the validator says before a request takes a model slot: None when fine."""
        try:
            self._rate(self.explain_rate, visitor, count=False)
            self.check_upload(path)
        except UserError as exc:
            return str(exc)
        return None

    # ------------------------------------------------------------------ explanation
    def explain(self, path: str | None, visitor: Visitor) -> Iterator[ExplainView]:
        """Check the upload, stream the model's answer, store the prediction; yields snapshots."""
        self._rate(self.explain_rate, visitor, count=True)
        checked, data = self.check_upload(path)
        with self._lock:
            self._checked.pop(path, None)
        provenance = read_provenance_json(data)
        view = ExplainView("checked", checked, model_view(checked), provenance)
        yield view
        text = ""
        explanation: Explanation | None = None
        try:
            with self.model_lock.shared():
                for item in self._stream_gpu(checked, self.config.max_new_tokens):
                    if isinstance(item, TextDelta):
                        text += item.text
                        view = replace(view, stage="text", text=text, phrases=finished_phrases(text, False))
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
        self._remember(analysis)
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
            model_revision=getattr(self.detector, "revision", None) or "", prompt=explanation.prompt,
            text=explanation.text, verdict=explanation.verdict, p_fake=explanation.p_fake,
            phrases=[PhraseSpan(p.text, p.char_start, p.char_end) for p in explanation.phrases],
            timings={"preprocess_s": tm.preprocess_s, "first_token_s": tm.first_token_s,
                     "total_s": tm.total_s, "tokens_per_s": tm.tokens_per_s,
                     "new_tokens": float(tm.new_tokens)},
            provenance=provenance,
        )
        try:
            return self.store.save_prediction(record)
        except StorageError as exc:
            raise UserError(t("err_storage", error=str(exc))) from None

    def _remember(self, analysis: Analysis) -> None:
        with self._lock:
            self._cache[analysis.prediction_id] = analysis
            self._cache.move_to_end(analysis.prediction_id)
            while len(self._cache) > self._cache_items or (
                len(self._cache) > 1 and sum(len(a.data) for a in self._cache.values()) > self._cache_bytes
            ):
                self._cache.popitem(last=False)

    def _analysis(self, prediction_id: Any, visitor: Visitor) -> Analysis:
        pid = self.parse_prediction_id(prediction_id)
        with self._lock:
            a = self._cache.get(pid)
            if a is not None:
                self._cache.move_to_end(pid)
        if a is not None and visitor.owns(a.owner):
            return a
        # same message for "someone else's" as for "gone": ids cannot be probed
        if a is None and self.store.get_prediction(pid, visitor.client_hash) is not None:
            raise UserError(t("err_expired"))
        raise UserError(t("err_not_found"))

    @staticmethod
    def parse_prediction_id(value: Any) -> int:
        try:
            pid = int(str(value).strip().lstrip("#"))
        except (TypeError, ValueError):
            raise UserError(t("fb_need_prediction")) from None
        if pid <= 0:
            raise UserError(t("fb_need_prediction"))
        return pid

    # ------------------------------------------------------------------ maps
    def maps(self, prediction_id: Any, visitor: Visitor, method: str = "gradient",
             progress: Callable[[float, str], None] | None = None) -> tuple[Analysis, list[PhraseMap]]:
        """Maps for every phrase of a visitor's prediction (computed once per method, then cached)."""
        if method not in METHODS:
            raise UserError(t("err_bad_method", method=method))
        a = self._analysis(prediction_id, visitor)
        if method not in a.maps:
            try:
                with self.model_lock.exclusive():
                    if method not in a.maps:  # a twin request may have made them while we waited
                        a.maps[method] = self._attribute_gpu(a.checked, a.explanation, method, progress)
                        self._save_maps(a, a.maps[method])
            except (MemoryError, RuntimeError, ValueError) as exc:
                log.exception("attribution failure")
                raise UserError(t("err_model", error=type(exc).__name__)) from None
        return a, a.maps[method]

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

    # ------------------------------------------------------------------ feedback
    def feedback(self, form: FeedbackForm, visitor: Visitor) -> tuple[int, bool]:
        """Save (or update) the visitor's feedback; returns (record id, was an update)."""
        pid = self.parse_prediction_id(form.prediction_id)
        verdict_correct = {"right": True, "wrong": False, None: None, "": None}.get(form.verdict, "bad")
        if verdict_correct == "bad":
            raise UserError(t("fb_bad_choice", value=form.verdict, field=t("fb_verdict")))
        if form.true_label not in (None, "", "real", "fake", "unsure"):
            raise UserError(t("fb_bad_choice", value=form.true_label, field=t("fb_true_label")))
        if form.category not in (None, "") and form.category not in CATEGORIES:
            raise UserError(t("fb_bad_choice", value=form.category, field=t("fb_category")))
        agree, disagree = self._indices(form.agree), self._indices(form.disagree)
        both = sorted(set(agree) & set(disagree))
        if both:
            raise UserError(t("fb_both_votes", phrases=", ".join(str(i + 1) for i in both)))
        corrected = (form.corrected or "").strip() or None
        comment = (form.comment or "").strip() or None
        if (verdict_correct is None and not form.true_label and not agree and not disagree
                and not corrected and not form.category and not comment):
            raise UserError(t("fb_empty"))
        self._rate(self.feedback_rate, visitor, count=True)
        votes = {i: "agree" for i in agree} | {i: "disagree" for i in disagree}
        with self._lock:
            a = self._cache.get(pid)
        owner = a.owner if a is not None and visitor.owns(a.owner) else visitor.client_hash
        record = FeedbackIn(prediction_id=pid, client_hash=owner,
                            verdict_correct=verdict_correct, true_label=form.true_label or None,
                            phrase_votes=votes, corrected_explanation=corrected,
                            category=form.category or None, comment=comment, consent=bool(form.consent))
        image_bytes = a.data if form.consent and a is not None and visitor.owns(a.owner) else None
        try:
            existed = self.store.get_feedback(pid, owner) is not None
            fid = self.store.save_feedback(record, image_bytes=image_bytes)
        except NotFound:
            raise UserError(t("err_not_found")) from None
        except StorageError as exc:
            raise UserError(t("err_storage", error=str(exc))) from None
        return fid, existed

    @staticmethod
    def _indices(values: Sequence[Any] | None) -> list[int]:
        out = []
        for v in values or ():
            try:
                i = int(v)
            except (TypeError, ValueError):
                raise UserError(t("fb_bad_phrase", index=v)) from None
            if i < 0 or i > 10_000:
                raise UserError(t("fb_bad_phrase", index=v))
            out.append(i)
        return out

    # ------------------------------------------------------------------ reviewers
    def login_with_token(self, token: str | None, visitor: Visitor) -> Reviewer:
        if not self.config.admin_token:
            raise UserError(t("reviewer_off"))
        self._rate(self.login_rate, visitor, count=True)
        given = (token or "").encode()
        if not hmac.compare_digest(given, self.config.admin_token.encode()):
            raise UserError(t("reviewer_bad"))
        return Reviewer("admin", "token")

    def login_with_profile(self, username: str | None) -> Reviewer | None:
        if not username:
            return None
        allowed = {r.lower() for r in self.config.reviewers}
        if username.lower() not in allowed:
            raise UserError(t("reviewer_not_allowed", name=username))
        return Reviewer(username, "huggingface")

    @staticmethod
    def _require(reviewer: Reviewer | None) -> Reviewer:
        if not isinstance(reviewer, Reviewer):
            raise UserError(t("reviewer_needed"))
        return reviewer

    def review(self, feedback_id: Any, state: str, reviewer: Reviewer | None) -> None:
        who = self._require(reviewer)
        try:
            fid = int(feedback_id)
        except (TypeError, ValueError):
            raise UserError(t("review_no_feedback")) from None
        try:
            self.store.review(fid, state, f"{who.via}:{who.name}")
        except StorageError as exc:
            raise UserError(str(exc)) from None

    def export(self, reviewer: Reviewer | None, fmt: str = "fakeclue") -> tuple[Path, int, dict[str, int]]:
        """Accepted, consented feedback as a zip in FakeClue format (reviewers only)."""
        self._require(reviewer)
        from storage.export import export  # noqa: PLC0415

        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = self._export_dir / f"spot-{fmt}-{stamp}-{secrets.token_hex(3)}"
        try:
            report = export(self.store.export_rows(accepted_only=True), fmt, out)
        except StorageError as exc:
            raise UserError(str(exc)) from None
        archive = out.with_suffix(".zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(out.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(out))
        shutil.rmtree(out, ignore_errors=True)
        return archive, report.records, dict(report.skipped)

    # ------------------------------------------------------------------ explorer
    def explorer_rows(self, visitor: Visitor, reviewer: Reviewer | None, *, verdict: str | None = None,
                      disagreement: bool | None = None, category: str | None = None,
                      review_state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Rows for the explorer: a visitor's own predictions (with their feedback), or, for a
        reviewer, everyone's feedback records. Filters are those of storage's FeedbackFilter."""
        try:
            if isinstance(reviewer, Reviewer):
                fbs = self.store.reviewer_list_feedback(FeedbackFilter(
                    verdict=verdict, disagreement=disagreement, category=category,
                    review_state=review_state, limit=limit))
                rows = []
                for fb in fbs:
                    p = self.store.reviewer_get_prediction(fb.prediction_id)
                    if p is not None:
                        rows.append(self._row(p, fb))
                return rows
            preds = self.store.list_predictions(visitor.client_hash, verdict=verdict, limit=limit)
            fbs = {f.prediction_id: f for f in self.store.list_feedback(
                visitor.client_hash, FeedbackFilter(limit=max(limit, 50)))}
        except StorageError as exc:
            raise UserError(str(exc)) from None
        rows = []
        for p in preds:
            fb = fbs.get(p.id)
            if category and (fb is None or fb.category != category):
                continue
            if review_state and (fb is None or fb.review_state != review_state):
                continue
            if disagreement is not None and (fb is not None and self._disputes(p, fb)) != disagreement:
                continue
            rows.append(self._row(p, fb))
        return rows

    @staticmethod
    def _disputes(p: PredictionOut, fb: FeedbackOut) -> bool:
        opposite = fb.true_label in ("real", "fake") and p.verdict in ("real", "fake") and fb.true_label != p.verdict
        return fb.verdict_correct is False or opposite or "disagree" in fb.phrase_votes.values()

    @classmethod
    def _row(cls, p: PredictionOut, fb: FeedbackOut | None) -> dict[str, Any]:
        said = {True: "right", False: "wrong", None: ""}[fb.verdict_correct] if fb else ""
        return {
            "prediction": p.id,
            "feedback": fb.id if fb else None,
            "when": p.created_at.strftime("%Y-%m-%d %H:%M"),
            "verdict": p.verdict,
            "p_fake": None if p.p_fake is None else round(p.p_fake, 3),
            "visitor says": said,
            "true label": (fb.true_label or "") if fb else "",
            "category": (fb.category or "") if fb else "",
            "disputed": bool(fb and cls._disputes(p, fb)),
            "review": fb.review_state if fb else "",
            "explanation": (fb.corrected_explanation if fb and fb.corrected_explanation else p.text)[:160],
        }

    def reopen(self, prediction_id: Any, visitor: Visitor, reviewer: Reviewer | None) -> Reopened:
        """A stored prediction with its maps, its feedback and (when kept, or still in memory for its
        owner) its image. Visitors reach only their own; reviewers reach all."""
        from PIL import Image  # noqa: PLC0415

        pid = self.parse_prediction_id(prediction_id)
        is_rev = isinstance(reviewer, Reviewer)
        try:
            if is_rev:
                p = self.store.reviewer_get_prediction(pid)
                maps = self.store.reviewer_get_maps(pid) if p else []
                fbs = self.store.reviewer_list_feedback(FeedbackFilter(limit=500)) if p else []
                fb = next((f for f in fbs if f.prediction_id == pid), None)
                data = self.store.reviewer_get_image(p.image.sha256) if p else None
            else:
                p = self.store.get_prediction(pid, visitor.client_hash)
                maps = self.store.get_maps(pid, visitor.client_hash) if p else []
                fb = self.store.get_feedback(pid, visitor.client_hash) if p else None
                data = self.store.get_image(p.image.sha256, visitor.client_hash) if p else None
        except StorageError as exc:
            raise UserError(str(exc)) from None
        if p is None:
            raise UserError(t("err_not_found"))
        image = None
        if data is not None:
            try:
                image = check_image(data, IntakeLimits(max_bytes=max(len(data), 1))).image
            except ImageRejected:
                image = None
        if image is None:
            with self._lock:
                a = self._cache.get(pid)
            # only the owner's own picture, from memory: a reviewer sees kept (consented) pictures only
            if a is not None and visitor.owns(a.owner):
                image = a.checked.image
        phrase_maps = [_phrase_map_from_out(m) for m in maps]
        size = (p.image.width or (image.width if image else 336), p.image.height or (image.height if image else 336))
        if image is not None and image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR)
        return Reopened(p, image, size, phrase_maps, fb)

    def close(self) -> None:
        shutil.rmtree(self._export_dir, ignore_errors=True)
