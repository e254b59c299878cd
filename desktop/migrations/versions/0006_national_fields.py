"""places for the national system's facts the register lacked (SPEC §9.1); 是否脱贫户 and
整户无劳动能力兜底保障户 may be unknown (NULL) instead of a made-up 否

Revision ID: 0006
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

AFTER_FLAGS = ("after_dropout", "after_housing_damaged", "after_medical_missing", "after_water_damaged")
AFTER_MONEY = ("after_a28", "after_a29", "after_a30", "after_a31", "after_a32", "after_a33", "after_a34",
               "after_a35", "after_a36")


def upgrade() -> None:
    with op.batch_alter_table("household") as batch:
        batch.alter_column("a4_poverty_alleviated", existing_type=sa.Boolean(), nullable=True)
        batch.alter_column("whole_no_labor_guarantee", existing_type=sa.Boolean(), nullable=True)
        for name in AFTER_FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=True))
        for name in AFTER_MONEY:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("work_place", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("a17_resident_medical", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("a17_employee_medical", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("a19_employee_pension", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("public_post_months", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("school_absence_reason", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        for name in ("school_absence_reason", "public_post_months", "a19_employee_pension", "a17_employee_medical",
                     "a17_resident_medical", "work_place"):
            batch.drop_column(name)
    # Going back to a schema that cannot say "unknown": unknown becomes 否, as it was stored before.
    op.execute("UPDATE household SET whole_no_labor_guarantee = 0 WHERE whole_no_labor_guarantee IS NULL")
    op.execute("UPDATE household SET a4_poverty_alleviated = 0 WHERE a4_poverty_alleviated IS NULL")
    with op.batch_alter_table("household") as batch:
        for name in (*reversed(AFTER_MONEY), *reversed(AFTER_FLAGS)):
            batch.drop_column(name)
        batch.alter_column("whole_no_labor_guarantee", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("a4_poverty_alleviated", existing_type=sa.Boolean(), nullable=False)
