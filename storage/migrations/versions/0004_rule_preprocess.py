"""Each prediction records how it was read: the verdict rule and the picture preprocessing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Predictions made before this revision used the only behaviour there was: the word rule and
    # the default (EXIF-rotated, alpha-on-grey) picture; the server defaults say so.
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("rule", sa.String(16), nullable=False, server_default="word"))
        batch.add_column(sa.Column("preprocess", sa.String(16), nullable=False, server_default="default"))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("preprocess")
        batch.drop_column("rule")
