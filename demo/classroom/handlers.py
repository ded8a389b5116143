"""Classroom event handlers: Gradio values in, `Classroom` calls, Gradio updates out.

Every handler's first input is the page context, a string "LANG|PAGE_URL" that the browser fills
in just before the event is sent (see page.py's CONTEXT_JS), so server-made text follows the
language the page shows. `UserError` becomes `gr.Error` (shown as it is). Polling handlers return
`gr.skip()` for everything when nothing changed, and never overwrite what a student is typing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
import pandas as pd

from .. import figures
from ..events import user_errors
from ..i18n import normalize, tr
from ..service import UserError, request_address
from ..service.classroom import Classroom, ItemIn, RevealView, StudentView, Teacher, TeacherView, phrase_maps
from . import cards
from .keys import KeyHandlers, hidden
from .layout import ANSWER_COLUMNS, PENDING_COLUMNS, RESULT_COLUMNS
from .presenter import PresenterHandlers

MAX_PENDING_BYTES = 300 * 1024 * 1024


def parse_context(ctx: Any) -> tuple[str, str]:
    """("zh-CN", "http://host/classroom") from the browser's "LANG|URL" context string."""
    text = ctx if isinstance(ctx, str) else ""
    lang, _, url = text.partition("|")
    url = url.split("?")[0].split("#")[0][:500]
    return normalize(lang), url if url.startswith(("http://", "https://")) else ""


def _table(columns: tuple[str, ...], rows: list[list[Any]], lang: str) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[tr(c, lang) for c in columns])


def _default_phrase(phrases: tuple[str, ...]) -> int | None:
    if not phrases:
        return None
    return 1 if len(phrases) > 1 else 0


def _phrase_index(value: Any, n: int) -> int | None:
    try:
        i = int(value)
    except (TypeError, ValueError):
        return None
    return i if 0 <= i < n else None


