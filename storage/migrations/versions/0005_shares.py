"""Share links: a visitor's chosen view of one result, behind the sha256 of an unguessable token.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("owner_hash", sa.String(64), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("picture", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        # deleting a prediction (or its picture, storage/store_images.py) takes its shares with it
        sa.ForeignKeyConstraint(["prediction_id"], ["predictions.id"], ondelete="CASCADE",
                                name="fk_shares_prediction_id_predictions"),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
        sa.UniqueConstraint("token_hash", name="uq_shares_token_hash"),
    )
    op.create_index("ix_shares_owner_hash", "shares", ["owner_hash"])
    op.create_index("ix_shares_prediction_id", "shares", ["prediction_id"])


def downgrade() -> None:
    op.drop_index("ix_shares_prediction_id", table_name="shares")
    op.drop_index("ix_shares_owner_hash", table_name="shares")
    op.drop_table("shares")
