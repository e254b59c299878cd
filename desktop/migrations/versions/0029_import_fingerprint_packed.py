"""import fingerprints packed: one value for the whole import instead of a row per household (issue 20)

Writing 100,000 rows after every import and reading them back before a re-import cost more than the rest of the
fingerprinting; the households' states are now one zlib-compressed value (services/exchange/fingerprint.py, pack
and unpack). The stored fingerprints are not facts of the register: they are dropped, and the next import reads
the whole file and stores them again.

Revision ID: 0029
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("import_fingerprint")
    op.create_table(
        "import_fingerprint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.execute("DELETE FROM app_setting WHERE key = 'import_fingerprint_run'")


def downgrade() -> None:
    op.drop_table("import_fingerprint")
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
    op.execute("DELETE FROM app_setting WHERE key = 'import_fingerprint_run'")
