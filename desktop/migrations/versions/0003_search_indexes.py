"""covering indexes for the register search

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_index("ix_member_name")
        batch.drop_index("ix_member_id_number")
        batch.create_index("ix_member_name_household", ["name", "household_id"])
        batch.create_index("ix_member_id_number_household", ["id_number", "household_id"])
        batch.create_index("ix_member_phone_household", ["phone", "household_id"])
    op.create_index("ix_household_no_phone", "household", ["household_no", "phone"])


def downgrade() -> None:
    op.drop_index("ix_household_no_phone", table_name="household")
    with op.batch_alter_table("member") as batch:
        batch.drop_index("ix_member_phone_household")
        batch.drop_index("ix_member_id_number_household")
        batch.drop_index("ix_member_name_household")
        batch.create_index("ix_member_name", ["name"])
        batch.create_index("ix_member_id_number", ["id_number"])
