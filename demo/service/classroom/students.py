"""Students in a session: joining with a code and a nickname, seeing the current picture, answering.

A student gets back their own answer and counts of the class's answers, never another student's
nickname or words.
"""

from __future__ import annotations

from typing import Any

from storage import NotFound, ValidationError
from storage.classroom import (
    JOIN_CODE_LEN,
    MAX_NICKNAME,
    MAX_REASON,
    AnswerIn,
    AnswerOut,
    normalize_code,
)

from ...i18n import tr
from ..errors import UserError
from .views import StudentView


class StudentsMixin:
    """`Classroom`'s verbs for students."""

    def join(self, token: Any, code: Any, nickname: Any, lang: str, address_key: str | None = None) -> StudentView:
        ch = self.student_hash(token, lang)
        self._rate(self.join_rate, ch, lang)
        if address_key:
            self._rate(self.join_address_rate, address_key, lang)
            if self.join_miss_rate.wait_s(address_key) > 0:  # too many wrong codes from here: guessing
                self._rate(self.join_miss_rate, address_key, lang)
        nick = " ".join(str(nickname or "").split())
        if not nick:
            raise UserError(tr("cls_err_nickname", lang))
        if len(nick) > MAX_NICKNAME:
            raise UserError(tr("cls_err_nickname_long", lang, n=MAX_NICKNAME))
        try:
            code_n = normalize_code(str(code or ""), JOIN_CODE_LEN)
        except ValidationError:
            raise UserError(tr("cls_err_join_code", lang, n=JOIN_CODE_LEN)) from None
        try:
            self.cstore.join(code_n, ch, nick)
        except NotFound:
            if address_key:  # a wrong code counts against the address, however many browsers it uses
                self.join_miss_rate.hit(address_key)
            raise UserError(tr("cls_err_no_session", lang)) from None
        except ValidationError as exc:
            raise UserError(tr("cls_err_closed", lang) if "closed" in str(exc) else str(exc)) from None
        return self.student_view(token, code_n, lang)

    def student_view(self, token: Any, code: Any, lang: str) -> StudentView:
        ch = self.student_hash(token, lang)
        try:
            s = self.cstore.get_session(str(code or ""))
            p = self.cstore.participant(str(code or ""), ch) if s else None
        except ValidationError:
            raise UserError(tr("cls_err_join_code", lang, n=JOIN_CODE_LEN)) from None
        if s is None or p is None:
            raise UserError(tr("cls_err_not_joined", lang))
        item = s.current
        answer = self.cstore.my_answers(s.code, ch).get(item.id) if item else None
        revealed = bool(item and item.id in s.revealed)
        reveal = item.reveal if revealed and item and self._fresh(item.reveal) else None
        live = self._live.get(item.id) if revealed and item and reveal is None else None
        tally = self.cstore.tallies(s.code).get(item.id) if revealed and item else None
        return StudentView(s, p, item, answer, revealed, reveal, live, tally)

    def answer(self, token: Any, code: Any, item_id: Any, guess: Any, confidence: Any, reason: Any,
               lang: str) -> AnswerOut:
        ch = self.student_hash(token, lang)
        self._rate(self.answer_rate, ch, lang)
        if guess not in ("real", "fake"):
            raise UserError(tr("cls_err_guess", lang))
        try:
            conf = int(confidence)
        except (TypeError, ValueError):
            conf = 0
        if not 1 <= conf <= 5:
            raise UserError(tr("cls_err_confidence", lang))
        text = " ".join(str(reason or "").split()) or None
        if text and len(text) > MAX_REASON:
            raise UserError(tr("cls_err_reason_long", lang, n=MAX_REASON))
        try:
            iid = int(item_id)
        except (TypeError, ValueError):
            raise UserError(tr("cls_err_not_joined", lang)) from None
        try:
            return self.cstore.answer(str(code or ""), ch, iid, AnswerIn(guess, conf, text))
        except NotFound:
            raise UserError(tr("cls_err_not_joined", lang)) from None
        except ValidationError as exc:
            msg = str(exc)
            key = "cls_err_revealed" if "revealed" in msg else "cls_err_closed" if "closed" in msg else None
            raise UserError(tr(key, lang) if key else msg) from None

