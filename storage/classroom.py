"""Classroom storage: lesson sets of pictures, class sessions, participants and their answers.

A teacher builds a lesson set (pictures with their ground truth when known), shared by a short
set code; opens a class session from a set, joined by a short join code; students join with a
nickname and answer real / fake, with a confidence and a few words, before each reveal.

Same rules as the rest of the store (storage/store.py): writes go through the store's single
writer thread as SQLAlchemy Core statements, reads use the typed ORM on the reader pool, and
plain records go in and out. Privacy rules kept here:
- teachers and students are known only by keyed hashes (`Store.client_hash`): a teacher by their
  secret teacher key, a student by a random token of their browser; nothing else about them is kept
  but the nickname they type, which only the session's teacher can read back;
- a session's owner check is part of every teacher read and write (`owner_hash`); a wrong owner
  gets the same NotFound as a missing session, so codes cannot be probed;
- students read back only their own answer and counts of everyone's (`tallies`).

Lesson pictures are the teacher's material, shown to the class, so their bytes are kept (in
`<data_dir>/classroom/images/`, content-addressed like the store's own, but outside the
consent-driven image store, whose sweeps and withdrawals must not touch them).
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import validate
from .errors import NotFound, ValidationError
from .images import ImageFiles
from .models import Base, utcnow
from .records import CATEGORIES, MapIn, PhraseSpan
from .store import Store
from .writer import Tx

# Codes people read aloud and type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LEN = 6
SET_CODE_LEN = 8
SOURCES: tuple[str, ...] = ("upload", "example", "fakeclue")
GUESSES: tuple[str, ...] = ("real", "fake")
SESSION_STATES: tuple[str, ...] = ("open", "closed")
CONFIDENCE = (1, 5)
MAX_ITEMS = 40
MAX_TITLE = 120
MAX_NICKNAME = 40
MAX_REASON = 280
MAX_REFERENCE = 4_000
MAX_PARTICIPANTS = 500


# ---------------------------------------------------------------------------- ORM models


class LessonSet(Base):
    __tablename__ = "lesson_sets"
    __table_args__ = (Index("ix_lesson_sets_owner_hash", "owner_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LessonItem(Base):
    __tablename__ = "lesson_items"
    __table_args__ = (
        UniqueConstraint("set_id", "position", name="uq_lesson_items_set_position"),
        CheckConstraint("truth IS NULL OR truth IN ('real', 'fake')", name="truth"),
        CheckConstraint("source IN ('upload', 'example', 'fakeclue')", name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("lesson_sets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    image_sha256: Mapped[str] = mapped_column(String(64))
    image_format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    truth: Mapped[str | None] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(Text)
    caption: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(16))
    # The model's answer and maps for this picture, computed once (see RevealIn). Read apart from
    # the rest of the row (it is ~20 KB of JSON) and cached by `reveal_at`, which changes with it.
    reveal: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    reveal_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassSession(Base):
    __tablename__ = "class_sessions"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'closed')", name="state"),
        Index("ix_class_sessions_owner_hash", "owner_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("lesson_sets.id", ondelete="CASCADE"))
    owner_hash: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    revealed: Mapped[list[Any]] = mapped_column(default=list)  # item ids
    state: Mapped[str] = mapped_column(String(8), default="open")
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every teacher action
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Participant(Base):
    __tablename__ = "class_participants"
    __table_args__ = (UniqueConstraint("session_id", "client_hash", name="uq_class_participants_session_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    client_hash: Mapped[str] = mapped_column(String(64))
    nickname: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class Answer(Base):
    __tablename__ = "class_answers"
    __table_args__ = (
        UniqueConstraint("participant_id", "item_id", name="uq_class_answers_participant_item"),
        CheckConstraint("guess IN ('real', 'fake')", name="guess"),
        CheckConstraint("confidence BETWEEN 1 AND 5", name="confidence"),
        Index("ix_class_answers_session_item", "session_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("class_participants.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("lesson_items.id", ondelete="CASCADE"))
    guess: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


SETS = LessonSet.__table__
ITEMS = LessonItem.__table__
SESSIONS = ClassSession.__table__
PARTICIPANTS = Participant.__table__
ANSWERS = Answer.__table__


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ItemIn:
    """A picture for a lesson set. `data` is the file as given; it is kept byte for byte."""

    data: bytes
    image_format: str  # a key of IMAGE_FORMATS
    width: int
    height: int
    source: str = "upload"  # one of SOURCES
    truth: str | None = None  # "real" | "fake" | None (unknown)
    reference: str | None = None  # a reference explanation (FakeClue's), when known
    caption: str | None = None
    category: str | None = None  # a FakeClue category, when known


@dataclass(frozen=True)
class RevealIn:
    """The model's answer on one picture, with its phrase maps (to show at every later reveal)."""

    model_id: str
    text: str
    verdict: str
    p_fake: float | None
    phrases: Sequence[PhraseSpan]
    maps: Sequence[MapIn] = ()
    prediction_id: int | None = None


