"""The console's existing pages under a scoped user (issue 15, "Scoped users"): out-of-scope
volunteers, texts and activity are never listed and 404 when addressed; every incident reads,
but one outside the scope shows no manage buttons and refuses every manage POST (403 in the
user's language, nothing changed); an incident page hides the identity of volunteers from
elsewhere unless they accepted an incident this user manages."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import (
    Activity,
    Alert,
    InboundMessage,
    Incident,
    Organization,
    OutboxMessage,
    StandbyNotice,
    TelegramLinkCode,
    Volunteer,
)
from dispatch.users import create_user
from tests.dispatch.factories import ALMATY, ASTANA, alert, incident, organization, point_at, volunteer
from tests.dispatch.test_activity_exports import record

from .conftest import PASSWORD, FreshRequestClient, csrf_token, sign_in

REGIONAL = "almaty-office@test.local"
OUT_OF_SCOPE_RU = "Это вне ваших регионов и организаций"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def world(app):
    organization("Almaty Rescue", region="KZ-75")
    organization("Astana Rescue", region="KZ-71")
    w = {
        "mine": volunteer(
            2, origin=ALMATY, name="Алма Жетісова", phone="+77011110001", region="KZ-75", organization="Almaty Rescue"
        ),
        "theirs": volunteer(
            2, origin=ASTANA, name="Бекзат Есілов", phone="+77011110002", region="KZ-71", organization="Astana Rescue"
        ),
        "pending": volunteer(3, origin=ASTANA, name="Назым Ишимова", phone="+77011110003", region="KZ-71"),
    }
    w["here"] = incident("111", lat=ALMATY[0], lon=ALMATY[1], region="KZ-75", title="Сель Алматы")
    w["there"] = incident("222", region="KZ-71", title="Паводок Астана")
    w["draft"] = incident("333", status="draft", region="KZ-71", title="Warning Astana")
    # Almaty's incident: an Astana volunteer accepted (shown to its managers), another was only asked.
    alert(w["here"], w["theirs"], status="accepted")
    alert(w["here"], w["pending"], status="sent")
    # Astana's incident: their own volunteer and an Astana one accepted; neither is managed by Almaty.
    alert(w["there"], w["mine"], status="accepted")
    alert(w["there"], w["theirs"], status="accepted")
    now = utcnow()
    for sender, body in (("mine", "что делать?"), ("theirs", "непонятный ответ"), (None, "кто это?")):
        v = w[sender] if sender else None
        db.session.add(
            InboundMessage(
                message_sid=f"SM{body.encode().hex()[:20]}",
                from_phone=v.phone if v else "+77019998877",
                body=body,
                received_at=now,
                volunteer_id=v.id if v else None,
                needs_attention=True,
                outcome="not_understood" if v else "unknown_number",
                channel="sms",
                incident_id=w["there"].id if v else None,
            )
        )
    db.session.commit()
    return w


@pytest.fixture
def regional(app, client, world):
    """A client signed in as Almaty's coordinator; .post_form adds the CSRF token."""
    create_user(REGIONAL, "coordinator", password=PASSWORD, regions=["KZ-75"])
    assert sign_in(client, REGIONAL).status_code == 302

    def post(path: str, data: dict | None = None, **kwargs):
        return client.post(path, data={"csrf_token": csrf_token(client, "/console/"), **(data or {})}, **kwargs)

    client.post_form = post
    return client


@pytest.fixture
def national(app, regional):
    """A second client, signed in as a national coordinator (beside the regional one)."""
    saved = app.test_client_class
    app.test_client_class = FreshRequestClient
    other = app.test_client()
    app.test_client_class = saved
    create_user("national@test.local", "coordinator", password=PASSWORD)
    assert sign_in(other, "national@test.local").status_code == 302
    return other


def text(response) -> str:
    return response.get_data(as_text=True)


# -- the header, the volunteer list, the Telegram link, the import, the inbox ------------------------


def test_header_shows_the_scope_in_the_page_language(regional, national):
    assert "Алматы" in text(regional.get("/console/?lang=ru"))
    assert "Вся страна" in text(national.get("/console/?lang=ru"))
    assert "Бүкіл ел" in text(national.get("/console/?lang=kk"))


