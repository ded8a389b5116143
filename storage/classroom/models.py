"""The classroom's ORM tables: lesson sets and their pictures, class sessions, participants, answers.

They live on the feedback store's `Base` (storage.models): importing this module puts them in
`Base.metadata`, which the schema tests compare with what the migrations build (revision 0003
creates these tables; migrations never import models). The `*S` names are their Core tables, for
the writer's statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, utcnow


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