class ClassroomHandlers(KeyHandlers, PresenterHandlers):
    def __init__(self, svc: Classroom):
        self.svc = svc

    @staticmethod
    def _lang(ctx: Any) -> str:
        return parse_context(ctx)[0]

    @staticmethod
    def _context(ctx: Any) -> tuple[str, str]:
        return parse_context(ctx)

    # ------------------------------------------------------------------ shared
    def _teacher(self, key_store: Any, key_box: Any, lang: str) -> Teacher:
        key = (key_box or "").strip() if isinstance(key_box, str) else ""
        return self.svc.teacher(key or key_store, lang)

    def _teacher_session(self, state: Any, key_store: Any, key_box: Any, lang: str) -> tuple[Teacher, str]:
        """The teacher and the code of the session their page is running; a clear error without one."""
        teacher = self._teacher(key_store, key_box, lang)
        code = (state or {}).get("code")
        if not code:
            raise UserError(tr("cls_err_pick_session", lang))
        return teacher, code

    def _teacher_or_new(self, key_store: Any, key_box: Any, lang: str) -> tuple[Teacher, str, bool]:
        """The teacher, their key, and whether the key was just made for them (to show it once)."""
        key = (key_box or "").strip() if isinstance(key_box, str) else ""
        key = key or (key_store if isinstance(key_store, str) else "")
        if key:
            return self.svc.teacher(key, lang), key, False
        key = self.svc.new_teacher_key()
        return self.svc.teacher(key, lang), key, True

    def _heat(self, image: Any, maps: list, phrases: tuple[str, ...], index: int | None, lang: str) -> Any:
        if index is None or image is None:
            return None
        pm = next((m for m in maps if m.phrase_index == index), None)
        if pm is None:
            return None
        # the map in plain words (share of the evidence, bands, hover sentence) in the class's language
        return figures.heatmap_figure(image, image.size, pm, opacity=0.7, title=phrases[index],
                                      unseen_label=tr("cls_unseen", lang), height=420, lang=lang)

    def _reveal_outputs(self, item: Any, revealed: bool, ready: bool, new_ready: bool, reveal: Any, live: Any,
                        tally: Any, answer: Any, lang: str) -> tuple:
        """Reveal card, explanation, phrase chips, heatmap and clue cards of the current picture: the
        same for a student and the teacher. `reveal` is the stored result (None while the answer
        streams; `live` then has it so far); chips, heatmap and clues are redrawn only on `new_ready`."""
        reveal_html, expl = "", ""
        if revealed and item:
            verdict = reveal.verdict if reveal else (live.verdict if live else None)
            p_fake = reveal.p_fake if reveal else (live.p_fake if live else None)
            reveal_html = cards.reveal_card(verdict, p_fake, item.truth, item.reference, tally, answer, lang,
                                            streaming=not ready)
            expl = cards.explanation_html(reveal.text if reveal else (live.text if live else ""), lang)
        chips, heat, clues = gr.skip(), gr.skip(), gr.skip()
        if new_ready:
            if ready and item:
                phrases = tuple(p.text for p in reveal.phrases)
                idx = _default_phrase(phrases)
                chips = gr.update(choices=[(p, i) for i, p in enumerate(phrases)], value=idx, visible=True)
                heat = self._heat(self.svc.picture(item, lang).image, phrase_maps(reveal), phrases, idx, lang)
                clues = cards.clue_cards(phrases[idx], lang) if idx is not None else ""
            else:
                chips, heat, clues = gr.update(choices=[], value=None, visible=False), None, ""
        return reveal_html, expl, chips, heat, clues

    def _chip_outputs(self, item: Any, reveal: Any, chip: Any, lang: str) -> tuple:
        """Heatmap and clue cards of the phrase chip a viewer picked (skips for one out of range)."""
        phrases = tuple(p.text for p in reveal.phrases)
        idx = _phrase_index(chip, len(phrases))
        if idx is None:
            return gr.skip(), gr.skip()
        image = self.svc.picture(item, lang).image
        return self._heat(image, phrase_maps(reveal), phrases, idx, lang), cards.clue_cards(phrases[idx], lang)

    # ------------------------------------------------------------------ page load / language
    def on_load(self, ctx: Any = None, token: Any = None, key_store: Any = None,
                request: gr.Request = None) -> tuple:
        """New browsers get a random token; a join link (?code=...) fills in the code; tables get
        headers in the page's language."""
        lang, _ = parse_context(ctx)
        token = token if self.svc.app.valid_token(token) else self.svc.app.new_visitor_token()
        code = ""
        params = getattr(request, "query_params", None) or {}
        if hasattr(params, "get"):
            code = str(params.get("code") or "")[:12]
        sessions = self._session_choices(key_store, lang)
        return (token, code or gr.skip(), lang, cards.glossary_html(lang),
                _table(PENDING_COLUMNS, [], lang), gr.update(choices=sessions),
                gr.update(open=not self._has_sets(key_store, lang)))

    def _has_sets(self, key_store: Any, lang: str) -> bool:
        if not isinstance(key_store, str) or not key_store:
            return False
        try:
            return bool(self.svc.my_sets(self.svc.teacher(key_store, lang)))
        except UserError:
            return False

    def refresh_language(self, ctx: Any = None, st_state: Any = None, t_state: Any = None,
                         new_key: Any = None) -> tuple:
        """The page switched language: redraw the glossary and the new-key notice now, everything
        the polls draw at their next tick, and drop one-off status lines of the old language."""
        lang, _ = parse_context(ctx)
        st = dict(st_state or {}) or None
        t = dict(t_state or {}) or None
        for s in (st, t):
            if s:
                s["sig"] = None
                s["ready"] = None
        key_note = tr("cls_key_new", lang) if isinstance(new_key, str) and new_key else ""  # never the key itself
        return cards.glossary_html(lang), st, t, lang, key_note, "", "", ""

    def _session_choices(self, key_store: Any, lang: str) -> list[tuple[str, str]]:
        if not isinstance(key_store, str) or not key_store:
            return []
        try:
            teacher = self.svc.teacher(key_store, lang)
        except UserError:
            return []
        return [(f"{s.code} · {s.title} ({s.created_at:%Y-%m-%d %H:%M})", s.code) for s in self.svc.my_sessions(teacher)]

    # ------------------------------------------------------------------ student
    @user_errors
    def join(self, ctx: Any = None, code: Any = None, nickname: Any = None, token: Any = None,
             request: gr.Request = None) -> tuple:
        lang, _ = parse_context(ctx)
        if not self.svc.app.valid_token(token):  # joined before the page finished loading
            token = self.svc.app.new_visitor_token()
        # join codes are short: tries are limited per browser and per address (kept in memory only)
        address = self.svc.app.visitor(None, "join", request_address(request)).address_key
        view = self.svc.join(token, code, nickname, lang, address_key=address)
        state = {"code": view.session.code, "item": None, "sig": None, "ready": None}
        status = tr("cls_joined", lang, nick=view.participant.nickname, title=view.session.title)
        return (status, gr.update(visible=True), gr.Timer(active=True), token,
                *self._student_outputs(view, state, None, lang, force=True))

    def student_poll(self, ctx: Any = None, state: Any = None, token: Any = None, chip: Any = None) -> tuple:
        n = 1 + len(STUDENT_OUTPUTS)
        if not state or not state.get("code"):
            return (gr.skip(),) * n
        lang, _ = parse_context(ctx)
        try:
            view = self.svc.student_view(token, state["code"], lang)
        except UserError:
            return (gr.skip(),) * n
        if view.signature == state.get("sig"):
            return (gr.skip(),) * n
        return self._student_outputs(view, dict(state), chip, lang)

    def _student_outputs(self, v: StudentView, state: dict, chip: Any, lang: str, force: bool = False) -> tuple:
        item = v.item
        new_item = force or state.get("item") != (item.id if item else None)
        ready = v.reveal is not None
        new_ready = new_item or state.get("ready") != ready
        state.update(item=item.id if item else None, sig=v.signature, ready=ready)
        closed = v.session.state != "open"
        progress = tr("cls_progress", lang, title=v.session.title, n=(item.position + 1) if item else 0,
                      total=len(v.session.items))
        if closed:
            progress += "  \n" + tr("cls_session_closed", lang)
        image = self.svc.picture(item, lang).image if item and new_item else gr.skip()
        answerable = bool(item) and not v.revealed and not closed
        if new_item:
            a = v.answer
            guess, conf, reason = (a.guess, a.confidence, a.reason or "") if a else (None, 3, "")
            form_values = (gr.update(value=guess), gr.update(value=conf), gr.update(value=reason))
        else:
            form_values = (gr.skip(), gr.skip(), gr.skip())
        if v.revealed:
            answer_status = "" if v.answer else tr("cls_no_answer_given", lang)
        elif v.answer:
            answer_status = tr("cls_answer_saved", lang, guess=tr(f"guess_{v.answer.guess}", lang),
                               conf=v.answer.confidence)
        else:
            answer_status = tr("cls_answer_prompt", lang) if answerable else ""
        return (state, progress, image, gr.update(visible=answerable), *form_values, answer_status,
                *self._reveal_outputs(item, v.revealed, ready, new_ready, v.reveal, v.live, v.tally, v.answer,
                                      lang))

    @user_errors
    def answer(self, ctx: Any = None, state: Any = None, token: Any = None, guess: Any = None,
               confidence: Any = None, reason: Any = None) -> str:
        lang, _ = parse_context(ctx)
        if not state or not state.get("code") or not state.get("item"):
            raise UserError(tr("cls_err_not_joined", lang))
        a = self.svc.answer(token, state["code"], state["item"], guess, confidence, reason, lang)
        return tr("cls_answer_saved", lang, guess=tr(f"guess_{a.guess}", lang), conf=a.confidence)

    def student_chip(self, ctx: Any = None, state: Any = None, token: Any = None, chip: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        try:
            view = self.svc.student_view(token, (state or {}).get("code"), lang)
        except UserError:
            return gr.skip(), gr.skip()
        if view.reveal is None or view.item is None:
            return gr.skip(), gr.skip()
        return self._chip_outputs(view.item, view.reveal, chip, lang)

    # ------------------------------------------------------------------ teacher: building a set
    def _pending_rows(self, pending: list[ItemIn], examples: list[str] | None, lang: str) -> pd.DataFrame:
        rows = [[i.caption or "", tr(f"source_{i.source}", lang), tr(f"truth_{i.truth or 'unknown'}", lang)]
                for i in pending]
        from ..service.classroom import example_truth  # noqa: PLC0415

        rows += [[n, tr("source_example", lang), tr(f"truth_{example_truth(n) or 'unknown'}", lang)]
                 for n in (examples or [])]
        return _table(PENDING_COLUMNS, rows, lang)

    @user_errors
    def add_uploads(self, ctx: Any = None, files: Any = None, truth: Any = None, pending: Any = None,
                    examples: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        paths = [f if isinstance(f, str) else getattr(f, "name", None) or (f or {}).get("path") for f in (files or [])]
        paths = [p for p in paths if p]
        items, problems = self.svc.items_from_files(paths, truth if truth in ("real", "fake") else None, lang)
        pending = list(pending or []) + items
        if sum(len(i.data) for i in pending) > MAX_PENDING_BYTES:
            raise UserError(tr("cls_err_pending_full", lang))
        status = tr("cls_added", lang, n=len(items))
        if problems:
            status += "  \n" + tr("cls_refused", lang) + "  \n" + "  \n".join(f"- {p}" for p in problems)
        return pending, self._pending_rows(pending, examples, lang), status, None

    def show_examples(self, ctx: Any = None, pending: Any = None, examples: Any = None) -> pd.DataFrame:
        lang, _ = parse_context(ctx)
        return self._pending_rows(list(pending or []), examples, lang)

    @user_errors
    def pull_fakeclue(self, ctx: Any = None, count: Any = None, pending: Any = None, examples: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        items, problems = self.svc.items_from_fakeclue(int(count or 6), lang)
        pending = list(pending or []) + items
        status = tr("cls_added", lang, n=len(items))
        if problems:
            status += "  \n" + tr("cls_refused", lang) + "  \n" + "  \n".join(f"- {p}" for p in problems)
        return pending, self._pending_rows(pending, examples, lang), status

    def clear_pending(self, ctx: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        return [], _table(PENDING_COLUMNS, [], lang), [], ""

    @user_errors
    def create_set(self, ctx: Any = None, key_store: Any = None, key_box: Any = None, title: Any = None,
                   pending: Any = None, examples: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        teacher, key, is_new = self._teacher_or_new(key_store, key_box, lang)
        items = list(pending or []) + self.svc.items_from_examples(list(examples or []), lang)
        s = self.svc.create_set(teacher, title, items, lang)
        status = tr("cls_set_saved", lang, code=s.code, n=len(s.items), title=s.title)
        return (key, key, *self._key_note(key, is_new, lang), [], _table(PENDING_COLUMNS, [], lang), [], status,
                s.code, gr.update(open=False))

    # ------------------------------------------------------------------ teacher: sessions
    @user_errors
    def start_session(self, ctx: Any = None, key_store: Any = None, key_box: Any = None,
                      set_code: Any = None) -> tuple:
        lang, url = parse_context(ctx)
        teacher, key, is_new = self._teacher_or_new(key_store, key_box, lang)
        s = self.svc.start_session(teacher, set_code, lang)
        status = tr("cls_session_started", lang, code=s.code)
        view = self.svc.teacher_view(teacher, s.code, lang)
        # the key box closes and its notice goes (unless the key was made just now, for this session)
        return (key, key, tr("cls_key_new", lang) if is_new else "", key if is_new else gr.skip(),
                *hidden(), gr.update(open=False), status, gr.update(choices=self._session_choices(key, lang), value=s.code),
                gr.update(visible=True), gr.Timer(active=True),
                *self._teacher_outputs(view, {"code": s.code}, lang, url, force=True))

    @user_errors
    def resume(self, ctx: Any = None, key_store: Any = None, key_box: Any = None, code: Any = None) -> tuple:
        lang, url = parse_context(ctx)
        if not code:
            raise UserError(tr("cls_err_pick_session", lang))
        teacher = self._teacher(key_store, key_box, lang)
        view = self.svc.teacher_view(teacher, code, lang)
        return (*hidden(), gr.update(open=False), tr("cls_session_resumed", lang, code=view.session.code),
                gr.update(visible=True),
                gr.Timer(active=True), *self._teacher_outputs(view, {"code": view.session.code}, lang, url, force=True))

    def _teacher_outputs(self, v: TeacherView, state: dict, lang: str, url: str, force: bool = False,
                         reveal: RevealView | None = None) -> tuple:
        s = v.session
        item = v.item
        new_item = force or state.get("item") != (item.id if item else None)
        fresh = bool(item and item.reveal and item.reveal.model_id == self.svc.app.model_id)
        revealed = bool(item and item.id in s.revealed)
        ready = revealed and fresh
        new_ready = new_item or state.get("ready") != ready
        state = dict(state, code=s.code, item=item.id if item else None, sig=v.signature, ready=ready)
        page = (url or "").rstrip("/") or tr("cls_this_page", lang)
        banner = cards.join_banner(s.code, page, lang, presenter=bool(url))
        progress = tr("cls_progress", lang, title=s.title, n=(item.position + 1) if item else 0, total=len(s.items))
        if s.state != "open":
            progress += "  \n" + tr("cls_session_closed", lang)
        answered = sum(1 for r in v.rows if item and r.item_id == item.id)
        count = tr("cls_count", lang, answered=answered, joined=s.participants)
        if item and item.truth and not revealed:
            count += "  \n" + tr("cls_truth_private", lang, truth=tr(f"truth_{item.truth}", lang))
        image = self.svc.picture(item, lang).image if item and new_item else gr.skip()
        tally = v.tallies.get(item.id) if item else None
        # a reveal stored by another model counts as not stored
        reveal_outputs = self._reveal_outputs(item, revealed, ready, new_ready, item.reveal if fresh else None,
                                              v.live, tally, None, lang)
        summary = self.svc.summary(v)
        summary_md = tr("cls_summary", lang, **summary)
        answers = [[r.nickname, tr(f"guess_{r.guess}", lang), r.confidence, r.reason or ""]
                   for r in v.rows if item and r.item_id == item.id]
        return (banner, progress, image, count, *reveal_outputs,
                _table(RESULT_COLUMNS, self.svc.results_rows(v, lang), lang), summary_md,
                _table(ANSWER_COLUMNS, answers, lang), state)

    def teacher_poll(self, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None) -> tuple:
        n = len(TEACHER_OUTPUTS)
        if not state or not state.get("code"):
            return (gr.skip(),) * n
        lang, url = parse_context(ctx)
        try:
            view = self.svc.teacher_view(self._teacher(key_store, key_box, lang), state["code"], lang)
        except UserError:
            return (gr.skip(),) * n
        if view.signature == state.get("sig"):
            return (gr.skip(),) * n
        return self._teacher_outputs(view, dict(state), lang, url)

    @user_errors
    def move(self, delta: int, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None) -> tuple:
        lang, url = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        self.svc.move(teacher, code, delta, lang)
        return self._teacher_outputs(self.svc.teacher_view(teacher, code, lang), dict(state), lang, url)

    @user_errors
    def reveal(self, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None) -> Iterator[tuple]:
        """Reveal the current picture to the class, streaming the model's answer."""
        lang, url = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        for rv in self.svc.reveal(teacher, code, lang):
            if rv.stage != "done":
                yield (cards.reveal_card(rv.verdict, rv.p_fake, rv.item.truth, rv.item.reference, None, None, lang,
                                         streaming=True),
                       cards.explanation_html(rv.text, lang), gr.skip(), gr.skip(), gr.skip(), gr.skip())
        view = self.svc.teacher_view(teacher, code, lang)
        out = self._teacher_outputs(view, dict(state, ready=None), lang, url)
        # reveal card, explanation, chips, heatmap, clues; and a state that makes the next poll
        # redraw the rest (class results, counts), which this event does not output
        yield out[4], out[5], out[6], out[7], out[8], dict(out[12], sig=None)

    @user_errors
    def prepare(self, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None) -> Iterator[str]:
        lang, _ = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        yield tr("cls_preparing", lang, done=0, total="…")
        for done, total in self.svc.prepare(teacher, code, lang):
            yield tr("cls_preparing", lang, done=done, total=total)
        yield tr("cls_prepared", lang)

    @user_errors
    def close_session(self, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None) -> tuple:
        lang, url = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        self.svc.close_session(teacher, code, lang)
        return self._teacher_outputs(self.svc.teacher_view(teacher, code, lang), dict(state), lang, url)

    @user_errors
    def delete_session(self, ctx: Any = None, state: Any = None, key_store: Any = None,
                       key_box: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        n = self.svc.delete_session(teacher, code, lang)
        key = key_box or key_store
        return (tr("cls_deleted", lang, code=code, n=n), gr.update(visible=False), gr.Timer(active=False), None,
                gr.update(choices=self._session_choices(key, lang), value=None), gr.update(open=True))

    def teacher_chip(self, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None,
                     chip: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        try:
            view = self.svc.teacher_view(self._teacher(key_store, key_box, lang), (state or {}).get("code"), lang)
        except UserError:
            return gr.skip(), gr.skip()
        item = view.item
        if item is None or item.reveal is None:
            return gr.skip(), gr.skip()
        return self._chip_outputs(item, item.reveal, chip, lang)

    @user_errors
    def export(self, ctx: Any = None, state: Any = None, key_store: Any = None, key_box: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        path = self.svc.export_csv(teacher, code, lang)
        return [str(path)], tr("cls_exported", lang)

    @user_errors
    def handout(self, which: str, ctx: Any = None, state: Any = None, key_store: Any = None,
                key_box: Any = None) -> tuple:
        lang, _ = parse_context(ctx)
        teacher, code = self._teacher_session(state, key_store, key_box, lang)
        pdf, html_path, note = self.svc.handout(teacher, code, which, lang)
        files = [str(p) for p in (pdf, html_path) if p is not None]
        return files, tr("cls_handout_ready", lang) + (f"  \n{note}" if note else "")


STUDENT_OUTPUTS = ("st_progress", "st_image", "st_form", "st_guess", "st_confidence", "st_reason",
                   "st_answer_status", "st_reveal", "st_expl", "st_chips", "st_heatmap", "st_clues")
TEACHER_OUTPUTS = ("t_banner", "t_progress", "t_image", "t_count", "t_reveal_card", "t_expl", "t_chips", "t_heatmap",
                   "t_clues", "t_results", "t_summary", "t_answers", "t_state")
