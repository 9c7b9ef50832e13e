"""Console forms and query strings given hostile input: a form error or a sane default, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Incident

from .test_console import INCIDENT_FORM


@pytest.mark.parametrize("count", ["²", "٣", "9" * 5000, "1.5"])
def test_a_count_that_is_not_a_small_whole_number_is_a_form_error(console, count):
    response = console.post_form(
        "/console/incidents/new", {**INCIDENT_FORM, "need_count_0": count, "action": "preview"}
    )
    assert response.status_code == 400
    assert 'id="needs-error"' in response.get_data(as_text=True)
    assert list(db.session.scalars(select(Incident))) == []


def test_an_area_nested_too_deeply_is_a_form_error(console):
    response = console.post_form(
        "/console/incidents/new", {**INCIDENT_FORM, "area": "[" * 100_000, "action": "preview"}
    )
    assert response.status_code == 400
    assert 'id="area-error"' in response.get_data(as_text=True)


def test_a_nul_in_the_title_is_a_form_error(console):
    response = console.post_form("/console/incidents/new", {**INCIDENT_FORM, "title": "Flood\x00", "action": "preview"})
    assert response.status_code == 400
    assert 'id="title-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["²", "12345678901234567890", "9" * 5000, "-3"])
def test_a_page_that_is_not_a_small_whole_number_shows_the_first(console, page):
    response = console.get("/console/volunteers", query_string={"page": page})
    assert response.status_code == 200
