"""volunteer search terms: the console finds volunteers by name (Cyrillic or Latin) or phone

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

`volunteer_search_terms`: each word of a volunteer's name as a Latin skeleton and their phone's
digits, keyed (term, volunteer_id) so a prefix is an index range scan (dispatch/volunteer_search.py).
On PostgreSQL the term sorts bytewise (collation "C") whatever the database's collation. The terms
of existing volunteers are written here, in batches.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    term = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")
    op.create_table(
        "volunteer_search_terms",
        sa.Column("term", term, nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            name=op.f("fk_volunteer_search_terms_volunteer_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "volunteer_id", name=op.f("pk_volunteer_search_terms")),
    )
    op.create_index(
        op.f("ix_volunteer_search_terms_volunteer_id"), "volunteer_search_terms", ["volunteer_id"], unique=False
    )
    # The terms are computed by the application's own function, so search finds the people who
    # were registered before this migration exactly as it finds new ones.
    from dispatch.volunteer_search import terms_of

    connection = op.get_bind()
    table = sa.table("volunteer_search_terms", sa.column("term"), sa.column("volunteer_id"))
    last = 0
    while True:
        people = connection.execute(
            sa.text("SELECT id, name, phone FROM volunteers WHERE id > :last ORDER BY id LIMIT 5000"), {"last": last}
        ).all()
        if not people:
            break
        rows = [{"term": t, "volunteer_id": vid} for vid, name, phone in people for t in terms_of(name, phone)]
        if rows:
            connection.execute(table.insert(), rows)
        last = people[-1][0]


def downgrade():
    op.drop_index(op.f("ix_volunteer_search_terms_volunteer_id"), table_name="volunteer_search_terms")
    op.drop_table("volunteer_search_terms")
