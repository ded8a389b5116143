"""Running a class session: the teacher moves through the pictures and reveals the model's answer.

A picture is run once per model however many sessions show it: the reveal is kept on the lesson
item (storage/classroom), and `LiveReveal` holds what students see while the model still talks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from explain.intake import CheckedImage, ImageRejected, IntakeLimits, check_image
from explain.types import PhraseMap
from storage import MapIn, NotFound, PhraseSpan, StorageError, ValidationError
from storage.classroom import (
    JOIN_CODE_LEN,
    ItemOut,
    RevealIn,
    RevealOut,
    SessionOut,
)

from ...i18n import tr
from ..errors import UserError
from ..visitors import Visitor
from .views import LiveReveal, RevealView, Teacher, TeacherView, phrase_maps

log = logging.getLogger(__name__)

MAP_METHOD = "gradient"


class RevealsMixin:
    """`Classroom`'s verbs for the teacher's session and the model's answers."""

    def start_session(self, teacher: Teacher, set_code: Any, lang: str) -> SessionOut:
        self.lesson_set(set_code, lang)
        try:
            return self.cstore.open_session(str(set_code), teacher.hash)
        except NotFound:
            raise UserError(tr("cls_err_no_set", lang)) from None

    def my_sessions(self, teacher: Teacher) -> list[SessionOut]:
        return self.cstore.list_sessions(teacher.hash)

    def session_for(self, teacher: Teacher, code: Any, lang: str) -> SessionOut:
        try:
            return self.cstore.teacher_session(str(code or ""), teacher.hash)
        except ValidationError:
            raise UserError(tr("cls_err_join_code", lang, n=JOIN_CODE_LEN)) from None
        except NotFound:
            raise UserError(tr("cls_err_not_yours", lang)) from None

    def move(self, teacher: Teacher, code: Any, delta: int, lang: str) -> SessionOut:
        s = self.session_for(teacher, code, lang)
        pos = min(max(0, s.position + delta), len(s.items) - 1)
        return s if pos == s.position else self.cstore.set_position(s.code, teacher.hash, pos)

    def close_session(self, teacher: Teacher, code: Any, lang: str) -> SessionOut:
        s = self.session_for(teacher, code, lang)
        return self.cstore.close_session(s.code, teacher.hash)

    def delete_session(self, teacher: Teacher, code: Any, lang: str) -> int:
        """Remove a session with everything its students gave (nicknames, answers); returns how many
        answers went. The lesson set stays, for the next class."""
        s = self.session_for(teacher, code, lang)
        if s.state != "closed":  # a button away from losing a lesson's answers: close first
            raise UserError(tr("cls_err_close_first", lang))
        return self.cstore.delete_session(s.code, teacher.hash)

    def teacher_view(self, teacher: Teacher, code: Any, lang: str) -> TeacherView:
        s = self.session_for(teacher, code, lang)
        item = s.current
        return TeacherView(s, self.cstore.tallies(s.code), self.cstore.teacher_rows(s.code, teacher.hash),
                           self._live.get(item.id) if item else None)

    def reveal(self, teacher: Teacher, code: Any, lang: str) -> Iterator[RevealView]:
        """Reveal the current picture (its answers close now) and stream the model's answer."""
        s = self.session_for(teacher, code, lang)
        item = s.current
        if item is None:
            raise UserError(tr("cls_err_no_items", lang))
        self.cstore.reveal_item(s.code, teacher.hash, item.id)
        yield from self.model_answer(teacher, item, lang)

    def prepare(self, teacher: Teacher, code: Any, lang: str) -> Iterator[tuple[int, int]]:
        """Run the model on every picture of the session ahead of time (nothing is revealed)."""
        s = self.session_for(teacher, code, lang)
        for n, item in enumerate(s.items):
            for _ in self.model_answer(teacher, item, lang):
                pass
            yield n + 1, len(s.items)

    # ------------------------------------------------------------------ the model
    def _fresh(self, reveal: RevealOut | None) -> bool:
        return reveal is not None and reveal.model_id == self.app.model_id

    def _item_lock(self, item_id: int) -> threading.Lock:
        with self._lock:
            return self._item_locks.setdefault(item_id, threading.Lock())

    def _reload_item(self, item: ItemOut) -> ItemOut:
        sess = self.cstore.get_set_by_id(item.set_id)
        return next((i for i in sess.items if i.id == item.id), item) if sess else item

    def model_answer(self, teacher: Teacher, item: ItemOut, lang: str) -> Iterator[RevealView]:
        """The model's answer and maps for a lesson picture: from the item's cache when this model
        already answered it, else run now (students watching the session see it stream)."""
        if self._fresh(item.reveal):
            yield self._view_of(item, item.reveal)
            return
        with self._item_lock(item.id):
            item = self._reload_item(item)
            if self._fresh(item.reveal):  # another session computed it while we waited
                yield self._view_of(item, item.reveal)
                return
            live = LiveReveal()
            with self._lock:
                self._live[item.id] = live
            try:
                yield from self._run(teacher, item, live, lang)
            except BaseException:
                live.stage = "failed"
                raise
            finally:
                with self._lock:
                    self._live.pop(item.id, None)

    def _run(self, teacher: Teacher, item: ItemOut, live: LiveReveal, lang: str) -> Iterator[RevealView]:
        path = self._item_file(item, lang)
        visitor = Visitor(teacher.hash)
        last = None
        for view in self.app.explain(str(path), visitor):
            live.text, live.verdict, live.p_fake = view.text, view.verdict, view.p_fake
            live.stage = "text"
            last = view
            if view.stage != "checked":
                yield RevealView(item, "text", view.text, view.verdict, view.p_fake, view.phrases)
        if last is None or last.explanation is None or last.prediction_id is None:
            raise UserError(tr("cls_err_model", lang))
        ex = last.explanation
        live.stage = "maps"
        phrases = tuple(p.text for p in ex.phrases)
        yield RevealView(item, "maps", ex.text, ex.verdict, ex.p_fake, phrases)
        note = ""
        maps: list[PhraseMap] = []
        try:
            _, maps = self.app.maps(last.prediction_id, visitor, MAP_METHOD)
        except UserError as exc:  # the answer still counts without its maps
            note = str(exc)
        reveal = RevealIn(
            model_id=self.app.model_id, text=ex.text, verdict=ex.verdict, p_fake=ex.p_fake,
            phrases=[PhraseSpan(p.text, p.char_start, p.char_end) for p in ex.phrases],
            maps=[MapIn(m.phrase_index, m.method, m.grid, tuple(m.crop_box), m.score, m.reliance) for m in maps],
            prediction_id=last.prediction_id)
        try:
            self.cstore.save_reveal(item.id, reveal)
        except StorageError as exc:
            log.warning("could not keep the reveal of item %s: %s", item.id, exc)
        live.stage = "done"
        yield RevealView(item, "done", ex.text, ex.verdict, ex.p_fake, phrases, tuple(maps), note)

    @staticmethod
    def _view_of(item: ItemOut, r: RevealOut) -> RevealView:
        return RevealView(item, "done", r.text, r.verdict, r.p_fake, tuple(p.text for p in r.phrases),
                          tuple(phrase_maps(r)))

    def _item_file(self, item: ItemOut, lang: str) -> Path:
        """The lesson picture as a file (AppState.explain reads uploads from files)."""
        path = self._tmp / f"{item.image_sha256}.img"
        if not path.is_file():
            data = self.cstore.item_bytes(item.image_sha256)
            if data is None:
                raise UserError(tr("cls_err_image_gone", lang))
            path.write_bytes(data)
        return path

    def picture(self, item: ItemOut, lang: str) -> CheckedImage:
        """The checked picture of a lesson item (kept in a small in-memory cache)."""
        with self._lock:
            hit = self._checked.get(item.image_sha256)
            if hit is not None:
                self._checked.move_to_end(item.image_sha256)
                return hit
        data = self.cstore.item_bytes(item.image_sha256)
        if data is None:
            raise UserError(tr("cls_err_image_gone", lang))
        try:
            checked = check_image(data, IntakeLimits(max_bytes=max(len(data), 1)))
        except ImageRejected:
            raise UserError(tr("cls_err_image_gone", lang)) from None
        with self._lock:
            self._checked[item.image_sha256] = checked
            while len(self._checked) > 32:
                self._checked.popitem(last=False)
        return checked