def test_volunteer_list_shows_only_the_scope(regional, world):
    page = text(regional.get("/console/volunteers"))
    assert "Алма Жетісова" in page and "+77011110001" in page
    assert "Бекзат Есілов" not in page and "+77011110002" not in page and "Назым" not in page
    assert '<span class="count">1</span>' in page
    # The organisation filter offers their organisations only; filtering by another's shows nobody.
    assert "Astana Rescue" not in page
    theirs = db.session.scalar(select(Organization.id).where(Organization.name == "Astana Rescue"))
    assert "Бекзат" not in text(regional.get(f"/console/volunteers?organization_id={theirs}"))


def test_telegram_link_for_a_volunteer_outside_the_scope_is_404_and_makes_nothing(regional, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "TELEGRAM_ENABLED", True)
    response = regional.post_form(f"/console/volunteers/{world['theirs'].id}/telegram-link")
    assert response.status_code == 404
    assert "Бекзат" not in text(response)
    assert count(TelegramLinkCode) == 0


def test_import_takes_only_rows_in_their_scope(regional, world):
    """A regional coordinator imports their own volunteers; a row in another region, or one whose
    phone is an existing volunteer's elsewhere (which would update them), is refused by line."""
    assert regional.get("/console/volunteers/import?lang=ru").status_code == 200
    csv = (
        "name,phone,lat,lon,skills,language\n"
        f"Новый,+77015550000,{ALMATY[0]},{ALMATY[1]},first_aid,ru\n"
        f"Чужой,+77015550001,{ASTANA[0]},{ASTANA[1]},first_aid,ru\n"
        f"Бекзат,+77011110002,{ALMATY[0]},{ALMATY[1]},first_aid,ru\n"
    )
    response = regional.post_form(
        "/console/volunteers/import?lang=ru",
        {"file": (BytesIO(csv.encode()), "v.csv")},
        content_type="multipart/form-data",
    )
    page = text(response)
    assert response.status_code == 200
    assert page.count("вне ваших регионов и организаций") == 2, page
    assert count(Volunteer) == 4 and count(Volunteer, Volunteer.phone == "+77015550000") == 1
    db.session.expire_all()
    assert world["theirs"].name == "Бекзат Есілов" and world["theirs"].region == "KZ-71"


def test_inbox_shows_their_volunteers_texts_only(regional, national):
    page = text(regional.get("/console/inbox"))
    assert "что делать?" in page
    assert "непонятный ответ" not in page and "кто это?" not in page and "+77019998877" not in page
    everything = text(national.get("/console/inbox"))
    assert all(body in everything for body in ("что делать?", "непонятный ответ", "кто это?"))


# -- activity: totals and exports ----------------------------------------------------------------------


def test_activity_totals_and_exports_count_their_volunteers_only(regional, world):
    record(world["mine"], utcnow() - timedelta(days=2), 60)
    record(world["theirs"], utcnow() - timedelta(days=2), 600)
    page = text(regional.get("/console/activity"))
    assert "Almaty Rescue" in page and "Astana Rescue" not in page
    csv = text(regional.get("/console/activity.csv"))
    assert "Алма Жетісова" in csv and "Бекзат" not in csv
    assert len(csv.strip().splitlines()) == 2
    assert count(Activity) == 2


# -- organisations -------------------------------------------------------------------------------


def test_organisations_in_scope_only(regional, world):
    theirs = db.session.scalar(select(Organization).where(Organization.name == "Astana Rescue"))
    page = text(regional.get("/console/organizations"))
    assert "Almaty Rescue" in page and "Astana Rescue" not in page
    assert regional.get(f"/console/organizations/{theirs.id}/edit").status_code == 404
    saved = regional.post_form(f"/console/organizations/{theirs.id}", {"name": "Renamed", "region": "KZ-71"})
    assert saved.status_code == 404
    assert regional.post_form(f"/console/organizations/{theirs.id}/active", {"active": "no"}).status_code == 404
    db.session.expire_all()
    assert theirs.name == "Astana Rescue" and theirs.active


