"""reply links: the hash of each alert's reply-link token, and the channel of an inbound answer

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Every call-out SMS carries PUBLIC_BASE_URL/r/<token> (dispatch/reply_links.py) so a volunteer
on a one-way sender can answer in a browser. Only the token's SHA-256 is stored, unique, so the
page finds its alert by hash. An answer given on that page is kept with the inbound texts, with
`channel` = 'link' (texts are 'sms').
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_alerts_reply_token_hash"), ["reply_token_hash"])
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="sms", nullable=False))


def downgrade():
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.drop_column("channel")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_alerts_reply_token_hash"), type_="unique")
        batch_op.drop_column("reply_token_hash")
