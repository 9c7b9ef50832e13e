"""matching: partial covering index for the candidate prefilter

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

dispatch.matching reads, for a box of (lat, lon), the volunteers who can be texted and are
available, and a few columns of theirs. This index holds exactly those rows (its WHERE is
the constant part of prefilter.eligible_now_clause, spelled as each dialect's planner must
see it) and exactly those columns, so the prefilter is an index-only range scan.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = [
    "lat",
    "lon",
    "skill_mask",
    "busy_until",
    "max_distance_km",
    "last_alerted_at",
    "quiet_from_min",
    "quiet_to_min",
    "id",
]


def upgrade():
    op.create_index(
        "ix_volunteers_reachable",
        "volunteers",
        COLUMNS,
        unique=False,
        sqlite_where=sa.text("status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available = 1"),
        postgresql_where=sa.text("status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available"),
    )


def downgrade():
    op.drop_index("ix_volunteers_reachable", table_name="volunteers")