def test_organisations_are_added_and_moved_only_within_their_regions(regional, world):
    refused = regional.post_form("/console/organizations?lang=ru", {"name": "Karaganda Team", "region": "KZ-35"})
    assert refused.status_code == 403 and OUT_OF_SCOPE_RU in text(refused)
    assert count(Organization, Organization.name == "Karaganda Team") == 0
    assert regional.post_form("/console/organizations", {"name": "Medeu Team", "region": "KZ-75"}).status_code == 302
    mine = db.session.scalar(select(Organization).where(Organization.name == "Almaty Rescue"))
    moved = regional.post_form(f"/console/organizations/{mine.id}", {"name": "Almaty Rescue", "region": "KZ-71"})
    assert moved.status_code == 403
    db.session.expire_all()
    assert mine.region == "KZ-75"


# -- incidents: read by all, managed in scope --------------------------------------------------------


def test_incident_list_shows_every_incident(regional):
    page = text(regional.get("/console/"))
    assert "Сель Алматы" in page and "Паводок Астана" in page


def test_incident_outside_the_scope_reads_without_manage_buttons_or_identities(regional, world):
    there = world["there"]
    page = text(regional.get(f"/console/incidents/{there.id}"))
    assert "Паводок Астана" in page and 'id="out-of-scope"' in page
    for action in ("close", "cancel", "edit", "broadcast", "standby"):
        assert f"/console/incidents/{there.id}/{action}" not in page
    # Their own volunteer shows; an Astana responder is not theirs and the incident is not theirs.
    assert "Алма Жетісова" in page and "+77011110001" in page
    assert "Бекзат" not in page and "+77011110002" not in page
    assert f'data-volunteer-id="{world["theirs"].id}"' not in page
    live = text(regional.get(f"/console/incidents/{there.id}/live"))
    assert "Алма Жетісова" in live and "Бекзат" not in live and "+77011110002" not in live


def test_incident_in_scope_shows_accepted_outsiders_but_not_those_only_asked(regional, world):
    here = world["here"]
    page = text(regional.get(f"/console/incidents/{here.id}"))
    assert f"/console/incidents/{here.id}/close" in page and 'id="out-of-scope"' not in page
    assert "Бекзат Есілов" in page and "+77011110002" in page  # accepted: the managers see them
    assert "Назым" not in page and "+77011110003" not in page  # only asked: no name, no phone
    assert "Volunteer outside your scope" in page


def test_national_coordinator_sees_every_identity(console, world):
    page = text(console.get(f"/console/incidents/{world['here'].id}"))
    assert "Назым Ишимова" in page and "+77011110003" in page


MANAGE_POSTS = [
    ("close", {"confirm": "yes"}),
    ("cancel", {"confirm": "yes"}),
    ("broadcast", {"body": "Сбор у моста", "to": "all"}),
    ("standby", {}),
    ("roll-call", {}),
    ("edit", {"title": "Changed"}),
]


@pytest.mark.parametrize(("action", "data"), MANAGE_POSTS)
def test_manage_posts_outside_the_scope_are_403_in_the_users_language(regional, world, action, data):
    there = world["there"]
    outbox_before = count(OutboxMessage)
    response = regional.post_form(f"/console/incidents/{there.id}/{action}?lang=ru", data)
    assert response.status_code == 403
    assert OUT_OF_SCOPE_RU in text(response)
    db.session.expire_all()
    assert there.status == "dispatching" and there.title == "Паводок Астана"
    assert count(OutboxMessage) == outbox_before and count(StandbyNotice) == 0


def test_manage_pages_outside_the_scope_are_403(regional, world):
    for action in ("close", "cancel", "edit"):
        assert regional.get(f"/console/incidents/{world['there'].id}/{action}").status_code == 403


