"""certificates: certificates of volunteers' hours, found by the hash of their verification code

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

Each row keeps what one PDF certificate certified (volunteer, name and organisation as printed,
period, records and seconds, when and by whom), so the public verify page can confirm it and
say when the register behind it changed after issue. The code is stored only as its SHA-256.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("period_from", sa.DateTime(), nullable=False),
        sa.Column("period_to", sa.DateTime(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("language IN ('kk', 'ru', 'en')", name=op.f("ck_certificates_language")),
        sa.CheckConstraint("last_day >= first_day", name=op.f("ck_certificates_period")),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_certificates_issued_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_certificates_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_certificates_code_hash")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index("ix_certificates_volunteer_id", ["volunteer_id"], unique=False)


def downgrade():
    op.drop_table("certificates")
