"""The session half of `ClassroomStore`: class sessions run by a teacher, students joining and
answering, and the results (counts for everyone, named answers for the teacher only).

Privacy rules kept here:
- teachers and students are known only by keyed hashes (`Store.client_hash`): a teacher by their
  secret teacher key, a student by a random token of their browser; nothing else about them is kept
  but the nickname they type, which only the session's teacher can read back;
- a session's owner check is part of every teacher read and write (`owner_hash`); a wrong owner
  gets the same NotFound as a missing session, so codes cannot be probed;
- students read back only their own answer and counts of everyone's (`tallies`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .. import validate
from ..errors import NotFound, ValidationError
from ..models import utcnow
from ..store import Store
from ..writer import Tx
from .models import (
    ANSWERS,
    ITEMS,
    PARTICIPANTS,
    SESSIONS,
    SETS,
    Answer,
    ClassSession,
    LessonItem,
    LessonSet,
    Participant,
)
from .records import (
    GUESSES,
    JOIN_CODE_LEN,
    MAX_PARTICIPANTS,
    SET_CODE_LEN,
    AnswerIn,
    AnswerOut,
    ItemOut,
    ParticipantOut,
    SessionOut,
    Tally,
    TeacherRow,
    answer_fields,
    clean_nickname,
    normalize_code,
)


class ClassroomSessions:
    """Sessions, students and results; mixed into `ClassroomStore`, which supplies what is declared here."""

    store: Store
    _items: Callable[[Session, int], tuple[ItemOut, ...]]
    _free_code: Callable[[Any, Any, int], str]

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
        nick = clean_nickname(nickname)

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


def _participant_out(p: Participant) -> ParticipantOut:
    return ParticipantOut(p.id, p.session_id, p.nickname, p.joined_at)


def _answer_out(a: Answer) -> AnswerOut:
    return AnswerOut(a.id, a.item_id, a.guess, a.confidence, a.reason, a.answered_at, a.updated_at)

