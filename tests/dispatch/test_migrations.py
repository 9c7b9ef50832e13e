"""The migrations build exactly what the models describe (so autogenerate stays empty), and the
tests empty every table of the models between tests."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dispatch.extensions import db


def test_the_migrated_database_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_every_table_but_the_seeded_catalogue_is_emptied_between_tests(app):
    from tests.conftest import KEPT_TABLES, tables_to_empty

    emptied = [table.name for table in tables_to_empty()]
    assert set(emptied) | KEPT_TABLES == set(db.metadata.tables) and "skills" not in emptied
    # Children first: a table is emptied before any table its foreign keys point to.
    for table in tables_to_empty():
        for key in table.foreign_keys:
            parent = key.column.table.name
            if parent in emptied and parent != table.name:
                assert emptied.index(table.name) < emptied.index(parent), (table.name, parent)