@dataclass(frozen=True)
class RevealOut:
    model_id: str
    text: str
    verdict: str
    p_fake: float | None
    phrases: tuple[PhraseSpan, ...]
    maps: tuple[MapIn, ...]
    prediction_id: int | None
    created_at: str


@dataclass(frozen=True)
class ItemOut:
    id: int
    set_id: int
    position: int
    image_sha256: str
    image_format: str
    width: int
    height: int
    source: str
    truth: str | None
    reference: str | None
    caption: str | None
    category: str | None
    reveal: RevealOut | None


@dataclass(frozen=True)
class LessonSetOut:
    id: int
    code: str
    title: str
    owner_hash: str
    created_at: datetime
    items: tuple[ItemOut, ...]


@dataclass(frozen=True)
class SessionOut:
    id: int
    code: str
    set_id: int
    set_code: str
    title: str
    owner_hash: str
    position: int
    revealed: frozenset[int]  # item ids
    state: str
    version: int
    created_at: datetime
    items: tuple[ItemOut, ...]
    participants: int

    @property
    def current(self) -> ItemOut | None:
        return self.items[self.position] if 0 <= self.position < len(self.items) else None


@dataclass(frozen=True)
class ParticipantOut:
    id: int
    session_id: int
    nickname: str
    joined_at: datetime


@dataclass(frozen=True)
class AnswerIn:
    guess: str  # "real" | "fake"
    confidence: int  # 1 (guessing) .. 5 (certain)
    reason: str | None = None  # "what made you think so", a few words


@dataclass(frozen=True)
class AnswerOut:
    id: int
    item_id: int
    guess: str
    confidence: int
    reason: str | None
    answered_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Tally:
    """How the class answered one picture: counts only, never who or why."""

    item_id: int
    answers: int
    real: int
    fake: int
    mean_confidence: float | None
    correct: int | None  # answers matching the ground truth; None when it is unknown


@dataclass(frozen=True)
class TeacherRow:
    """One student's answer, for the session's teacher only."""

    nickname: str
    item_id: int
    position: int
    guess: str
    confidence: int
    reason: str | None
    answered_at: datetime


# ---------------------------------------------------------------------------- validation


def normalize_code(value: object, length: int) -> str:
    """A code as people type it (any case, spaces, dashes) -> the stored form; ValidationError if
    it cannot be one."""
    if not isinstance(value, str):
        raise ValidationError("a code must be text")
    code = "".join(ch for ch in value.upper() if ch not in " -_\t")
    if len(code) != length or any(ch not in CODE_ALPHABET for ch in code):
        raise ValidationError(f"'{value.strip()[:20]}' is not a {length}-character code")
    return code


def new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _title(value: object) -> str:
    text = validate.clean_text(value if isinstance(value, str) else "", "title", 10_000).strip()
    text = " ".join(text.split())
    if not text:
        raise ValidationError("the lesson set needs a title")
    return text[:MAX_TITLE]


def _item(it: ItemIn) -> dict[str, Any]:
    if not isinstance(it, ItemIn):
        raise ValidationError("lesson items must be ItemIn records")
    if not isinstance(it.data, (bytes, bytearray, memoryview)) or not it.data:
        raise ValidationError("a lesson picture must be non-empty bytes")
    if len(it.data) > validate.MAX_IMAGE_BYTES:
        raise ValidationError(f"a lesson picture is too large ({len(it.data)} bytes)")
    return {
        "data": bytes(it.data),
        "image_format": validate.image_format(it.image_format),
        "width": validate.integer(it.width, "picture width", 1, validate.MAX_IMAGE_SIDE),
        "height": validate.integer(it.height, "picture height", 1, validate.MAX_IMAGE_SIDE),
        "source": validate.choice(it.source, SOURCES, "picture source"),
        "truth": validate.choice(it.truth, GUESSES, "ground truth", optional=True),
        "reference": _cut(validate.optional_text(it.reference, "reference explanation", 100_000), MAX_REFERENCE),
        "caption": _cut(validate.optional_text(it.caption, "caption", 10_000), 200),
        "category": validate.choice(it.category, CATEGORIES, "category", optional=True),
    }


