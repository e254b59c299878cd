"""facts the seeds' rules need: 脱贫不享受政策 criteria and exceptions, key-group facts, income record origin

Revision ID: 0005
Revises: 0004

- household: 舆情信访户, the yes/no facts of criteria 2–8 and exceptions 2 and 4 of seed 004 annex 2
  (moved here from the per-year JSON of policy_facts, which had no way in and is dropped), and the day
  不再享受政策 was approved;
- member: 失业, 失能, 在外就读, and when the A13 health state began (新发生残疾 / 大病);
- income_record: where it came from (entered / imported, the file, the user) and signatures that can
  be unknown. A record without 采集人 was never entered in the window (which has always required one),
  so its "signatures not collected" was never a fact: it becomes unknown (NULL).
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None

POLICY = (("c2", "policy_c2_cause_gone"), ("c3", "policy_c3_luxury_car"), ("c4", "policy_c4_urban_home"),
          ("c5", "policy_c5_business"), ("c6", "policy_c6_public_servant"), ("c7", "policy_c7_child_business"),
          ("c8", "policy_c8_child_support"), ("e2", "policy_e2_medical_burden"), ("e4", "policy_e4_disaster"))


def upgrade() -> None:
    with op.batch_alter_table("household") as batch:
        batch.add_column(sa.Column("petition", sa.Boolean(), nullable=True))
        for _key, column in POLICY:
            batch.add_column(sa.Column(column, sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("policy_excluded_on", sa.Date(), nullable=True))
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("unemployed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("incapacitated", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("studying_away", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("health_since", sa.Date(), nullable=True))
    with op.batch_alter_table("income_record") as batch:
        batch.alter_column("signatures_collected", existing_type=sa.Boolean(), nullable=True)
        batch.add_column(sa.Column("origin", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("source_file", sa.String(length=260), nullable=True))
        batch.add_column(sa.Column("recorded_by", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE income_record SET signatures_collected = NULL WHERE collected_by IS NULL"))
    # The latest year's recorded facts of each household become its facts.
    rows = bind.execute(sa.text("SELECT household_id, year, facts FROM policy_facts ORDER BY household_id, year")).all()
    latest = {}
    for household_id, _year, facts in rows:
        latest[household_id] = json.loads(facts) if isinstance(facts, str) else (facts or {})
    for household_id, facts in latest.items():
        values = {column: bool(facts[key]) for key, column in POLICY if key in facts}
        if values:
            sets = ", ".join(f"{c} = :{c}" for c in values)
            bind.execute(sa.text(f"UPDATE household SET {sets} WHERE id = :id"), {**values, "id": household_id})
    with op.batch_alter_table("policy_facts") as batch:
        batch.drop_index("ix_policy_facts_household_id")
    op.drop_table("policy_facts")


def downgrade() -> None:
    op.create_table(
        "policy_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name="fk_policy_facts_household_id_household"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_facts"),
        sa.UniqueConstraint("household_id", "year", name="uq_policy_facts_household_year"))
    with op.batch_alter_table("policy_facts") as batch:
        batch.create_index("ix_policy_facts_household_id", ["household_id"], unique=False)
    with op.batch_alter_table("income_record") as batch:
        batch.drop_column("recorded_by")
        batch.drop_column("source_file")
        batch.drop_column("origin")
    op.get_bind().execute(sa.text("UPDATE income_record SET signatures_collected = 0 "
                                  "WHERE signatures_collected IS NULL"))
    with op.batch_alter_table("income_record") as batch:
        batch.alter_column("signatures_collected", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("member") as batch:
        for column in ("health_since", "studying_away", "incapacitated", "unemployed"):
            batch.drop_column(column)
    with op.batch_alter_table("household") as batch:
        batch.drop_column("policy_excluded_on")
        for _key, column in reversed(POLICY):
            batch.drop_column(column)
        batch.drop_column("petition")
