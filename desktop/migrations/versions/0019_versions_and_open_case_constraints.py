"""the county edition: a version on every record people edit, one open case per household, one pending step (issue 21)

Revision ID: 0019
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0021"  # main's head when merged (the brief gave 0015)
branch_labels = None
depends_on = None

VERSIONED = ("household", "member", "measure", "income_record", "case_", "case_step", "clue", "screening_visit",
             "year_settings", "region", "rectification")
OPEN_CASE = "state = 'open' AND kind <> 'revisit'"


def upgrade() -> None:
    for table in VERSIONED:  # ADD COLUMN … NOT NULL DEFAULT 1 on both databases: no table is rebuilt
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))
    op.create_index("uq_case_open_household", "case_", ["household_id"], unique=True,
                    sqlite_where=sa.text(OPEN_CASE), postgresql_where=sa.text(OPEN_CASE))
    op.create_index("uq_case_open_household_kind", "case_", ["household_id", "kind"], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_index("uq_case_step_pending", "case_step", ["case_id"], unique=True,
                    sqlite_where=sa.text("done_on IS NULL"), postgresql_where=sa.text("done_on IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_case_step_pending", table_name="case_step")
    op.drop_index("uq_case_open_household_kind", table_name="case_")
    op.drop_index("uq_case_open_household", table_name="case_")
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
