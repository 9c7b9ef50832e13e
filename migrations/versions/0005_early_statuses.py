"""early statuses: status callbacks that arrive before the send is recorded

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Twilio may call /sms/status before the sender has committed the MessageSid it was given.
Such a callback is kept here and applied when the sender records the SID (dispatch/delivery.py).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "early_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_statuses")),
    )
    op.create_index(op.f("ix_early_statuses_provider_id"), "early_statuses", ["provider_id"], unique=False)
    op.create_index(op.f("ix_early_statuses_received_at"), "early_statuses", ["received_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_early_statuses_received_at"), table_name="early_statuses")
    op.drop_index(op.f("ix_early_statuses_provider_id"), table_name="early_statuses")
    op.drop_table("early_statuses")
