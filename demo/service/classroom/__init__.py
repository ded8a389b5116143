"""The classroom without Gradio: lesson sets, class sessions, answers, reveals, results, handouts.

`Classroom` sits beside the app's `AppState` (demo/service/state.py) and reuses it for everything that
touches the model: `AppState.explain` streams the answer (shared model lock, rate limit, stored
prediction) and `AppState.maps` computes the phrase maps (exclusive model lock). The result is kept
on the lesson item (storage/classroom), so a picture is run once per model, however many
sessions show it, and reveals survive a restart.

Who is who, without accounts:
- a teacher holds a secret teacher key (made here, shown once, kept hashed);
- a student's browser holds a random token (gr.BrowserState), kept hashed; the nickname they type
  is shown to the teacher of the session only.
What a student gets back is their own answer and counts of the class's answers, never another
student's nickname or words. Handlers (demo/classroom/handlers.py) stay thin: they call this.

Its verbs live in one module per concern: lessons.py (building sets), reveals.py (sessions and the
model's answers), students.py (joining, answering), outcomes.py (results, CSV, handouts).
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from explain.intake import CheckedImage, IntakeLimits
from storage.classroom import AnswerOut, ClassroomStore, ItemIn, Tally

from ...i18n import tr
from ..errors import UserError
from ..limits import RateLimiter
from ..state import AppState
from .lessons import LessonsMixin, example_files, example_truth
from .outcomes import OutcomesMixin, csv_cell
from .presenter import PresenterMixin, PresenterView
from .reveals import RevealsMixin
from .students import StudentsMixin
from .views import LiveReveal, RevealView, StudentView, Teacher, TeacherView, phrase_maps

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{20,128}$")


class Classroom(LessonsMixin, RevealsMixin, StudentsMixin, OutcomesMixin, PresenterMixin):
    def __init__(self, app: AppState, cstore: ClassroomStore | None = None, *,
                 clock: Any = time.monotonic) -> None:
        self.app = app
        self.cstore = cstore or ClassroomStore(app.store)
        # Joins per 10 minutes, per browser and per address: far too few to find a code among
        # 31**6 by guessing, enough for a whole class behind one school address.
        self.join_rate = RateLimiter(30, clock=clock)
        self.join_address_rate = RateLimiter(600, clock=clock)
        # wrong codes per address: a class mistypes a few; a guesser needs millions (31**6 codes)
        self.join_miss_rate = RateLimiter(30, clock=clock)
        self.answer_rate = RateLimiter(600, clock=clock)
        self.build_rate = RateLimiter(30, clock=clock)
        self.limits = IntakeLimits(max_bytes=app.config.max_upload_bytes)
        self._tmp = Path(tempfile.mkdtemp(prefix="spot-classroom-"))
        self._lock = threading.Lock()
        self._live: dict[int, LiveReveal] = {}
        self._item_locks: dict[int, threading.Lock] = {}
        self._checked: OrderedDict[str, CheckedImage] = OrderedDict()

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    # ------------------------------------------------------------------ identities
    @staticmethod
    def new_teacher_key() -> str:
        return "tk_" + secrets.token_urlsafe(24)

    def teacher(self, key: Any, lang: str) -> Teacher:
        if not isinstance(key, str) or not _KEY_RE.match(key.strip()):
            raise UserError(tr("cls_err_key", lang))
        return Teacher(self.app.store.client_hash("classroom-teacher:" + key.strip()))

    def student_hash(self, token: Any, lang: str) -> str:
        if not self.app.valid_token(token):
            raise UserError(tr("cls_err_browser", lang))
        return self.app.store.client_hash("classroom-student:" + token)

    @staticmethod
    def _rate(limiter: RateLimiter, key: str, lang: str) -> None:
        wait = limiter.hit(key)
        if wait > 0:
            raise UserError(tr("cls_err_rate", lang, wait=int(wait) + 1))



__all__ = ["AnswerOut", "Classroom", "ItemIn", "PresenterView", "Tally", "LiveReveal", "RevealView", "StudentView", "Teacher", "TeacherView", "csv_cell",
           "example_files", "example_truth", "phrase_maps"]