def _cut(text: str | None, n: int) -> str | None:
    return None if text is None else text[:n]


def _nickname(value: object) -> str:
    text = validate.clean_text(value if isinstance(value, str) else "", "nickname", 10_000)
    text = " ".join("".join(ch for ch in text if ch.isprintable()).split())
    if not text:
        raise ValidationError("please choose a nickname")
    if len(text) > MAX_NICKNAME:
        raise ValidationError(f"the nickname is too long (at most {MAX_NICKNAME} characters)")
    return text


def answer_fields(a: AnswerIn) -> dict[str, Any]:
    if not isinstance(a, AnswerIn):
        raise ValidationError("an answer must be an AnswerIn record")
    reason = validate.optional_text(a.reason, "reason", 100_000)
    if reason is not None:
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON:
            raise ValidationError(f"the reason is too long (at most {MAX_REASON} characters)")
    return {
        "guess": validate.choice(a.guess, GUESSES, "answer"),
        "confidence": validate.integer(a.confidence, "confidence", *CONFIDENCE),
        "reason": reason,
    }


def _reveal_json(r: RevealIn) -> dict[str, Any]:
    if not isinstance(r, RevealIn):
        raise ValidationError("a reveal must be a RevealIn record")
    model_id = validate.clean_text(r.model_id, "model id", validate.MAX_IDENT)
    text = validate.clean_text(r.text, "model answer", validate.MAX_TEXT)
    verdict = validate.choice(r.verdict, ("real", "fake", "undecided"), "verdict")
    p_fake = validate.finite(r.p_fake, "p_fake", lo=0.0, hi=1.0)
    phrases = []
    for p in list(r.phrases)[: validate.MAX_PHRASES]:
        if not isinstance(p, PhraseSpan):
            raise ValidationError("phrases must be PhraseSpan records")
        phrases.append({"text": validate.clean_text(p.text, "phrase", validate.MAX_TEXT),
                        "char_start": int(p.char_start), "char_end": int(p.char_end)})
    maps = []
    for m in list(r.maps)[: validate.MAX_PHRASES]:
        v = validate.phrase_map(m)
        maps.append({"phrase_index": v["phrase_index"], "method": v["method"], "crop_box": list(v["crop_box"]),
                     # 4 significant digits: a map is a picture, and this keeps a reveal ~20 KB
                     "grid": [[float(f"{x:.4g}") for x in row] for row in v["grid"]],
                     "score": v["score"], "reliance": v["reliance"]})
    pid = None if r.prediction_id is None else validate.integer(r.prediction_id, "prediction id", 1, 2**63 - 1)
    return {"model_id": model_id, "text": text, "verdict": verdict, "p_fake": p_fake, "phrases": phrases,
            "maps": maps, "prediction_id": pid, "created_at": utcnow().isoformat()}


def _reveal_out(raw: dict[str, Any] | None) -> RevealOut | None:
    if not raw:
        return None
    try:
        maps = tuple(MapIn(int(m["phrase_index"]), str(m["method"]), tuple(tuple(float(x) for x in row)
                                                                           for row in m["grid"]),
                           tuple(int(v) for v in m["crop_box"]), m.get("score"), m.get("reliance"))
                     for m in raw.get("maps") or ())
        phrases = tuple(PhraseSpan(str(p["text"]), int(p["char_start"]), int(p["char_end"]))
                        for p in raw.get("phrases") or ())
        p_fake = raw.get("p_fake")
        return RevealOut(str(raw["model_id"]), str(raw["text"]), str(raw["verdict"]),
                         None if p_fake is None or not math.isfinite(float(p_fake)) else float(p_fake),
                         phrases, maps, raw.get("prediction_id"), str(raw.get("created_at", "")))
    except (KeyError, TypeError, ValueError):
        return None  # a damaged cache is recomputed, not fatal


