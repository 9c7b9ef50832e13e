"""rate limits: indexes for counting one number's texts and one actor's failures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Two limits are counted in the database, so every web worker agrees (dispatch/inbox.py
MAX_TEXTS_PER_NUMBER, dispatch/webhooks.py MAX_FORGED_PER_ADDRESS). Each count is a range of
one key over the last minutes, so each gets an index that makes it a short range scan: a flood
of forged webhooks must not turn into a table scan of the audit trail per request. The audit
index serves the sign-in lockout (dispatch/users.py) as well.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_inbound_from_phone_received_at", "inbound", ["from_phone", "received_at"], unique=False)
    op.create_index("ix_audit_events_actor_event_at", "audit_events", ["actor", "event", "at"], unique=False)


def downgrade():
    op.drop_index("ix_audit_events_actor_event_at", table_name="audit_events")
    op.drop_index("ix_inbound_from_phone_received_at", table_name="inbound")
