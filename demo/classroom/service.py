"""The classroom without Gradio: lesson sets, class sessions, answers, reveals, results, handouts.

`Classroom` sits beside the app's `AppState` (demo/state.py) and reuses it for everything that
touches the model: `AppState.explain` streams the answer (shared model lock, rate limit, stored
prediction) and `AppState.maps` computes the phrase maps (exclusive model lock). The result is kept
on the lesson item (storage/classroom.py), so a picture is run once per model, however many
sessions show it, and reveals survive a restart.

Who is who, without accounts:
- a teacher holds a secret teacher key (made here, shown once, kept hashed);
- a student's browser holds a random token (gr.BrowserState), kept hashed; the nickname they type
  is shown to the teacher of the session only.
What a student gets back is their own answer and counts of the class's answers, never another
student's nickname or words. Handlers (demo/classroom/handlers.py) stay thin: they call this.
"""

from __future__ import annotations

import csv
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explain.images import CheckedImage, ImageRejected, IntakeLimits, check_image
from explain.types import PhraseMap
from storage import MapIn, NotFound, PhraseSpan, StorageError, ValidationError
from storage.classroom import (
    JOIN_CODE_LEN,
    MAX_ITEMS,
    MAX_NICKNAME,
    MAX_REASON,
    SET_CODE_LEN,
    AnswerIn,
    AnswerOut,
    ClassroomStore,
    ItemIn,
    ItemOut,
    LessonSetOut,
    ParticipantOut,
    RevealIn,
    RevealOut,
    SessionOut,
    Tally,
    TeacherRow,
    normalize_code,
)

from ..i18n import tr
from ..state import AppState, RateLimiter, UserError, Visitor
from . import fakeclue
from .handout import FontMissing, HandoutItem, HandoutMap, handout_html, handout_pdf

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{20,128}$")
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAP_METHOD = "gradient"


@dataclass(frozen=True)
class Teacher:
    hash: str


@dataclass
class LiveReveal:
    """A reveal in progress, in memory: what students see while the model is still talking."""

    text: str = ""
    verdict: str | None = None
    p_fake: float | None = None
    stage: str = "start"  # start | text | maps | done | failed


