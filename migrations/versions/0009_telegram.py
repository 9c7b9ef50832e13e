"""telegram: each volunteer's preferred channel and linked chat, link codes, Telegram outbox rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Volunteers gain preferred_channel ('sms' | 'telegram', 'sms' for everyone who exists), the
linked chat (telegram_chat_id, unique: one chat belongs to one volunteer), the Telegram user
that linked it, and telegram_opted_out_at (STOP in Telegram or a blocked bot: Telegram only).
telegram_link_codes keeps the SHA-256 of each single-use link code. Outbox rows gain their
channel ('sms' for every existing row), the chat a Telegram row goes to, the keyboard to send
with it, and the provider that carried each message (the alert's deliveries in the API).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_channel", sa.String(length=8), server_default="sms", nullable=False))
        batch_op.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("telegram_user_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("telegram_opted_out_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_volunteers_telegram_chat_id"), ["telegram_chat_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_volunteers_preferred_channel"), "preferred_channel IN ('sms', 'telegram')"
        )
    op.create_table(
        "telegram_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_telegram_link_codes_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_telegram_link_codes_code_hash")),
    )
    with op.batch_alter_table("telegram_link_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telegram_link_codes_volunteer_id"), ["volunteer_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=8), server_default="sms", nullable=False))
        batch_op.add_column(sa.Column("to_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("markup", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("provider", sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(batch_op.f("ck_outbox_channel"), "channel IN ('sms', 'telegram')")
        batch_op.create_index("ix_outbox_channel_due", ["channel", "status", "next_attempt_at"], unique=False)


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_due")
        batch_op.drop_constraint(batch_op.f("ck_outbox_channel"), type_="check")
        batch_op.drop_column("provider")
        batch_op.drop_column("markup")
        batch_op.drop_column("to_chat_id")
        batch_op.drop_column("channel")
    with op.batch_alter_table("telegram_link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_link_codes_volunteer_id"))
    op.drop_table("telegram_link_codes")
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_volunteers_preferred_channel"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_volunteers_telegram_chat_id"), type_="unique")
        batch_op.drop_column("telegram_opted_out_at")
        batch_op.drop_column("telegram_user_id")
        batch_op.drop_column("telegram_chat_id")
        batch_op.drop_column("preferred_channel")
