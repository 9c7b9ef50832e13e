"""failover: the SMS provider a row goes through, call-outs' failover deadlines, provider health

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

outbox.route: None sends through SMS_BACKEND, "fallback" through SMS_FALLBACK_BACKEND.
outbox.failover_at: a call-out with no delivery report by then goes on the volunteer's next
channel (claimed by the scheduler's dispatch tick). provider_health: consecutive send failures
and the last success and failure per provider.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("failover_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_failover_at"), ["failover_at"], unique=False)
        batch_op.create_index("ix_outbox_provider_sent_at", ["provider", "sent_at"], unique=False)
    op.create_table(
        "provider_health",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_health")),
    )


def downgrade():
    op.drop_table("provider_health")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_provider_sent_at")
        batch_op.drop_index(batch_op.f("ix_outbox_failover_at"))
        batch_op.drop_column("failover_at")
        batch_op.drop_column("route")
