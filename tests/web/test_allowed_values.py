"""One source for allowed values: the tuples in dispatch/models.py. The CHECK constraints (in
the models and in the migrated database), the input schemas, the pages' choice lists and the
words for each value all agree with them."""

from __future__ import annotations

import re
import typing

from sqlalchemy import CheckConstraint, inspect

from dispatch import schemas
from dispatch.extensions import db
from dispatch.models import (
    ACTIVITY_SOURCES,
    ALERT_STATUSES,
    CHANNELS,
    INCIDENT_KINDS,
    INCIDENT_STATUSES,
    LANGUAGES,
    OUTBOX_STATUSES,
    ROLES,
    SETTABLE_VOLUNTEER_STATUSES,
    SEVERITIES,
    VOLUNTEER_STATUSES,
)
from dispatch.web import i18n
from notifications import texts

# (table, column) -> the tuple its CHECK constraint is built from.
CHOICES = {
    ("users", "role"): ROLES,
    ("users", "language"): LANGUAGES,
    ("volunteers", "status"): VOLUNTEER_STATUSES,
    ("volunteers", "language"): LANGUAGES,
    ("incidents", "kind"): INCIDENT_KINDS,
    ("incidents", "severity"): SEVERITIES,
    ("incidents", "status"): INCIDENT_STATUSES,
    ("alerts", "status"): ALERT_STATUSES,
    ("outbox", "status"): OUTBOX_STATUSES,
    ("outbox", "channel"): CHANNELS,
    ("volunteers", "preferred_channel"): CHANNELS,
    ("activities", "source"): ACTIVITY_SOURCES,
    ("certificates", "language"): LANGUAGES,
}
_QUOTED = re.compile(r"'([^']*)'")
_CHOICE_CHECK = re.compile(r"^(\w+) IN \(")


def quoted(sql: str) -> list[str]:
    return _QUOTED.findall(sql)


def options(page: str, select_id: str) -> list[str]:
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


def test_every_choice_constraint_of_the_models_is_built_from_its_tuple(app):
    found = {}
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                match = _CHOICE_CHECK.match(str(constraint.sqltext))
                if match:
                    found[(table.name, match.group(1))] = tuple(quoted(str(constraint.sqltext)))
    assert found == CHOICES


def test_the_migrated_database_checks_the_same_values(app):
    inspector = inspect(db.engine)
    for (table, column), values in CHOICES.items():
        checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
        assert set(quoted(checks[f"ck_{table}_{column}"])) == set(values), (table, column)


def test_the_schemas_accept_exactly_the_models_values():
    assert typing.get_args(schemas.Language) == LANGUAGES
    assert typing.get_args(schemas.IncidentKind) == INCIDENT_KINDS
    assert typing.get_args(schemas.Severity) == SEVERITIES
    assert set(SETTABLE_VOLUNTEER_STATUSES) < set(VOLUNTEER_STATUSES) and "opted_out" not in SETTABLE_VOLUNTEER_STATUSES

    def enum(model, field: str) -> list[str]:
        prop = model.model_json_schema()["properties"][field]
        return next(option["enum"] for option in prop.get("anyOf", [prop]) if "enum" in option)

    assert enum(schemas.IncidentIn, "kind") == list(INCIDENT_KINDS)
    assert enum(schemas.IncidentIn, "severity") == enum(schemas.CandidatesIn, "severity") == list(SEVERITIES)
    assert enum(schemas.CandidatesIn, "kind") == list(INCIDENT_KINDS)
    assert enum(schemas.VolunteerIn, "language") == enum(schemas.VolunteerPatch, "language") == list(LANGUAGES)
    assert enum(schemas.VolunteerPatch, "status") == list(SETTABLE_VOLUNTEER_STATUSES)


def test_the_pages_offer_the_models_values_each_with_its_words(console):
    page = console.get("/console/incidents/new?lang=ru").get_data(as_text=True)
    assert options(page, "kind") == list(INCIDENT_KINDS)
    assert options(page, "severity") == list(SEVERITIES)
    page = console.get("/console/volunteers").get_data(as_text=True)
    assert options(page, "f-status") == list(VOLUNTEER_STATUSES)
    # Words for every value: pages' labels, and the SMS library's kind names in every language.
    for value in (*SEVERITIES, *INCIDENT_STATUSES, *ALERT_STATUSES, *VOLUNTEER_STATUSES, *OUTBOX_STATUSES):
        assert value in i18n.LABELS, value
    assert set(i18n.LANGUAGES) == set(LANGUAGES) == set(texts.LANGUAGES)
    assert set(texts.KINDS) == set(INCIDENT_KINDS)
    for language in LANGUAGES:
        other = texts.kind_name("other", language)
        assert all(texts.kind_name(kind, language) != other for kind in INCIDENT_KINDS if kind != "other"), language
