"""activity: responders on scene, roll call, welfare check, the activity register, minors

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

Alerts get the on-scene times (ARRIVED, DONE, SAFE), the roll call they were asked in, HELP
from the scene, and the welfare check's deadlines (rows the scheduler reads: a restart or a
second scheduler changes nothing). Incidents get the time of their latest roll call. Users
get an optional phone for the alerts about their incidents. Volunteers get an optional birth
date, and the matching prefilter's covering index gains it, so minors are left out by an
index-only scan as before. `activities` is the register of volunteer activity.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REACHABLE_COLUMNS = [
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
REACHABLE_WHERE = {
    "sqlite_where": sa.text("status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available = 1"),
    "postgresql_where": sa.text("status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available"),
}
ALERT_TIMES = (
    "arrived_at",
    "left_at",
    "safe_at",
    "roll_call_at",
    "help_requested_at",
    "welfare_remind_at",
    "welfare_reminded_at",
    "welfare_due_at",
    "welfare_overdue_at",
)


def _reachable_index(columns):
    op.create_index("ix_volunteers_reachable", "volunteers", columns, unique=False, **REACHABLE_WHERE)


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
    op.drop_index("ix_volunteers_reachable", table_name="volunteers")
    _reachable_index([*REACHABLE_COLUMNS[:-1], "birth_date", "id"])
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("roll_call_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name in ALERT_TIMES:
            batch_op.add_column(sa.Column(name, sa.DateTime(), nullable=True))
        batch_op.create_index("ix_alerts_welfare_remind_at", ["welfare_remind_at"], unique=False)
        batch_op.create_index("ix_alerts_welfare_due_at", ["welfare_due_at"], unique=False)
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("activity", sa.String(length=200), nullable=True),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("skill", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("source IN ('dispatch', 'manual', 'import')", name=op.f("ck_activities_source")),
        sa.CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('done', 'incident_ended', 'timed_out', 'entered')",
            name=op.f("ck_activities_end_reason"),
        ),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_activities_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_activities_alert_id_alerts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_activities_incident_id_incidents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_activities_recorded_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"], ["users.id"], name=op.f("fk_activities_verified_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], name=op.f("fk_activities_volunteer_id_volunteers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_activities_alert_id")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_activities_volunteer_id", ["volunteer_id"], unique=False)
        batch_op.create_index("ix_activities_started_at", ["started_at"], unique=False)
        batch_op.create_index("ix_activities_volunteer_started", ["volunteer_id", "started_at"], unique=False)
        batch_op.create_index(
            "ix_activities_open",
            ["started_at"],
            unique=False,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )


def downgrade():
    op.drop_table("activities")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_welfare_due_at")
        batch_op.drop_index("ix_alerts_welfare_remind_at")
        for name in reversed(ALERT_TIMES):
            batch_op.drop_column(name)
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("roll_call_at")
    op.drop_index("ix_volunteers_reachable", table_name="volunteers")
    _reachable_index(REACHABLE_COLUMNS)
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_column("birth_date")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("phone")
