"""incident changes: standby notices (once per volunteer and incident), the meeting point

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

standby_notices records each volunteer told to be ready for an incident (POST
/api/v1/incidents/{id}/standby), unique per (incident, volunteer) so nobody is told twice.
incidents.meeting_point is where responders gather, in words (PATCH /api/v1/incidents/{id}).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_point", sa.String(length=300), nullable=True))
    op.create_table(
        "standby_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_standby_notices_incident_id_incidents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_standby_notices_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standby_notices")),
    )
    op.create_index(
        "uq_standby_notices_incident_volunteer", "standby_notices", ["incident_id", "volunteer_id"], unique=True
    )
    op.create_index(op.f("ix_standby_notices_volunteer_id"), "standby_notices", ["volunteer_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_standby_notices_volunteer_id"), table_name="standby_notices")
    op.drop_index("uq_standby_notices_incident_volunteer", table_name="standby_notices")
    op.drop_table("standby_notices")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("meeting_point")