# ---------------------------------------------------------------------------- the store


class ClassroomStore:
    """Classroom tables on top of an open `Store` (same database, same writer thread)."""

    REVEAL_CACHE_ITEMS = 512

    def __init__(self, store: Store) -> None:
        self.store = store
        self.files = ImageFiles(store.data_dir / "classroom")
        # item id -> (reveal_at, parsed reveal): every poll of every student reads the session, and
        # parsing its reveals each time would cost tens of milliseconds a poll
        self._reveals: OrderedDict[int, tuple[datetime, RevealOut | None]] = OrderedDict()
        self._reveals_lock = threading.Lock()

    # ------------------------------------------------------------------ lesson sets

    def create_set(self, owner_hash: str, title: str, items: Sequence[ItemIn]) -> LessonSetOut:
        """A new lesson set owned by `owner_hash`; its pictures are kept. Returns it with its code."""
        owner = validate.sha256_hex(owner_hash, "owner hash")
        name = _title(title)
        rows = [_item(it) for it in items]
        if not rows:
            raise ValidationError("a lesson set needs at least one picture")
        if len(rows) > MAX_ITEMS:
            raise ValidationError(f"a lesson set holds at most {MAX_ITEMS} pictures")

        def job(tx: Tx) -> int:
            conn = tx.conn
            code = self._free_code(conn, SETS, SET_CODE_LEN)
            now = utcnow()
            set_id = int(conn.execute(SETS.insert(), {"code": code, "title": name, "owner_hash": owner,
                                                      "created_at": now}).inserted_primary_key[0])
            for pos, r in enumerate(rows):
                sha, _ = self.files.write(r["data"])
                conn.execute(ITEMS.insert(), {
                    "set_id": set_id, "position": pos, "image_sha256": sha, "image_format": r["image_format"],
                    "width": r["width"], "height": r["height"], "size_bytes": len(r["data"]),
                    "source": r["source"], "truth": r["truth"], "reference": r["reference"],
                    "caption": r["caption"], "category": r["category"], "reveal": None, "reveal_at": None,
                    "created_at": now})
            return set_id

        set_id = self.store._write(job)  # noqa: SLF001 - the store's own writer, same package
        out = self._read_set(LessonSet.id == set_id)
        assert out is not None
        return out

    def get_set(self, code: str) -> LessonSetOut | None:
        """A lesson set by its share code (anyone with the code may use it to open a session)."""
        return self._read_set(LessonSet.code == normalize_code(code, SET_CODE_LEN))

    def get_set_by_id(self, set_id: int) -> LessonSetOut | None:
        return self._read_set(LessonSet.id == validate.integer(set_id, "set id", 1, 2**63 - 1))

    def list_sets(self, owner_hash: str, limit: int = 50) -> list[LessonSetOut]:
        owner = validate.sha256_hex(owner_hash, "owner hash")

        def q(s: Session) -> list[int]:
            return list(s.scalars(select(LessonSet.id).where(LessonSet.owner_hash == owner)
                                  .order_by(LessonSet.created_at.desc(), LessonSet.id.desc()).limit(limit)))

        return [x for i in self.store._read(q) if (x := self._read_set(LessonSet.id == i))]  # noqa: SLF001

    def delete_set(self, code: str, owner_hash: str) -> bool:
        """Remove a set of this owner, its sessions, answers, and picture files no other set uses."""
        c = normalize_code(code, SET_CODE_LEN)
        owner = validate.sha256_hex(owner_hash, "owner hash")

        def job(tx: Tx) -> bool:
            conn = tx.conn
            row = conn.execute(select(SETS.c.id).where(SETS.c.code == c, SETS.c.owner_hash == owner)).first()
            if row is None:
                return False
            shas = set(conn.execute(select(ITEMS.c.image_sha256).where(ITEMS.c.set_id == row.id)).scalars())
            sessions = select(SESSIONS.c.id).where(SESSIONS.c.set_id == row.id).scalar_subquery()
            # children first, so the result does not depend on ON DELETE CASCADE being enforced
            conn.execute(delete(ANSWERS).where(ANSWERS.c.session_id.in_(sessions)))
            conn.execute(delete(PARTICIPANTS).where(PARTICIPANTS.c.session_id.in_(sessions)))
            conn.execute(delete(SESSIONS).where(SESSIONS.c.set_id == row.id))
            conn.execute(delete(ITEMS).where(ITEMS.c.set_id == row.id))
            conn.execute(delete(SETS).where(SETS.c.id == row.id))
            for sha in shas:
                tx.on_commit(lambda sha=sha: self._unlink_if_unused(sha))
            return True

        return bool(self.store._write(job))  # noqa: SLF001

    def _unlink_if_unused(self, sha: str) -> None:
        with self.store._writer_engine.connect() as conn:  # noqa: SLF001 - runs in the writer thread
            used = conn.execute(select(ITEMS.c.id).where(ITEMS.c.image_sha256 == sha).limit(1)).first()
        if used is None:
            self.files.remove(sha)

    def item_bytes(self, sha256: str) -> bytes | None:
        return self.files.read(validate.sha256_hex(sha256))

    def save_reveal(self, item_id: int, reveal: RevealIn) -> None:
        """Keep the model's answer and maps for a picture (replacing an older one)."""
        iid = validate.integer(item_id, "item id", 1, 2**63 - 1)
        value = _reveal_json(reveal)

        def job(tx: Tx) -> None:
            if tx.conn.execute(update(ITEMS).where(ITEMS.c.id == iid).values(reveal=value, reveal_at=utcnow())
                               ).rowcount == 0:
                raise NotFound(f"no lesson item {iid}")

        self.store._write(job)  # noqa: SLF001

    # ------------------------------------------------------------------ sessions

    def open_session(self, set_code: str, owner_hash: str) -> SessionOut:
        """A new class session on a lesson set, owned by `owner_hash` (anyone with the set code)."""
        c = normalize_code(set_code, SET_CODE_LEN)
        owner = validate.sha256_hex(owner_hash, "owner hash")

        def job(tx: Tx) -> str:
            conn = tx.conn
            set_id = conn.execute(select(SETS.c.id).where(SETS.c.code == c)).scalar()
            if set_id is None:
                raise NotFound(f"no lesson set {c}")
            code = self._free_code(conn, SESSIONS, JOIN_CODE_LEN)
            now = utcnow()
            conn.execute(SESSIONS.insert(), {"code": code, "set_id": set_id, "owner_hash": owner, "position": 0,
                                             "revealed": [], "state": "open", "version": 0, "created_at": now,
                                             "updated_at": now})
            return code

        code = self.store._write(job)  # noqa: SLF001
        out = self.get_session(code)
        assert out is not None
        return out

    def get_session(self, code: str) -> SessionOut | None:
        """A session by its join code (what students and the teacher's page poll)."""
        return self._read_session(ClassSession.code == normalize_code(code, JOIN_CODE_LEN))

    def teacher_session(self, code: str, owner_hash: str) -> SessionOut:
        """The session if `owner_hash` owns it, else NotFound (the same as for a missing one)."""
        owner = validate.sha256_hex(owner_hash, "owner hash")
        s = self.get_session(code)
        if s is None or not secrets.compare_digest(s.owner_hash, owner):
            raise NotFound("no such session for this teacher")
        return s

    def list_sessions(self, owner_hash: str, limit: int = 50) -> list[SessionOut]:
        owner = validate.sha256_hex(owner_hash, "owner hash")

        def q(s: Session) -> list[str]:
            return list(s.scalars(select(ClassSession.code).where(ClassSession.owner_hash == owner)
                                  .order_by(ClassSession.created_at.desc(), ClassSession.id.desc()).limit(limit)))

        return [x for c in self.store._read(q) if (x := self._read_session(ClassSession.code == c))]  # noqa: SLF001

    def set_position(self, code: str, owner_hash: str, position: int) -> SessionOut:
        """Show picture number `position` (0-based) to the class."""
        s = self.teacher_session(code, owner_hash)
        pos = validate.integer(position, "position", 0, max(0, len(s.items) - 1))
        return self._update_session(s, position=pos)

    def reveal_item(self, code: str, owner_hash: str, item_id: int) -> SessionOut:
        """Reveal a picture of the session: its answers close, the class sees the results."""
        s = self.teacher_session(code, owner_hash)
        iid = validate.integer(item_id, "item id", 1, 2**63 - 1)
        if iid not in {i.id for i in s.items}:
            raise NotFound(f"picture {iid} is not in this session")
        if iid in s.revealed:
            return s
        return self._update_session(s, revealed=sorted(s.revealed | {iid}))

    def close_session(self, code: str, owner_hash: str) -> SessionOut:
        s = self.teacher_session(code, owner_hash)
        return s if s.state == "closed" else self._update_session(s, state="closed")

    def delete_session(self, code: str, owner_hash: str) -> int:
        """Remove a session with its participants and answers; returns how many answers went."""
        s = self.teacher_session(code, owner_hash)

        def job(tx: Tx) -> int:
            conn = tx.conn
            n = conn.execute(select(func.count()).select_from(ANSWERS).where(ANSWERS.c.session_id == s.id)).scalar()
            conn.execute(delete(ANSWERS).where(ANSWERS.c.session_id == s.id))
            conn.execute(delete(PARTICIPANTS).where(PARTICIPANTS.c.session_id == s.id))
            conn.execute(delete(SESSIONS).where(SESSIONS.c.id == s.id))
            return int(n or 0)

        return int(self.store._write(job))  # noqa: SLF001

    def _update_session(self, s: SessionOut, **values: Any) -> SessionOut:
        def job(tx: Tx) -> None:
            tx.conn.execute(update(SESSIONS).where(SESSIONS.c.id == s.id).values(
                **values, version=SESSIONS.c.version + 1, updated_at=utcnow()))

        self.store._write(job)  # noqa: SLF001
        out = self.get_session(s.code)
        assert out is not None
        return out

    # ------------------------------------------------------------------ students

    def join(self, code: str, client_hash: str, nickname: str) -> ParticipantOut:
        """Join (or re-join, keeping one's answers) an open session; the nickname may change."""
        c = normalize_code(code, JOIN_CODE_LEN)
        ch = validate.sha256_hex(client_hash, "client hash")
        nick = _nickname(nickname)

        def job(tx: Tx) -> int:
            conn = tx.conn
            srow = conn.execute(select(SESSIONS.c.id, SESSIONS.c.state).where(SESSIONS.c.code == c)).first()
            if srow is None:
                raise NotFound(f"no class session {c}")
            prow = conn.execute(select(PARTICIPANTS.c.id).where(PARTICIPANTS.c.session_id == srow.id,
                                                                 PARTICIPANTS.c.client_hash == ch)).first()
            if prow is not None:
                conn.execute(update(PARTICIPANTS).where(PARTICIPANTS.c.id == prow.id).values(nickname=nick))
                return int(prow.id)
            if srow.state != "open":
                raise ValidationError("this class session is closed")
            n = conn.execute(select(func.count()).select_from(PARTICIPANTS)
                             .where(PARTICIPANTS.c.session_id == srow.id)).scalar()
            if (n or 0) >= MAX_PARTICIPANTS:
                raise ValidationError(f"this class session is full ({MAX_PARTICIPANTS} students)")
            return int(conn.execute(PARTICIPANTS.insert(), {"session_id": srow.id, "client_hash": ch,
                                                            "nickname": nick, "joined_at": utcnow()})
                       .inserted_primary_key[0])

        pid = self.store._write(job)  # noqa: SLF001
        return self.store._read(lambda s: _participant_out(s.get(Participant, pid)))  # noqa: SLF001

    def participant(self, code: str, client_hash: str) -> ParticipantOut | None:
        c = normalize_code(code, JOIN_CODE_LEN)
        ch = validate.sha256_hex(client_hash, "client hash")

        def q(s: Session) -> ParticipantOut | None:
            p = s.scalar(select(Participant).join(ClassSession, Participant.session_id == ClassSession.id)
                         .where(ClassSession.code == c, Participant.client_hash == ch))
            return _participant_out(p) if p else None

        return self.store._read(q)  # noqa: SLF001

    def answer(self, code: str, client_hash: str, item_id: int, answer: AnswerIn) -> AnswerOut:
        """Save (or change) a student's answer on a picture, while that picture is not revealed."""
        c = normalize_code(code, JOIN_CODE_LEN)
        ch = validate.sha256_hex(client_hash, "client hash")
        iid = validate.integer(item_id, "item id", 1, 2**63 - 1)
        fields = answer_fields(answer)

        def job(tx: Tx) -> int:
            conn = tx.conn
            srow = conn.execute(select(SESSIONS.c.id, SESSIONS.c.set_id, SESSIONS.c.state, SESSIONS.c.revealed)
                                .where(SESSIONS.c.code == c)).first()
            if srow is None:
                raise NotFound(f"no class session {c}")
            pid = conn.execute(select(PARTICIPANTS.c.id).where(PARTICIPANTS.c.session_id == srow.id,
                                                                PARTICIPANTS.c.client_hash == ch)).scalar()
            if pid is None:
                raise NotFound("join the session before answering")
            if conn.execute(select(ITEMS.c.id).where(ITEMS.c.id == iid, ITEMS.c.set_id == srow.set_id)).first() is None:
                raise NotFound(f"picture {iid} is not in this session")
            if srow.state != "open":
                raise ValidationError("this class session is closed")
            if iid in set(srow.revealed or ()):
                raise ValidationError("this picture has been revealed; answers are closed")
            now = utcnow()
            existing = conn.execute(select(ANSWERS.c.id).where(ANSWERS.c.participant_id == pid,
                                                                ANSWERS.c.item_id == iid)).scalar()
            if existing is not None:
                conn.execute(update(ANSWERS).where(ANSWERS.c.id == existing).values(**fields, updated_at=now))
                return int(existing)
            return int(conn.execute(ANSWERS.insert(), {**fields, "session_id": srow.id, "participant_id": pid,
                                                       "item_id": iid, "answered_at": now, "updated_at": now})
                       .inserted_primary_key[0])

        aid = self.store._write(job)  # noqa: SLF001
        return self.store._read(lambda s: _answer_out(s.get(Answer, aid)))  # noqa: SLF001

    def my_answers(self, code: str, client_hash: str) -> dict[int, AnswerOut]:
        """This student's own answers in a session, by item id."""
        c = normalize_code(code, JOIN_CODE_LEN)
        ch = validate.sha256_hex(client_hash, "client hash")
        q = (select(Answer).join(Participant, Answer.participant_id == Participant.id)
             .join(ClassSession, Answer.session_id == ClassSession.id)
             .where(ClassSession.code == c, Participant.client_hash == ch))
        return self.store._read(lambda s: {a.item_id: _answer_out(a) for a in s.scalars(q)})  # noqa: SLF001

    # ------------------------------------------------------------------ results

    def tallies(self, code: str) -> dict[int, Tally]:
        """Counts of answers per picture of a session (safe to show to everyone after a reveal)."""
        c = normalize_code(code, JOIN_CODE_LEN)

        def q(sess: Session) -> dict[int, Tally] | None:
            srow = sess.execute(select(ClassSession.id, ClassSession.set_id).where(ClassSession.code == c)).first()
            if srow is None:
                return None
            truth = dict(sess.execute(select(LessonItem.id, LessonItem.truth)
                                      .where(LessonItem.set_id == srow.set_id)).all())
            rows = sess.execute(select(Answer.item_id, Answer.guess, func.count(), func.avg(Answer.confidence))
                                .where(Answer.session_id == srow.id).group_by(Answer.item_id, Answer.guess)).all()
            acc: dict[int, dict[str, Any]] = {iid: {"real": 0, "fake": 0, "conf": 0.0} for iid in truth}
            for item_id, guess, n, avg in rows:
                if item_id in acc:
                    acc[item_id][guess] = int(n)
                    acc[item_id]["conf"] += float(avg or 0) * int(n)
            out = {}
            for iid, a in acc.items():
                total = a["real"] + a["fake"]
                t = truth.get(iid)
                out[iid] = Tally(iid, total, a["real"], a["fake"], (a["conf"] / total) if total else None,
                                 a[t] if t in GUESSES else None)
            return out

        out = self.store._read(q)  # noqa: SLF001
        if out is None:
            raise NotFound("no such session")
        return out

    def teacher_rows(self, code: str, owner_hash: str) -> list[TeacherRow]:
        """Every answer of the session with nickname and reason: for its teacher only."""
        s = self.teacher_session(code, owner_hash)
        positions = {i.id: i.position for i in s.items}
        q = (select(Answer, Participant.nickname).join(Participant, Answer.participant_id == Participant.id)
             .where(Answer.session_id == s.id).order_by(Answer.item_id, Participant.nickname, Answer.id))

        def run(sess: Session) -> list[TeacherRow]:
            return [TeacherRow(nick, a.item_id, positions.get(a.item_id, -1), a.guess, a.confidence, a.reason,
                               a.answered_at) for a, nick in sess.execute(q)]

        return self.store._read(run)  # noqa: SLF001

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _free_code(conn: Any, table: Any, length: int) -> str:
        for _ in range(20):
            code = new_code(length)
            if conn.execute(select(table.c.id).where(table.c.code == code)).first() is None:
                return code
        raise ValidationError("could not find a free code; try again")  # 31**6 codes: practically never

    def _items(self, s: Session, set_id: int) -> tuple[ItemOut, ...]:
        """A set's items in order, reveals from the cache (read and parsed only when new)."""
        rows = list(s.scalars(select(LessonItem).where(LessonItem.set_id == set_id).order_by(LessonItem.position)))
        reveals: dict[int, RevealOut | None] = {}
        missing = []
        with self._reveals_lock:
            for r in rows:
                if r.reveal_at is None:
                    continue
                hit = self._reveals.get(r.id)
                if hit is not None and hit[0] == r.reveal_at:
                    reveals[r.id] = hit[1]
                    self._reveals.move_to_end(r.id)
                else:
                    missing.append(r)
        if missing:
            raw = dict(s.execute(select(LessonItem.id, LessonItem.reveal)
                                 .where(LessonItem.id.in_([r.id for r in missing]))).all())
            with self._reveals_lock:
                for r in missing:
                    reveals[r.id] = _reveal_out(raw.get(r.id))
                    self._reveals[r.id] = (r.reveal_at, reveals[r.id])
                    self._reveals.move_to_end(r.id)
                while len(self._reveals) > self.REVEAL_CACHE_ITEMS:
                    self._reveals.popitem(last=False)
        return tuple(_item_out(r, reveals.get(r.id)) for r in rows)

    def _read_set(self, where: Any) -> LessonSetOut | None:
        def q(s: Session) -> LessonSetOut | None:
            row = s.scalar(select(LessonSet).where(where))
            if row is None:
                return None
            return LessonSetOut(row.id, row.code, row.title, row.owner_hash, row.created_at, self._items(s, row.id))

        return self.store._read(q)  # noqa: SLF001

    def _read_session(self, where: Any) -> SessionOut | None:
        def q(s: Session) -> SessionOut | None:
            row = s.execute(select(ClassSession, LessonSet.code, LessonSet.title)
                            .join(LessonSet, ClassSession.set_id == LessonSet.id).where(where)).first()
            if row is None:
                return None
            cs, set_code, title = row
            items = self._items(s, cs.set_id)
            n = s.scalar(select(func.count()).select_from(Participant).where(Participant.session_id == cs.id)) or 0
            return SessionOut(cs.id, cs.code, cs.set_id, set_code, title, cs.owner_hash, cs.position,
                              frozenset(int(i) for i in (cs.revealed or ())), cs.state, cs.version, cs.created_at,
                              items, int(n))

        return self.store._read(q)  # noqa: SLF001


def _item_out(i: LessonItem, reveal: RevealOut | None) -> ItemOut:
    return ItemOut(i.id, i.set_id, i.position, i.image_sha256, i.image_format, i.width, i.height, i.source,
                   i.truth, i.reference, i.caption, i.category, reveal)


def _participant_out(p: Participant) -> ParticipantOut:
    return ParticipantOut(p.id, p.session_id, p.nickname, p.joined_at)


def _answer_out(a: Answer) -> AnswerOut:
    return AnswerOut(a.id, a.item_id, a.guess, a.confidence, a.reason, a.answered_at, a.updated_at)


__all__ = [
    "CODE_ALPHABET", "GUESSES", "JOIN_CODE_LEN", "MAX_ITEMS", "MAX_NICKNAME", "MAX_REASON", "SET_CODE_LEN",
    "SOURCES", "AnswerIn", "AnswerOut", "ClassroomStore", "ItemIn", "ItemOut", "LessonSetOut", "ParticipantOut",
    "RevealIn", "RevealOut", "SessionOut", "Tally", "TeacherRow", "normalize_code",
]
