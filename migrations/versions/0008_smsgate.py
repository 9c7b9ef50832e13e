"""smsgate: an idempotency key on every outbox row

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

The key goes with every attempt at an SMS; SMSGate (SMS Gateway for Android) makes it the
message id and refuses a second message with the same id, so a retry after a crash or a
timeout can never send twice. Random (not the row id), because a phone remembers ids across
a reset of this database. Rows that exist already get a random key here.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# 32 hex characters from the database's own random source: within the key's alphabet and length.
_RANDOM_KEY = {
    "postgresql": "md5(random()::text || clock_timestamp()::text || id::text)",
    "sqlite": "lower(hex(randomblob(16)))",
}


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=36), nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE outbox SET idempotency_key = {_RANDOM_KEY[dialect]}")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_outbox_idempotency_key"), ["idempotency_key"])


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_outbox_idempotency_key"), type_="unique")
        batch_op.drop_column("idempotency_key")
