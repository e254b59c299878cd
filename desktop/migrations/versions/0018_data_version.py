"""the data version: a one-row counter every writing transaction bumps, so caches of assess and check
(services.dataversion) see changes made by any window or process (issue 20)

Revision ID: 0018
Revises: 0017
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0, "stamp": secrets.randbits(62)}])


def downgrade() -> None:
    op.drop_table("data_version")
