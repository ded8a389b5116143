"""Classroom mode: lesson sets and their pictures, class sessions, participants, answers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lesson_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("owner_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lesson_sets"),
        sa.UniqueConstraint("code", name="uq_lesson_sets_code"),
    )
    op.create_index("ix_lesson_sets_owner_hash", "lesson_sets", ["owner_hash"])

    op.create_table(
        "lesson_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("image_format", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("truth", sa.String(8), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("caption", sa.String(200), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("reveal", sa.JSON(), nullable=True),
        sa.Column("reveal_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("truth IS NULL OR truth IN ('real', 'fake')", name="ck_lesson_items_truth"),
        sa.CheckConstraint("source IN ('upload', 'example', 'fakeclue')", name="ck_lesson_items_source"),
        sa.ForeignKeyConstraint(["set_id"], ["lesson_sets.id"], ondelete="CASCADE",
                                name="fk_lesson_items_set_id_lesson_sets"),
        sa.PrimaryKeyConstraint("id", name="pk_lesson_items"),
        sa.UniqueConstraint("set_id", "position", name="uq_lesson_items_set_position"),
    )

    op.create_table(
        "class_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("owner_hash", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("revealed", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("state IN ('open', 'closed')", name="ck_class_sessions_state"),
        sa.ForeignKeyConstraint(["set_id"], ["lesson_sets.id"], ondelete="CASCADE",
                                name="fk_class_sessions_set_id_lesson_sets"),
        sa.PrimaryKeyConstraint("id", name="pk_class_sessions"),
        sa.UniqueConstraint("code", name="uq_class_sessions_code"),
    )
    op.create_index("ix_class_sessions_owner_hash", "class_sessions", ["owner_hash"])

    op.create_table(
        "class_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("nickname", sa.String(64), nullable=False),
        sa.Column("joined_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["class_sessions.id"], ondelete="CASCADE",
                                name="fk_class_participants_session_id_class_sessions"),
        sa.PrimaryKeyConstraint("id", name="pk_class_participants"),
        sa.UniqueConstraint("session_id", "client_hash", name="uq_class_participants_session_client"),
    )

    op.create_table(
        "class_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("guess", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("answered_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("guess IN ('real', 'fake')", name="ck_class_answers_guess"),
        sa.CheckConstraint("confidence BETWEEN 1 AND 5", name="ck_class_answers_confidence"),
        sa.ForeignKeyConstraint(["session_id"], ["class_sessions.id"], ondelete="CASCADE",
                                name="fk_class_answers_session_id_class_sessions"),
        sa.ForeignKeyConstraint(["participant_id"], ["class_participants.id"], ondelete="CASCADE",
                                name="fk_class_answers_participant_id_class_participants"),
        sa.ForeignKeyConstraint(["item_id"], ["lesson_items.id"], ondelete="CASCADE",
                                name="fk_class_answers_item_id_lesson_items"),
        sa.PrimaryKeyConstraint("id", name="pk_class_answers"),
        sa.UniqueConstraint("participant_id", "item_id", name="uq_class_answers_participant_item"),
    )
    op.create_index("ix_class_answers_session_item", "class_answers", ["session_id", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_class_answers_session_item", table_name="class_answers")
    op.drop_table("class_answers")
    op.drop_table("class_participants")
    op.drop_index("ix_class_sessions_owner_hash", table_name="class_sessions")
    op.drop_table("class_sessions")
    op.drop_table("lesson_items")
    op.drop_index("ix_lesson_sets_owner_hash", table_name="lesson_sets")
    op.drop_table("lesson_sets")