def test_dispatching_a_draft_outside_the_scope_is_403(regional, world):
    draft = world["draft"]
    response = regional.post_form(
        f"/console/incidents/{draft.id}/dispatch", {"need_skill_0": "", "need_count_0": "2", "radius_km": "5"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert draft.status == "draft" and count(Alert, Alert.incident_id == draft.id) == 0


def test_managing_in_scope_still_works(regional, world):
    here = world["here"]
    response = regional.post_form(f"/console/incidents/{here.id}/broadcast", {"body": "Сбор у моста", "to": "all"})
    assert response.status_code == 302
    assert count(OutboxMessage, OutboxMessage.incident_id == here.id) >= 1


def test_posting_an_incident_outside_the_scope_is_refused_before_the_preview(regional, world):
    form = {
        "kind": "flood",
        "severity": "moderate",
        "title": "Паводок",
        "lat": str(ASTANA[0]),
        "lon": str(ASTANA[1]),
        "radius_km": "5",
        "max_radius_km": "10",
        "need_skill_0": "",
        "need_count_0": "1",
        "action": "preview",
    }
    refused = regional.post_form("/console/incidents/new?lang=ru", form)
    assert refused.status_code == 403 and OUT_OF_SCOPE_RU in text(refused)
    lat, lon = point_at(ALMATY, 1)
    allowed = regional.post_form("/console/incidents/new", {**form, "lat": str(lat), "lon": str(lon)})
    assert allowed.status_code == 200
    assert count(Incident) == 3


def test_moving_an_incident_out_of_the_scope_is_refused(regional, world):
    here = world["here"]
    assert regional.get(f"/console/incidents/{here.id}/edit").status_code == 200
    form = {
        "title": here.title,
        "severity": here.severity,
        "lat": str(ASTANA[0]),
        "lon": str(ASTANA[1]),
        "radius_km": "10",
        "max_radius_km": "30",
        "count_0": "1",
    }
    response = regional.post_form(f"/console/incidents/{here.id}/edit?lang=ru", form)
    assert response.status_code == 403 and OUT_OF_SCOPE_RU in text(response)
    db.session.expire_all()
    assert here.region == "KZ-75" and abs(here.lat - ALMATY[0]) < 0.001
    # Within Almaty it moves.
    lat, lon = point_at(ALMATY, 2)
    assert (
        regional.post_form(f"/console/incidents/{here.id}/edit", {**form, "lat": str(lat), "lon": str(lon)}).status_code
        == 302
    )
    db.session.expire_all()
    assert abs(here.lat - lat) < 1e-6


# -- the safety banner, the simulator ---------------------------------------------------------------


def test_concerns_banner_shows_their_volunteers_and_their_incidents_only(regional, world):
    there_theirs = db.session.scalar(
        select(Alert).where(Alert.incident_id == world["there"].id, Alert.volunteer_id == world["theirs"].id)
    )
    there_theirs.arrived_at = there_theirs.help_requested_at = utcnow()
    db.session.commit()
    assert "Бекзат" not in text(regional.get("/console/concerns/live"))
    mine = db.session.scalar(select(Alert).where(Alert.volunteer_id == world["mine"].id))
    mine.arrived_at = mine.welfare_overdue_at = utcnow()
    here_theirs = db.session.scalar(
        select(Alert).where(Alert.incident_id == world["here"].id, Alert.volunteer_id == world["theirs"].id)
    )
    here_theirs.arrived_at = here_theirs.help_requested_at = utcnow()
    db.session.commit()
    banner = text(regional.get("/console/concerns/live"))
    assert "Алма Жетісова" in banner  # their volunteer, on Astana's incident
    assert "Бекзат Есілов" in banner  # an outsider on Almaty's incident, which they manage
    assert banner.count("Бекзат") == 1  # not on Astana's


def test_simulator_lists_and_opens_only_their_volunteers(regional, world, app):
    if app.config["SMS_BACKEND"] != "console":
        pytest.skip("the simulator needs the console SMS backend")
    assert regional.get(f"/console/simulator/{world['theirs'].id}").status_code == 404
    assert regional.get(f"/console/simulator/{world['mine'].id}").status_code == 200
    assert regional.post_form(f"/console/simulator/{world['theirs'].id}/reply", {"body": "ДА"}).status_code == 404
    found = regional.get("/console/simulator/?phone=%2B77011110002")
    assert found.status_code == 200 and "Бекзат" not in text(found)
