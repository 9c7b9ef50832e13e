"""cap: warnings in (CAP 1.2): draft incidents, their source and expiry, messages seen, feeds polled

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

`draft` is a new incident status (an incident made from a warning, not dispatched yet).
cap_messages remembers each CAP message once per (sender, identifier), including identifiers
known only from a Cancel that came before its Alert; cap_feeds and cap_feed_entries hold the
poller's state (conditional-GET validators, backoff, entries already fetched).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('dispatching', 'staffed', 'unfilled', 'closed', 'cancelled')"
NEW_STATUSES = "status IN ('dispatching', 'staffed', 'unfilled', 'closed', 'cancelled', 'draft')"


def upgrade():
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_incidents_expires_at"), ["expires_at"], unique=False)
        batch_op.drop_constraint(op.f("ck_incidents_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_incidents_status"), sa.text(NEW_STATUSES))
    op.create_table(
        "cap_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("sent", sa.String(length=40), nullable=False),
        sa.Column("msg_type", sa.String(length=8), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_cap_messages_incident_id_incidents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_messages")),
    )
    op.create_index("uq_cap_messages_sender_identifier", "cap_messages", ["sender", "identifier"], unique=True)
    op.create_index(op.f("ix_cap_messages_incident_id"), "cap_messages", ["incident_id"], unique=False)
    op.create_table(
        "cap_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_cap_feeds_url")),
    )
    op.create_table(
        "cap_feed_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("outcome", sa.String(length=300), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_feed_entries")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_cap_feed_entries_entry_key")),
    )


def downgrade():
    op.drop_table("cap_feed_entries")
    op.drop_table("cap_feeds")
    op.drop_index(op.f("ix_cap_messages_incident_id"), table_name="cap_messages")
    op.drop_index("uq_cap_messages_sender_identifier", table_name="cap_messages")
    op.drop_table("cap_messages")
    op.execute("UPDATE incidents SET status = 'cancelled' WHERE status = 'draft'")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_incidents_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_incidents_status"), sa.text(OLD_STATUSES))
        batch_op.drop_index(batch_op.f("ix_incidents_expires_at"))
        batch_op.drop_column("expires_at")
        batch_op.drop_column("source")
