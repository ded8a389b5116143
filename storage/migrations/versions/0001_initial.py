"""Initial schema: images, predictions, phrase maps, feedback with review state, phrase votes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("stored_path", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("stored_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("sha256", name="pk_images"),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("model_revision", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("p_fake", sa.Float(), nullable=True),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("verdict IN ('real', 'fake', 'undecided')", name="ck_predictions_verdict"),
        sa.ForeignKeyConstraint(["image_sha256"], ["images.sha256"], ondelete="CASCADE",
                                name="fk_predictions_image_sha256_images"),
        sa.PrimaryKeyConstraint("id", name="pk_predictions"),
    )
    op.create_index("ix_predictions_image_sha256", "predictions", ["image_sha256"])
    op.create_index("ix_predictions_verdict", "predictions", ["verdict"])
    op.create_index("ix_predictions_client_created", "predictions", ["client_hash", "created_at"])

    op.create_table(
        "phrase_maps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=False),
        sa.Column("phrase_index", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("cols", sa.Integer(), nullable=False),
        sa.Column("grid", sa.LargeBinary(), nullable=False),
        sa.Column("crop_x0", sa.Integer(), nullable=False),
        sa.Column("crop_y0", sa.Integer(), nullable=False),
        sa.Column("crop_x1", sa.Integer(), nullable=False),
        sa.Column("crop_y1", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reliance", sa.Float(), nullable=True),
        sa.Column("deletion_auc", sa.Float(), nullable=True),
        sa.Column("insertion_auc", sa.Float(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"], ondelete="CASCADE",
                                name="fk_phrase_maps_prediction_id_predictions"),
        sa.PrimaryKeyConstraint("id", name="pk_phrase_maps"),
        sa.UniqueConstraint("prediction_id", "phrase_index", "method", name="uq_phrase_maps_key"),
    )

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("verdict_correct", sa.Boolean(), nullable=True),
        sa.Column("true_label", sa.String(8), nullable=True),
        sa.Column("corrected_explanation", sa.Text(), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("review_state", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.CheckConstraint("true_label IS NULL OR true_label IN ('real', 'fake', 'unsure')",
                           name="ck_feedback_true_label"),
        sa.CheckConstraint(
            "category IS NULL OR category IN "
            "('animal', 'human', 'object', 'scenery', 'satellite', 'doc', 'deepfake')",
            name="ck_feedback_category"),
        sa.CheckConstraint("review_state IN ('pending', 'accepted', 'rejected')",
                           name="ck_feedback_review_state"),
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"], ondelete="CASCADE",
                                name="fk_feedback_prediction_id_predictions"),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("prediction_id", "client_hash", name="uq_feedback_prediction_client"),
    )
    op.create_index("ix_feedback_client_hash", "feedback", ["client_hash"])
    op.create_index("ix_feedback_review_state", "feedback", ["review_state"])

    op.create_table(
        "phrase_votes",
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("phrase_index", sa.Integer(), nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
        sa.CheckConstraint("vote IN ('agree', 'disagree')", name="ck_phrase_votes_vote"),
        sa.ForeignKeyConstraint(["feedback_id"], ["feedback.id"], ondelete="CASCADE",
                                name="fk_phrase_votes_feedback_id_feedback"),
        sa.PrimaryKeyConstraint("feedback_id", "phrase_index", name="pk_phrase_votes"),
    )


def downgrade() -> None:
    op.drop_table("phrase_votes")
    op.drop_index("ix_feedback_review_state", table_name="feedback")
    op.drop_index("ix_feedback_client_hash", table_name="feedback")
    op.drop_table("feedback")
    op.drop_table("phrase_maps")
    op.drop_index("ix_predictions_client_created", table_name="predictions")
    op.drop_index("ix_predictions_verdict", table_name="predictions")
    op.drop_index("ix_predictions_image_sha256", table_name="predictions")
    op.drop_table("predictions")
    op.drop_table("images")
