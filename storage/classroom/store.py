"""`ClassroomStore`: the classroom on an open `Store`; here its lesson sets, their picture files and
the cache of parsed reveals (sessions, students and results: storage.classroom.sessions).

Writes go through the feedback store's single writer thread (`store._write`), as SQLAlchemy Core
statements; reads use its reader pool (`store._read`) and the typed ORM.

Lesson pictures are the teacher's material, shown to the class, so their bytes are kept (in
`<data_dir>/classroom/images/`, content-addressed like the store's own, but outside the
consent-driven image store, whose sweeps and withdrawals must not touch them).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .. import validate
from ..errors import NotFound, ValidationError
from ..images import ImageFiles
from ..models import utcnow
from ..store import Store
from ..writer import Tx
from .models import ANSWERS, ITEMS, PARTICIPANTS, SESSIONS, SETS, LessonItem, LessonSet
from .records import (
    MAX_ITEMS,
    SET_CODE_LEN,
    ItemIn,
    ItemOut,
    LessonSetOut,
    RevealIn,
    RevealOut,
    item_fields,
    new_code,
    normalize_code,
    reveal_json,
    reveal_out,
    set_title,
)
from .sessions import ClassroomSessions


class ClassroomStore(ClassroomSessions):
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
        name = set_title(title)
        rows = [item_fields(it) for it in items]
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
        value = reveal_json(reveal)

        def job(tx: Tx) -> None:
            if tx.conn.execute(update(ITEMS).where(ITEMS.c.id == iid).values(reveal=value, reveal_at=utcnow())
                               ).rowcount == 0:
                raise NotFound(f"no lesson item {iid}")

        self.store._write(job)  # noqa: SLF001

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
                    reveals[r.id] = reveal_out(raw.get(r.id))
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


def _item_out(i: LessonItem, reveal: RevealOut | None) -> ItemOut:
    return ItemOut(i.id, i.set_id, i.position, i.image_sha256, i.image_format, i.width, i.height, i.source,
                   i.truth, i.reference, i.caption, i.category, reveal)
