"""organizations: member organisations as records; volunteers and activity point at them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

The free-text `volunteers.organization` becomes `organizations` rows. Distinct names are
grouped by their key (case and spacing ignored, as Organization.name_key): "Astana Rescue" and
" astana  rescue" become one organisation, named by the spelling most volunteers had (tidied:
spaces collapsed). Names found only in the activity register (a volunteer who moved on) are
organisations too. An organisation gets a region when at least two thirds of its volunteers
with a region are in one. What was created and merged is printed (what an operator running
`flask db upgrade` reads) and kept as one audit event (`organizations_migrated`).

`volunteers.organization` is then dropped: the record is the one truth, so a rename reaches
every volunteer and no code can write a new free-text spelling beside it. The activity
register keeps its copied name (the name at the time) next to the new organization_id.
The downgrade writes the records' names back into volunteers.organization (on SQLite it copies
the tables, so it needs a database without rows that refer to volunteers, or foreign keys off).
"""

import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

REGION_SHARE = 2 / 3

organizations = sa.table(
    "organizations",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
    sa.column("region", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
volunteers = sa.table(
    "volunteers",
    sa.column("id", sa.Integer),
    sa.column("organization", sa.String),
    sa.column("organization_id", sa.Integer),
    sa.column("region", sa.String),
)
activities = sa.table("activities", sa.column("organization", sa.String), sa.column("organization_id", sa.Integer))
audit_events = sa.table(
    "audit_events",
    sa.column("at", sa.DateTime),
    sa.column("actor", sa.String),
    sa.column("event", sa.String),
    sa.column("details", sa.JSON),
)


def name_key(name: str) -> str:
    """As dispatch.models.name_key when this migration was written (kept here: a migration must
    not change when the application's code does)."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def upgrade():
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name_key", name=op.f("uq_organizations_name_key")),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organizations_region"), ["region"], unique=False)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ("volunteers", "activities"):
        foreign_key = f"fk_{table}_organization_id_organizations"
        if sqlite:
            # SQLite adds a column with its reference in place. A batch copy of the table would
            # drop the old one, which the rows of alerts, outbox, activities... refer to: with
            # foreign keys on, that fails on any database that has data.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN organization_id INTEGER "
                f"CONSTRAINT {foreign_key} REFERENCES organizations (id)"
            )
            op.create_index(op.f(f"ix_{table}_organization_id"), table, ["organization_id"], unique=False)
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_organization_id"), ["organization_id"], unique=False)
            batch_op.create_foreign_key(batch_op.f(foreign_key), "organizations", ["organization_id"], ["id"])
    for line in migrate_names(op.get_bind()):
        print(line)
    op.drop_index(op.f("ix_volunteers_organization"), table_name="volunteers")
    if sqlite:
        op.execute("ALTER TABLE volunteers DROP COLUMN organization")  # SQLite 3.35+, in place
    else:
        op.drop_column("volunteers", "organization")


def migrate_names(connection) -> list[str]:
    """Make the organisations, link volunteers and activity; returns the report's lines."""
    now = datetime.now(UTC).replace(tzinfo=None)
    spellings: dict[str, Counter] = defaultdict(Counter)  # key -> spelling -> volunteers
    for spelling, count in connection.execute(
        sa.select(volunteers.c.organization, sa.func.count())
        .where(volunteers.c.organization.is_not(None))
        .group_by(volunteers.c.organization)
    ):
        spellings[name_key(spelling)][spelling] += count
    for (spelling,) in connection.execute(
        sa.select(activities.c.organization).where(activities.c.organization.is_not(None)).distinct()
    ):
        spellings[name_key(spelling)][spelling] += 0
    report: list[str] = []
    merged, created = [], []
    blank = spellings.pop("", None)
    if blank:
        report.append(f"left without an organisation: {sum(blank.values())} volunteers whose organisation was blank")
    for key in sorted(spellings):
        counts = spellings[key]
        # The spelling most volunteers had; on a tie, the one already tidy, then the first in order.
        chosen = min(counts, key=lambda s: (-counts[s], s != " ".join(s.split()), s))
        name = " ".join(chosen.split())
        organization_id = connection.execute(
            organizations.insert()
            .values(name=name, name_key=key, active=True, created_at=now, updated_at=now)
            .returning(organizations.c.id)
        ).scalar_one()
        for spelling in counts:
            connection.execute(
                volunteers.update().where(volunteers.c.organization == spelling).values(organization_id=organization_id)
            )
            connection.execute(
                activities.update().where(activities.c.organization == spelling).values(organization_id=organization_id)
            )
        region = _main_region(connection, organization_id)
        if region is not None:
            connection.execute(
                organizations.update().where(organizations.c.id == organization_id).values(region=region)
            )
        total = sum(counts.values())
        created.append({"id": organization_id, "name": name, "volunteers": total, "region": region})
        report.append(f"created {name!r} ({total} volunteers, region {region or 'not set'})")
        for spelling in sorted(counts, key=lambda s: (-counts[s], s)):
            if spelling != name:
                merged.append({"spelling": spelling, "volunteers": counts[spelling], "into": name})
                report.append(f"merged {spelling!r} ({counts[spelling]} volunteers) into {name!r}")
    report.append(f"{len(created)} organisations from {sum(len(c) for c in spellings.values())} spellings")
    connection.execute(
        audit_events.insert().values(
            at=now,
            actor="migration:0017",
            event="organizations_migrated",
            details={"created": created, "merged": merged},
        )
    )
    return report


def _main_region(connection, organization_id: int) -> str | None:
    rows = connection.execute(
        sa.select(volunteers.c.region, sa.func.count())
        .where(volunteers.c.organization_id == organization_id, volunteers.c.region.is_not(None))
        .group_by(volunteers.c.region)
    ).all()
    if not rows:
        return None
    region, count = max(rows, key=lambda r: (r[1], r[0]))
    return region if count >= REGION_SHARE * sum(c for _, c in rows) else None


def downgrade():
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_volunteers_organization"), ["organization"], unique=False)
    connection = op.get_bind()
    connection.execute(
        volunteers.update().values(
            organization=sa.select(organizations.c.name)
            .where(organizations.c.id == volunteers.c.organization_id)
            .scalar_subquery()
        )
    )
    for table in ("activities", "volunteers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_organization_id_organizations"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_organization_id"))
            batch_op.drop_column("organization_id")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_region"))
    op.drop_table("organizations")
