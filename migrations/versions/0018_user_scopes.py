"""user scopes: a user sees and manages a set of regions and/or organisations, or everything

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

`user_scopes`: one row per region (ISO 3166-2) or organisation in a user's scope. A user without
rows is national, so every existing user keeps what they had (dispatch/scopes.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("(region IS NULL) <> (organization_id IS NULL)", name=op.f("ck_user_scopes_one_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_scopes_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_user_scopes_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_scopes")),
    )
    op.create_index(op.f("ix_user_scopes_user_id"), "user_scopes", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_user_scopes_user_id"), table_name="user_scopes")
    op.drop_table("user_scopes")
