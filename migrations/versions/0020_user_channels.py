"""coordinators: their language, and a Telegram chat for the alerts about their incidents

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02

users.language (kk, ru, en; default ru): the language of the welfare and HELP alerts sent to a
coordinator. users.telegram_chat_id (unique): the chat `/start <code>` linked to them, where
those alerts go too. telegram_link_codes.user_id: a code for a user instead of a volunteer
(volunteer_id becomes nullable; one of the two is set).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=2), server_default="ru", nullable=False))
        batch_op.add_column(sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_users_telegram_chat_id"), ["telegram_chat_id"])
        batch_op.create_check_constraint(batch_op.f("ck_users_language"), "language IN ('kk', 'ru', 'en')")
    with op.batch_alter_table("telegram_link_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.alter_column("volunteer_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_telegram_link_codes_user_id_users"), "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(batch_op.f("ix_telegram_link_codes_user_id"), ["user_id"], unique=False)
        batch_op.create_check_constraint(
            batch_op.f("ck_telegram_link_codes_one_holder"), "(volunteer_id IS NULL) <> (user_id IS NULL)"
        )


def downgrade():
    op.execute("DELETE FROM telegram_link_codes WHERE volunteer_id IS NULL")
    with op.batch_alter_table("telegram_link_codes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_telegram_link_codes_one_holder"), type_="check")
        batch_op.drop_index(batch_op.f("ix_telegram_link_codes_user_id"))
        batch_op.drop_constraint(batch_op.f("fk_telegram_link_codes_user_id_users"), type_="foreignkey")
        batch_op.alter_column("volunteer_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("user_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_language"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_users_telegram_chat_id"), type_="unique")
        batch_op.drop_column("telegram_chat_id")
        batch_op.drop_column("language")
