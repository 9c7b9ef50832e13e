"""fair outbox: call-outs take turns between incidents

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

outbox.fair_rank: a call-out's turn within its incident's queue, weighted by the incident's
severity (dispatch/outbox.py fair_rank); 0 for every other kind. Senders claim due pending rows
in (priority, fair_rank, id) order through the partial index ix_outbox_fair_due.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fair_rank", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(
            "ix_outbox_fair_due",
            ["channel", "priority", "fair_rank", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_fair_due", postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_column("fair_rank")
