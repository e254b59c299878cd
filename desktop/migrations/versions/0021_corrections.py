"""corrections with a reason: a step's date or record corrected, a case voided (作废), a household closed (户注销)
or reopened — each kept with who, when, why and the value it replaced (issue 19, problem 9)

Revision ID: 0021
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("clue_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("made_by", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name=op.f("fk_correction_household_id_household")),
        sa.ForeignKeyConstraint(["case_id"], ["case_.id"], name=op.f("fk_correction_case_id_case_")),
        sa.ForeignKeyConstraint(["step_id"], ["case_step.id"], name=op.f("fk_correction_step_id_case_step")),
        sa.ForeignKeyConstraint(["clue_id"], ["clue.id"], name=op.f("fk_correction_clue_id_clue")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correction")),
    )
    with op.batch_alter_table("correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_correction_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_correction_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_correction_case_id"))
        batch_op.drop_index(batch_op.f("ix_correction_household_id"))
    op.drop_table("correction")
