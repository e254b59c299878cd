"""the audit log as a chain: a keyed hash per entry over the previous one and its own content (issue 15)

The secret that keys it is created here, inside the (encrypted) database, and every existing entry is chained in
the order it was written, so that the whole log is covered from this version on.

Revision ID: 0020
Revises: 0019
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"  # after the county edition's 0019 (which follows main's head 0021)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("chain", sa.LargeBinary(length=32), nullable=True))
    from desktop.services.audit import CHAIN_SETTING, chain_existing
    bind = op.get_bind()
    key = secrets.token_hex(32)
    bind.execute(sa.text("INSERT INTO app_setting (key, value) VALUES (:k, :v)"), {"k": CHAIN_SETTING, "v": key})
    chain_existing(bind, bytes.fromhex(key))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM app_setting WHERE key = 'audit_chain_key'"))
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("chain")
