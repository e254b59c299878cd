"""整改台账: each data-quality finding's rectification state, kept across check runs (issue 17)

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rectification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("rule_key", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("member_id_number", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_message", sa.Text(), nullable=True),
        sa.Column("first_found_on", sa.Date(), nullable=False),
        sa.Column("last_found_on", sa.Date(), nullable=False),
        sa.Column("fixed_on", sa.Date(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_rectification_household_id_household")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification")),
    )
    op.create_index("ix_rectification_year_household", "rectification", ["year", "household_id"])


def downgrade() -> None:
    op.drop_index("ix_rectification_year_household", table_name="rectification")
    op.drop_table("rectification")
