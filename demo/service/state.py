"""`AppState`: what a visitor, a reviewer and the classroom can do with the model and the store.

One `AppState` is built per process by app.py and passed down (no module-level globals). It owns
the model worker (demo/service/gpu.py), the Store (storage/), the results cache
(demo/service/results.py) and the per-visitor limits; its verbs live in one module per concern:
explaining.py (explain, maps), feedback.py (feedback, review, export), explorer.py (history, reopen).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from explain.intake import CheckedImage, IntakeLimits
from storage import Store

from ..i18n import t
from . import inputs
from .config import AppConfig
from .errors import UserError
from .explaining import ExplainMixin
from .explorer import ExplorerMixin
from .feedback import FeedbackMixin
from .gpu import ModelWorker
from .limits import Admission, RateLimiter
from .pages import Pages
from .progress import Cancels, Speeds
from .results import Analysis, ResultsCache
from .visitors import Pseudonyms, Visitor, new_visitor_token, valid_token

_IP_FACTOR = 4  # the per-address fallback allows this many visitors' worth of requests


class AppState(ExplainMixin, FeedbackMixin, ExplorerMixin):
    def __init__(self, detector, store: Store, config: AppConfig, *,
                 clock: Callable[[], float] = time.monotonic, cache_items: int = 64,
                 cache_bytes: int | None = None):
        cache_bytes = int(config.results_cache_mb * 1024 * 1024) if cache_bytes is None else cache_bytes
        self.detector = detector
        self.worker = ModelWorker(detector, config.occlusion_grid, batch_decode=config.batch_decode,
                                  max_new_tokens=config.max_new_tokens, streams=config.concurrency)
        if config.concurrency is None:  # unset: as many explanations at once as the model decodes together
            config = replace(config, concurrency=self.worker.streams)
        self.store = store
        self.config = config
        self.limits = IntakeLimits(max_bytes=config.max_upload_bytes, max_pixels=config.max_pixels)
        self.results = ResultsCache(cache_items, cache_bytes)
        # the validator's checked picture, handed to the handler that runs next (bounded like the cache)
        self._checked: OrderedDict[str, tuple[CheckedImage, bytes]] = OrderedDict()
        self._checked_bytes = max(cache_bytes // 4, 1)
        self._lock = threading.Lock()
        self.model_lock = self.worker.model_lock  # serial decoding: maps wait; batched: the batch orders them
        self.pages = Pages()
        self.cancels = Cancels()  # each page's running maps, for its Cancel button
        self.speeds = Speeds()  # measured seconds per unit of map work, for the first estimate
        self.admission = Admission(config.queue_size + config.concurrency)  # waiting + running
        self.pseudonyms = Pseudonyms(store.client_hash)
        self.explain_rate = RateLimiter(config.rate_limit, clock=clock)
        self.feedback_rate = RateLimiter(config.rate_limit, clock=clock)
        self.maps_rate = RateLimiter(config.rate_limit, clock=clock)
        self.address_rate = RateLimiter(config.rate_limit * _IP_FACTOR, clock=clock)
        self.login_rate = RateLimiter(10, clock=clock)
        self.login_address_rate = RateLimiter(20, clock=clock)  # failed tokens per address, not 4 x 10
        self._export_dir = Path(tempfile.mkdtemp(prefix="spot-export-"))

    # ------------------------------------------------------------------ the model, for the page
    @property
    def model_id(self) -> str:
        return self.worker.model_id

    @property
    def model_notice(self) -> str | None:
        return self.worker.notice

    @property
    def model_license(self) -> str:
        return self.worker.license

    @property
    def is_toy(self) -> bool:
        return self.worker.is_toy

    # ------------------------------------------------------------------ visitors
    new_visitor_token = staticmethod(new_visitor_token)
    valid_token = staticmethod(valid_token)

    def visitor(self, token: Any, session_hash: str | None, address: str | None = None) -> Visitor:
        """The visitor's pseudonym: from their browser token, else (API clients) their session."""
        return self.pseudonyms.visitor(token, session_hash, address)

    def _rate(self, limiter: RateLimiter, visitor: Visitor, *, count: bool,
              per_address: RateLimiter | None = None) -> None:
        """Count (or check) a request against the visitor's limit and their address's: a new browser
        token or session escapes the first, not the second."""
        by_address = per_address or self.address_rate
        waits = [limiter.hit(visitor.client_hash) if count else limiter.wait_s(visitor.client_hash)]
        if visitor.address_key:
            k = f"{id(limiter)}:{visitor.address_key}"
            waits.append(by_address.hit(k) if count else by_address.wait_s(k))
        wait = max(waits)
        if wait > 0:
            raise UserError(t("err_rate", limit=limiter.limit, minutes=int(limiter.window_s // 60),
                              wait=int(wait) + 1))


    def is_current(self, page: str | None, prediction_id: Any) -> bool:
        """Whether `prediction_id` is what `page` shows now (a page that moved on gets no more of it)."""
        try:
            pid = inputs.record_id(prediction_id, "fb_need_prediction")
        except UserError:
            return False
        return self.pages.is_current_prediction(page, pid)

    # ------------------------------------------------------------------ recent results
    def own_result(self, prediction_id: Any, visitor: Visitor) -> Analysis | None:
        """The visitor's own cached result with this id, or None (gone, someone else's, or no id)."""
        if not str(prediction_id or "").strip():
            return None
        try:
            return self._analysis(prediction_id, visitor)
        except UserError:
            return None

    def result_of(self, prediction_id: Any, visitor: Visitor) -> Analysis:
        """The visitor's own cached result with this id; a UserError says it expired or was not found."""
        return self._analysis(prediction_id, visitor)

    def _analysis(self, prediction_id: Any, visitor: Visitor) -> Analysis:
        pid = self.parse_prediction_id(prediction_id)
        a = self.results.get(pid, touch=True)
        if a is not None and visitor.owns(a.owner):
            return a
        # same message for "someone else's" as for "gone": ids cannot be probed
        if a is None and self.store.get_prediction(pid, visitor.client_hash) is not None:
            raise UserError(t("err_expired"))
        raise UserError(t("err_not_found"))

    @staticmethod
    def parse_prediction_id(value: Any) -> int:
        return inputs.record_id(value, "fb_need_prediction")

    def close(self) -> None:
        shutil.rmtree(self._export_dir, ignore_errors=True)