@dataclass(frozen=True)
class RevealView:
    """A snapshot of a reveal for the teacher's page."""

    item: ItemOut
    stage: str  # text | maps | done
    text: str = ""
    verdict: str | None = None
    p_fake: float | None = None
    phrases: tuple[str, ...] = ()
    maps: tuple[PhraseMap, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class StudentView:
    session: SessionOut
    participant: ParticipantOut
    item: ItemOut | None
    answer: AnswerOut | None
    revealed: bool
    reveal: RevealOut | None
    live: LiveReveal | None
    tally: Tally | None

    @property
    def signature(self) -> tuple:
        """Changes whenever what the student should see changes (polling compares it)."""
        live = (self.live.stage, len(self.live.text)) if self.live else None
        return (self.session.id, self.session.version, self.session.state, self.item.id if self.item else None,
                self.revealed, self.reveal is not None, live,
                self.answer.updated_at.isoformat() if self.answer else None,
                (self.tally.answers, self.tally.real) if self.tally else None)


@dataclass(frozen=True)
class TeacherView:
    session: SessionOut
    tallies: dict[int, Tally]
    rows: list[TeacherRow]
    live: LiveReveal | None

    @property
    def item(self) -> ItemOut | None:
        return self.session.current

    @property
    def signature(self) -> tuple:
        last = max((r.answered_at for r in self.rows), default=None)
        live = (self.live.stage, len(self.live.text)) if self.live else None
        return (self.session.id, self.session.version, self.session.participants, len(self.rows),
                last.isoformat() if last else None, sum(1 for i in self.session.items if i.reveal), live)


def example_truth(name: str) -> str | None:
    """The truth of a shipped example from its file name (assets/examples/README.md names them
    toy-fake-* and toy-real-*)."""
    stem = Path(name).stem.lower()
    if re.search(r"(^|-)fake(-|$)", stem):
        return "fake"
    if re.search(r"(^|-)real(-|$)", stem):
        return "real"
    return None


def example_files() -> list[Path]:
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p for p in EXAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _format_key(fmt: str) -> str:
    return {"JPEG": "jpeg", "MPO": "jpeg"}.get(fmt, fmt.lower())


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula (students type these texts)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class Classroom:
    def __init__(self, app: AppState, cstore: ClassroomStore | None = None, *,
                 clock: Any = time.monotonic) -> None:
        self.app = app
        self.cstore = cstore or ClassroomStore(app.store)
        # Joins per 10 minutes, per browser and per address: far too few to find a code among
        # 31**6 by guessing, enough for a whole class behind one school address.
        self.join_rate = RateLimiter(30, clock=clock)
        self.join_address_rate = RateLimiter(600, clock=clock)
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

    # ------------------------------------------------------------------ building a lesson set
    def item_from_bytes(self, data: bytes, *, source: str, truth: str | None = None, reference: str | None = None,
                        caption: str | None = None, category: str | None = None) -> ItemIn:
        """Check a picture as the app checks uploads; raises ImageRejected with the reason."""
        checked = check_image(data, self.limits)
        return ItemIn(data=data, image_format=_format_key(checked.format), width=checked.width,
                      height=checked.height, source=source, truth=truth, reference=reference,
                      caption=(caption or "")[:200] or None,
                      category=category if category in fakeclue_categories() else None)

    def items_from_files(self, paths: Sequence[str], truth: str | None, lang: str) -> tuple[list[ItemIn], list[str]]:
        """Lesson items from uploaded files, and a line per file that was refused."""
        items, problems = [], []
        for p in paths:
            name = Path(p).name
            try:
                data = Path(p).read_bytes()
                items.append(self.item_from_bytes(data, source="upload", truth=truth, caption=name))
            except ImageRejected as exc:
                problems.append(f"{name}: {exc}")
            except OSError:
                problems.append(f"{name}: {tr('cls_err_unreadable', lang)}")
        return items, problems

    def items_from_examples(self, names: Sequence[str], lang: str) -> list[ItemIn]:
        known = {p.name: p for p in example_files()}
        items = []
        for n in names:
            path = known.get(str(n))
            if path is None:
                raise UserError(tr("cls_err_example", lang, name=str(n)[:80]))
            items.append(self.item_from_bytes(path.read_bytes(), source="example", truth=example_truth(path.name),
                                              caption=path.stem.replace("-", " ")))
        return items

    def items_from_fakeclue(self, n: int, lang: str, *, seed: int | None = None) -> tuple[list[ItemIn], list[str]]:
        try:
            samples = fakeclue.pull(n, seed=seed)
        except fakeclue.FakeClueUnavailable as exc:
            raise UserError(tr("cls_err_fakeclue", lang, error=str(exc))) from None
        items, problems = [], []
        for s in samples:
            try:
                items.append(self.item_from_bytes(s.data, source="fakeclue", truth=s.truth, reference=s.reference,
                                                  caption=s.name, category=s.category))
            except ImageRejected as exc:
                problems.append(f"{s.name}: {exc}")
        return items, problems

    def create_set(self, teacher: Teacher, title: str | None, items: Sequence[ItemIn], lang: str) -> LessonSetOut:
        if not items:
            raise UserError(tr("cls_err_no_items", lang))
        if len(items) > MAX_ITEMS:
            raise UserError(tr("cls_err_too_many", lang, n=MAX_ITEMS))
        title = " ".join((title or "").split()) or tr("cls_default_title", lang)
        self._rate(self.build_rate, teacher.hash, lang)
        try:
            return self.cstore.create_set(teacher.hash, title, items)
        except StorageError as exc:
            raise UserError(tr("cls_err_storage", lang, error=str(exc))) from None

    def lesson_set(self, code: Any, lang: str) -> LessonSetOut:
        try:
            s = self.cstore.get_set(str(code or ""))
        except ValidationError:
            raise UserError(tr("cls_err_set_code", lang, n=SET_CODE_LEN)) from None
        if s is None:
            raise UserError(tr("cls_err_no_set", lang))
        return s

    def my_sets(self, teacher: Teacher) -> list[LessonSetOut]:
        return self.cstore.list_sets(teacher.hash)

    # ------------------------------------------------------------------ sessions (teacher)
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

    # ------------------------------------------------------------------ students
    def join(self, token: Any, code: Any, nickname: Any, lang: str, address_key: str | None = None) -> StudentView:
        ch = self.student_hash(token, lang)
        self._rate(self.join_rate, ch, lang)
        if address_key:
            self._rate(self.join_address_rate, address_key, lang)
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

    # ------------------------------------------------------------------ results
    def results_rows(self, view: TeacherView, lang: str) -> list[list[Any]]:
        """One row per picture: what the class said, what the model said, the truth."""
        out = []
        for item in view.session.items:
            t = view.tallies.get(item.id)
            n = t.answers if t else 0

            def pct(k: int, n: int = n) -> int | None:
                return round(100 * k / n) if n else None

            model = item.reveal.verdict if self._fresh(item.reveal) else None
            out.append([
                item.position + 1, item.caption or "", tr(f"truth_{item.truth}", lang) if item.truth else "",
                tr(f"verdict_{model}", lang) if model else "", n, pct(t.real) if t else None,
                pct(t.fake) if t else None, pct(t.correct) if t and t.correct is not None else None,
                round(t.mean_confidence, 1) if t and t.mean_confidence is not None else None,
                tr("cls_yes", lang) if item.id in view.session.revealed else "",
            ])
        return out

    def summary(self, view: TeacherView) -> dict[str, Any]:
        """Session totals: students, answers, the class's and the model's share right where known."""
        right = total = 0
        m_right = m_total = 0
        for item in view.session.items:
            t = view.tallies.get(item.id)
            if t and t.correct is not None:
                right += t.correct
                total += t.answers
            if item.truth and self._fresh(item.reveal) and item.id in view.session.revealed:
                m_total += 1
                m_right += int(item.reveal.verdict == item.truth)
        return {"students": view.session.participants, "answers": len(view.rows),
                "class_right": right, "class_total": total, "model_right": m_right, "model_total": m_total}

    def export_csv(self, teacher: Teacher, code: Any, lang: str) -> Path:
        """Every answer of the session as CSV (teacher only), with the truth and the model's verdict."""
        view = self.teacher_view(teacher, code, lang)
        items = {i.id: i for i in view.session.items}
        out = self._tmp / "exports" / f"classroom-{view.session.code}-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: spreadsheets read UTF-8 right
            w = csv.writer(fh)
            w.writerow(["session", "lesson", "picture", "caption", "truth", "model_verdict", "model_p_fake",
                        "nickname", "answer", "confidence", "reason", "correct", "answered_at"])
            for r in view.rows:
                item = items.get(r.item_id)
                rev = item.reveal if item and self._fresh(item.reveal) else None
                truth = item.truth if item else None
                w.writerow([csv_cell(x) for x in (
                    view.session.code, view.session.title, r.position + 1, item.caption if item else "",
                    truth or "", rev.verdict if rev else "", "" if not rev or rev.p_fake is None else f"{rev.p_fake:.3f}",
                    r.nickname, r.guess, r.confidence, r.reason or "",
                    "" if truth is None else int(r.guess == truth), r.answered_at.isoformat(timespec="seconds"))])
        return out

    def handout(self, teacher: Teacher, code: Any, which: str, lang: str) -> tuple[Path | None, Path, str]:
        """Handout files for the current picture (`which` = "current") or all: a PDF (None when
        this server has no font for the language) and a printable HTML page; and a note."""
        view = self.teacher_view(teacher, code, lang)
        s = view.session
        chosen = [s.current] if which == "current" and s.current else list(s.items)
        items: list[HandoutItem] = []
        for item in chosen:
            reveal = None
            for rv in self.model_answer(teacher, item, lang):
                reveal = rv
            t = view.tallies.get(item.id)
            votes = {"real": t.real, "fake": t.fake} if t and item.id in s.revealed else None
            items.append(HandoutItem(
                image=self.picture(item, lang).image,
                heading=f"{s.title} · {tr('cls_picture_n', lang, n=item.position + 1, total=len(s.items))}",
                text=reveal.text if reveal else "", verdict=reveal.verdict if reveal else None,
                p_fake=reveal.p_fake if reveal else None, phrases=reveal.phrases if reveal else (),
                maps=tuple(HandoutMap(m.phrase_index, m.grid, m.crop_box) for m in (reveal.maps if reveal else ())),
                truth=item.truth, reference=item.reference, votes=votes, model_id=self.app.model_id))
        stem = f"handout-{s.code}-{'p' + str(s.position + 1) if which == 'current' else 'all'}-{lang}"
        folder = self._tmp / "handouts" / secrets.token_hex(4)
        folder.mkdir(parents=True, exist_ok=True)
        html_path = folder / f"{stem}.html"
        html_path.write_text("\n".join(handout_html(i, lang) for i in items[:1]) if len(items) == 1
                             else _join_pages([handout_html(i, lang) for i in items]), encoding="utf-8")
        note = ""
        pdf_path: Path | None = folder / f"{stem}.pdf"
        try:
            pdf_path.write_bytes(handout_pdf(items, lang))
        except FontMissing as exc:
            pdf_path, note = None, str(exc)
        return pdf_path, html_path, note


def _join_pages(pages: list[str]) -> str:
    """Several handout pages as one printable document, a page break between pictures."""
    if not pages:
        return ""
    head, _, _ = pages[0].partition("<body>")
    bodies = [p.partition("<body>")[2].rpartition("</body>")[0] for p in pages]
    brk = "<div style='break-after: page'></div>"
    return head + "<body>" + brk.join(bodies) + "</body></html>"


def phrase_maps(r: RevealOut) -> list[PhraseMap]:
    return [PhraseMap(phrase_index=m.phrase_index, method=m.method,
                      grid=tuple(tuple(float(v) for v in row) for row in m.grid),
                      crop_box=tuple(int(v) for v in m.crop_box), score=m.score, reliance=m.reliance)
            for m in r.maps]


def fakeclue_categories() -> tuple[str, ...]:
    from storage import CATEGORIES  # noqa: PLC0415

    return CATEGORIES


__all__ = ["Classroom", "LiveReveal", "RevealView", "StudentView", "Teacher", "TeacherView", "example_files",
           "example_truth", "phrase_maps"]
