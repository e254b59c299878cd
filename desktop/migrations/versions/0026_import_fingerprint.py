"""import fingerprints: what the last import read of each household (issue 20)

A re-import skips a household whose rows in the file are byte for byte those of the last import (and that
nothing wrote to since): services/exchange/fingerprint.py.

Revision ID: 0026
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_fingerprint",
        sa.Column("household_no", sa.String(32), primary_key=True),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("rawkey", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(16), nullable=False),
        sa.Column("noted", sa.Boolean(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("measures", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("income", sa.Boolean(), nullable=False),
        sa.Column("ids", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("import_fingerprint")
