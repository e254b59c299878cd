"""when a member's 低保 and 特困供养 began (unknown stays NULL)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("a20_dibao_since", sa.Date(), nullable=True))
        batch.add_column(sa.Column("a21_tekun_since", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("a21_tekun_since")
        batch.drop_column("a20_dibao_since")
