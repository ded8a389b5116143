"""SQLAlchemy 2.0 typed ORM models: the schema at the newest Alembic revision.

The migrations in storage/migrations/versions/ are written out by hand and never import this
module, so an old migration keeps meaning what it meant. A test checks that upgrading an empty
database to head produces exactly these tables and columns.
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def pack_grid(grid: list[list[float]]) -> bytes:
    """float32, little-endian, row-major: 2,304 bytes for a 24x24 map."""
    flat = [v for row in grid for v in row]
    return struct.pack(f"<{len(flat)}f", *flat)


def unpack_grid(blob: bytes, rows: int, cols: int) -> list[list[float]]:
    flat = struct.unpack(f"<{rows * cols}f", blob)
    return [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Image(Base):
    """An uploaded image, keyed by the sha256 of its bytes. The bytes are on disk only with consent."""

    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(16))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    # Relative to the data directory, derived from sha256 only; NULL when the bytes are not kept.
    stored_path: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None] = mapped_column()


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        CheckConstraint("verdict IN ('real', 'fake', 'undecided')", name="verdict"),
        Index("ix_predictions_client_created", "client_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("images.sha256", ondelete="CASCADE"), index=True)
    client_hash: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(200))
    model_revision: Mapped[str] = mapped_column(String(200), default="")
    prompt: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    p_fake: Mapped[float | None] = mapped_column(Float)
    phrases: Mapped[list[Any]] = mapped_column(default=list)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Added in revision 0002: provenance findings (C2PA, EXIF...) as a JSON object.
    provenance: Mapped[dict[str, Any] | None] = mapped_column()
    # Added in revision 0004: the verdict rule and the picture preprocessing the model was run with.
    rule: Mapped[str] = mapped_column(String(16), default="word", server_default="word")
    preprocess: Mapped[str] = mapped_column(String(16), default="default", server_default="default")

    image: Mapped[Image] = relationship(lazy="joined")


class PhraseMapRow(Base):
    __tablename__ = "phrase_maps"
    __table_args__ = (UniqueConstraint("prediction_id", "phrase_index", "method", name="uq_phrase_maps_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    phrase_index: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(Integer)
    cols: Mapped[int] = mapped_column(Integer)
    grid: Mapped[bytes] = mapped_column(LargeBinary)  # see pack_grid
    crop_x0: Mapped[int] = mapped_column(Integer)
    crop_y0: Mapped[int] = mapped_column(Integer)
    crop_x1: Mapped[int] = mapped_column(Integer)
    crop_y1: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    reliance: Mapped[float | None] = mapped_column(Float)
    deletion_auc: Mapped[float | None] = mapped_column(Float)
    insertion_auc: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("prediction_id", "client_hash", name="uq_feedback_prediction_client"),
        CheckConstraint("true_label IS NULL OR true_label IN ('real', 'fake', 'unsure')", name="true_label"),
        CheckConstraint(
            "category IS NULL OR category IN "
            "('animal', 'human', 'object', 'scenery', 'satellite', 'doc', 'deepfake')",
            name="category"),
        CheckConstraint("review_state IN ('pending', 'accepted', 'rejected')", name="review_state"),
        Index("ix_feedback_client_hash", "client_hash"),
        Index("ix_feedback_review_state", "review_state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction_id: Mapped[int] = mapped_column(ForeignKey("predictions.id", ondelete="CASCADE"))
    client_hash: Mapped[str] = mapped_column(String(64))
    verdict_correct: Mapped[bool | None] = mapped_column(Boolean)
    true_label: Mapped[str | None] = mapped_column(String(8))
    corrected_explanation: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_state: Mapped[str] = mapped_column(String(16), default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column()

    votes: Mapped[list[PhraseVote]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="PhraseVote.phrase_index")
    prediction: Mapped[Prediction] = relationship(lazy="joined")


class PhraseVote(Base):
    __tablename__ = "phrase_votes"
    __table_args__ = (CheckConstraint("vote IN ('agree', 'disagree')", name="vote"),)

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    phrase_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    vote: Mapped[str] = mapped_column(String(8))


# Core tables for the writer's hot paths (the ORM unit of work costs ~1 ms a flush).
IMAGES = Image.__table__
PREDICTIONS = Prediction.__table__
FEEDBACK = Feedback.__table__
VOTES = PhraseVote.__table__
MAPS = PhraseMapRow.__table__
