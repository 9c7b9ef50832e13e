"""regions: volunteers and incidents know their region (ISO 3166-2, KZ-75 ...)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

The region of every existing row with a point is derived here from the region borders that
geo/ ships (geo.regions, offline); rows without a point (erased volunteers) keep none.
A coordinator can correct a region later; the data step never overwrites one already set.
"""

import sqlalchemy as sa
from alembic import op

from geo import Point
from geo.regions import regions_of

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    for table in ("volunteers", "incidents"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("region", sa.String(length=8), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_region"), ["region"], unique=False)
        derive_regions(op.get_bind(), table)


def derive_regions(connection, table: str) -> int:
    """Set `region` from lat/lon where it is not set yet; returns how many rows got one."""
    rows = sa.table(
        table,
        sa.column("id", sa.Integer),
        sa.column("lat", sa.Float),
        sa.column("lon", sa.Float),
        sa.column("region", sa.String),
    )
    done, last_id = 0, 0
    while True:
        batch = connection.execute(
            sa.select(rows.c.id, rows.c.lat, rows.c.lon)
            .where(
                rows.c.id > last_id,
                rows.c.lat.is_not(None),
                rows.c.lon.is_not(None),
                rows.c.region.is_(None),
            )
            .order_by(rows.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return done
        last_id = batch[-1].id
        codes = regions_of([Point(r.lat, r.lon) for r in batch])
        updates = [{"row_id": r.id, "code": code} for r, code in zip(batch, codes) if code is not None]
        if updates:
            connection.execute(
                rows.update().where(rows.c.id == sa.bindparam("row_id")).values(region=sa.bindparam("code")),
                updates,
            )
        done += len(updates)


def downgrade():
    for table in ("incidents", "volunteers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_region"))
            batch_op.drop_column("region")
