"""The console's organisations page: list, add, edit, deactivate; in ru and kk; CSRF-protected."""

from __future__ import annotations

import re

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import AuditEvent, Organization
from tests.dispatch.factories import organization, volunteer
from tests.web.test_translated_messages import english_words


def test_add_edit_deactivate_and_reactivate(console):
    page = console.get("/console/organizations")
    assert page.status_code == 200 and "No organisation matches." in page.get_data(as_text=True)
    added = console.post_form(
        "/console/organizations", {"name": "Astana Rescue", "region": "KZ-71", "email": "office@rescue.kz"}
    )
    assert added.status_code == 302
    rescue = db.session.scalars(select(Organization)).one()
    assert (rescue.name, rescue.region, rescue.email, rescue.phone) == (
        "Astana Rescue",
        "KZ-71",
        "office@rescue.kz",
        None,
    )
    volunteer(organization="Astana Rescue")
    html = console.get("/console/organizations").get_data(as_text=True)
    assert "Astana Rescue" in html and f'href="/console/volunteers?organization_id={rescue.id}">1</a>' in html

    duplicate = console.post_form("/console/organizations", {"name": "  astana RESCUE "})
    assert duplicate.status_code == 400
    assert "An organisation with this name already exists." in duplicate.get_data(as_text=True)
    for field, value in (("email", "nope"), ("phone", "12")):
        bad = console.post_form("/console/organizations", {"name": "Other", field: value})
        assert bad.status_code == 400 and f'id="org-{field}-error"' in bad.get_data(as_text=True), field
    assert db.session.scalar(select(Organization.id).where(Organization.name == "Other")) is None

    form = console.get(f"/console/organizations/{rescue.id}/edit").get_data(as_text=True)
    assert 'value="Astana Rescue"' in form and 'value="office@rescue.kz"' in form
    saved = console.post_form(f"/console/organizations/{rescue.id}", {"name": "Astana Volunteer Rescue", "region": ""})
    assert saved.status_code == 302
    db.session.expire_all()
    assert (rescue.name, rescue.region, rescue.email) == ("Astana Volunteer Rescue", None, None)

    assert console.post_form(f"/console/organizations/{rescue.id}/active", {"active": "no"}).status_code == 302
    db.session.expire_all()
    assert rescue.active is False
    assert "Deactivated" in console.get("/console/organizations?active=no").get_data(as_text=True)
    assert console.post_form(f"/console/organizations/{rescue.id}/active", {"active": "yes"}).status_code == 302
    db.session.expire_all()
    assert rescue.active is True
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.event.like("organization_%"))).all()
    assert events.count("organization_updated") == 3 and events.count("organization_created") == 1


def test_forms_need_the_csrf_token(console):
    response = console.post("/console/organizations", data={"name": "No Token"})
    assert response.status_code == 400
    assert db.session.scalar(select(Organization.id)) is None


def test_the_page_reads_in_russian_and_kazakh(console):
    organization("Астана құтқарушылары", region="KZ-71")
    for language in ("ru", "kk"):
        console.get(f"/console/?lang={language}")
        html = console.get("/console/organizations").get_data(as_text=True)
        assert english_words(html, language) == [], language
        refused = console.post_form("/console/organizations", {"name": "", "email": "x"}).get_data(as_text=True)
        assert english_words(refused, language) == [], language


def test_the_registry_filter_lists_the_organisations_and_the_list_read_is_audited(console):
    organization("Astana Rescue")
    organization("Closed Club", active=False)
    volunteer(organization="Astana Rescue")
    html = console.get("/console/volunteers").get_data(as_text=True)
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', html.split('id="f-organization"', 1)[1])
    assert options == ["Astana Rescue", "Closed Club (deactivated)"]
    read = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "volunteers_read")).one()
    assert read.details == {"why": "registry", "count": 1}
