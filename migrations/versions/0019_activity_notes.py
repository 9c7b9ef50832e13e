"""activity import: a note on a record of the register

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

activities.note: the note a coordinator's CSV import (POST /api/v1/activity/import) carries
with a record of activity outside dispatch; empty for every other record.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("note")
