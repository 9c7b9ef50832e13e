"""The console's people pages: search by name or phone (Cyrillic and Latin), add and edit one
volunteer, a volunteer's page with their history, filters by region and organisation, and the
per-region and per-organisation dashboards; every page scoped to the signed-in user."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch import volunteer_search
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Activity, AuditEvent, InboundMessage, Need, Volunteer, VolunteerSearchTerm
from dispatch.schemas import VolunteerPatch
from dispatch.skills import SkillCatalogue
from dispatch.users import create_user
from dispatch.volunteer_import import import_volunteers
from dispatch.volunteers import erase_volunteer, update_volunteer
from tests.dispatch.factories import ALMATY, alert, incident, organization, volunteer
from tests.web.conftest import PASSWORD, csrf_token, sign_in
from tests.web.test_translated_messages import english_words


def found_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr id="volunteer-(\d+)"', html)}


def search(client, q: str, status: int = 200) -> set[int]:
    response = client.get("/console/volunteers/search", query_string={"q": q})
    assert response.status_code == status, (q, response.status_code)
    return found_ids(response.get_data(as_text=True))


@pytest.fixture
def people(app):
    aigerim = volunteer(name="Айгерим Садыкова", phone="+77012345678", region="KZ-71")
    zhanna = volunteer(name="Zhanna Qasymova", phone="+77759876543", region="KZ-75", origin=ALMATY)
    erlan = volunteer(name="Ерлан Хасанов", phone="+77470001122", region="KZ-75", origin=ALMATY)
    return aigerim, zhanna, erlan


def test_search_by_name_in_either_alphabet_and_any_case(console, people):
    aigerim, zhanna, erlan = people
    for q in ("айгер", "АЙГЕРИМ", "Aigerim", "aygerim sad", "сад айг", "Sadykova", "  AIG   S "):
        assert search(console, q) == {aigerim.id}, q
    for q in ("Жанна", "janna", "zhan kas", "Қасымова"):
        assert search(console, q) == {zhanna.id}, q
    assert search(console, "Khasanov") == {erlan.id}
    assert search(console, "Aigerim Khasanov") == set()
    assert search(console, "nobody") == set()


def test_search_by_phone_in_its_common_forms(console, people):
    aigerim, _, _ = people
    for q in ("+7 701 234 56 78", "87012345678", "8 (701) 234-56-78", "7012345678", "701 234", "+7701"):
        assert search(console, q) == {aigerim.id}, q
    assert search(console, "+7 705") == set()


def test_a_query_too_short_is_a_400_and_an_empty_one_is_the_form(console, people):
    response = console.get("/console/volunteers/search?q=12")
    assert response.status_code == 400 and 'id="q-error"' in response.get_data(as_text=True)
    assert console.get("/console/volunteers/search?q=%20-%20").status_code == 400
    empty = console.get("/console/volunteers/search")
    assert empty.status_code == 200 and "No volunteer matches." not in empty.get_data(as_text=True)


def test_terms_follow_renames_imports_and_erasure(console, people, app):
    aigerim, zhanna, _ = people
    update_volunteer(zhanna.id, VolunteerPatch(name="Жанна Омарова"), SkillCatalogue.load(), "test")
    assert search(console, "omarova") == {zhanna.id} and search(console, "qasymova") == set()
    update_volunteer(zhanna.id, VolunteerPatch(phone="+77001112233"), SkillCatalogue.load(), "test")
    assert search(console, "8700111") == {zhanna.id} and search(console, "8775") == set()
    erase_volunteer(aigerim.id, "test")
    assert search(console, "aigerim") == set() and search(console, "+77012345678") == set()
    assert db.session.scalar(select(func.count()).where(VolunteerSearchTerm.volunteer_id == aigerim.id)) == 0
    csv = "name,phone,lat,lon,skills,language\nДамир Нұрланов,+77071234567,43.25,76.9,first_aid,kk\n"
    report = import_volunteers(csv.splitlines(keepends=True), "KZ", "test")
    assert report.created == 1
    assert len(search(console, "Damir Nurlanov")) == 1


def test_reindex_all_writes_the_same_terms(app, people):
    before = set(db.session.execute(select(VolunteerSearchTerm.term, VolunteerSearchTerm.volunteer_id)).all())
    assert volunteer_search.reindex_all() == 3
    db.session.commit()
    after = set(db.session.execute(select(VolunteerSearchTerm.term, VolunteerSearchTerm.volunteer_id)).all())
    assert before == after and ("aigerim", people[0].id) in after


def test_markup_in_a_name_is_text(console):
    v = volunteer(name="<script>alert(1)</script> Bold", phone="+77010000099")
    html = console.get("/console/volunteers/search?q=bold").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; Bold" in html
    page = console.get(f"/console/volunteers/{v.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def regional(client, app, regions=("KZ-75",), organization_ids=()):
    user, _ = create_user("almaty@test.local", "coordinator", password=PASSWORD, regions=regions,
                          organization_ids=organization_ids)  # fmt: skip
    assert sign_in(client, user.email).status_code == 302
    return user


def test_scoped_search_and_page_hide_other_regions(client, app, people):
    aigerim, zhanna, erlan = people
    regional(client, app)
    assert search(client, "a") == set()  # "a…": only Aigerim, in KZ-71, out of scope
    assert search(client, "хасан") == {erlan.id} and search(client, "j") == {zhanna.id}
    assert search(client, "+7701") == set()
    assert client.get(f"/console/volunteers/{aigerim.id}").status_code == 404
    assert client.get(f"/console/volunteers/{aigerim.id}/edit").status_code == 404
    token = csrf_token(client, "/console/")
    before = db.session.get(Volunteer, aigerim.id).name
    posted = client.post(f"/console/volunteers/{aigerim.id}/edit", data={"csrf_token": token, "name": "X"})
    assert posted.status_code == 404
    db.session.expire_all()
    assert db.session.get(Volunteer, aigerim.id).name == before
    assert client.get(f"/console/volunteers/{erlan.id}").status_code == 200


def test_the_volunteer_page_shows_history_and_audits_the_read(console, people, coordinator):
    aigerim, _, _ = people
    flood = incident(title="Паводок на Ишиме")
    a = alert(flood, aigerim, status="accepted")
    a.responded_at = utcnow()
    a.arrived_at = utcnow()
    db.session.add(
        InboundMessage(
            message_sid="SM1",
            from_phone=aigerim.phone,
            body="ДА <b>482</b>",
            volunteer_id=aigerim.id,
            incident_id=flood.id,
            intent="accept",
            outcome="accepted",
        )  # fmt: skip
    )
    db.session.add(
        Activity(
            volunteer_id=aigerim.id,
            activity="Тренинг",
            started_at=utcnow() - timedelta(hours=3),
            ended_at=utcnow() - timedelta(hours=1),
            duration_s=7200,
            source="manual",
        )  # fmt: skip
    )
    db.session.commit()
    response = console.get(f"/console/volunteers/{aigerim.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Айгерим Садыкова" in html and "+77012345678" in html
    assert f'href="/console/incidents/{flood.id}"' in html and "Паводок на Ишиме" in html
    assert 'id="alert-' in html and "Accepted" in html and "On scene" in html
    assert "ДА &lt;b&gt;482&lt;/b&gt;" in html
    assert "Тренинг" in html and 'id="activity-' in html
    read = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "volunteer_read")).all()
    assert [(e.volunteer_id, e.actor, e.details["why"]) for e in read] == [
        (aigerim.id, f"user:{coordinator.id}", "registry")
    ]
    assert console.get("/console/volunteers/999999").status_code == 404


def form(**fields) -> dict:
    return {"name": "Асель Ким", "phone": "8 701 555 44 33", "language": "kk", "skills": ["first_aid", "driver_4x4"],
            "lat": "43.25", "lon": "76.95", "region": "", "organization_id": "", "birth_date": "1990-05-01",
            **fields}  # fmt: skip


def test_add_a_volunteer_in_the_form(console, app):
    rescue = organization("Almaty Rescue", region="KZ-75")
    page = console.get("/console/volunteers/new")
    assert page.status_code == 200 and "Almaty Rescue" in page.get_data(as_text=True)
    added = console.post_form("/console/volunteers/new", form(organization_id=str(rescue.id)))
    assert added.status_code == 302, added.get_data(as_text=True)
    v = db.session.scalars(select(Volunteer)).one()
    assert (v.name, v.phone, v.language, v.organization_id, v.region, str(v.birth_date)) == (
        "Асель Ким", "+77015554433", "kk", rescue.id, "KZ-75", "1990-05-01")  # fmt: skip
    assert SkillCatalogue.load().codes_of(v.skill_mask) == ["first_aid", "driver_4x4"] or set(
        SkillCatalogue.load().codes_of(v.skill_mask)
    ) == {"first_aid", "driver_4x4"}
    assert added.headers["Location"].endswith(f"/console/volunteers/{v.id}")
    assert search(console, "asel kim") == {v.id}


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"name": ""}, "name"),
        ({"phone": "12"}, "phone"),
        ({"lat": "91"}, "lat"),
        ({"lat": "", "lon": ""}, "home"),
        ({"lat": "abc"}, "lat"),
        ({"skills": ["juggling"]}, "skills"),
        ({"language": "de"}, "language"),
        ({"region": "KZ-99"}, "region"),
        ({"organization_id": "999999"}, "organization_id"),
        ({"birth_date": "31.02.1990"}, "birth_date"),
        ({"max_distance_km": "-5"}, "max_distance_km"),
    ],
)
def test_bad_input_in_the_add_form_is_a_400_naming_the_field(console, fields, where):
    response = console.post_form("/console/volunteers/new", form(**fields))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and f'id="v-{where}-error"' in html, (fields, html[-3000:])
    assert 'id="form-problems"' in html
    assert db.session.scalar(select(func.count(Volunteer.id))) == 0


def test_form_errors_are_in_the_page_language(console):
    volunteer(name="Taken", phone="+77015554433")
    console.get("/console/?lang=ru")
    response = console.post_form("/console/volunteers/new", form(lat="91"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Ничего не сохранено" in html and "Nothing was saved" not in html
    assert english_words(html, "ru") == []
    duplicate = console.post_form("/console/volunteers/new", form())
    assert duplicate.status_code == 400 and 'id="v-phone-error"' in duplicate.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Volunteer.id))) == 1


def test_the_forms_need_the_csrf_token(console, people):
    assert console.post("/console/volunteers/new", data=form()).status_code == 400
    aigerim = people[0]
    assert console.post(f"/console/volunteers/{aigerim.id}/edit", data=form()).status_code == 400
    db.session.expire_all()
    assert db.session.get(Volunteer, aigerim.id).name == "Айгерим Садыкова"


def test_edit_a_volunteer(console, people):
    aigerim = people[0]
    page = console.get(f"/console/volunteers/{aigerim.id}/edit").get_data(as_text=True)
    assert 'value="Айгерим Садыкова"' in page and 'value="+77012345678"' in page
    changed = form(name="Айгерим Омарова", phone="+77012345678", available="no", status="inactive", region="KZ-71")
    response = console.post_form(f"/console/volunteers/{aigerim.id}/edit", changed)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    v = db.session.get(Volunteer, aigerim.id)
    assert (v.name, v.available, v.status, v.region, v.lat) == ("Айгерим Омарова", False, "inactive", "KZ-71", 43.25)
    assert search(console, "omarova") == {v.id}


def test_bad_input_in_the_edit_form_changes_nothing(console, people):
    aigerim = people[0]
    before = (aigerim.name, aigerim.phone, aigerim.lat, aigerim.status)
    for fields in ({"name": "New", "lat": "200"}, {"name": "New", "status": "opted_out"},
                   {"name": "New", "phone": people[1].phone}, {"name": "New", "available": "maybe"}):  # fmt: skip
        response = console.post_form(f"/console/volunteers/{aigerim.id}/edit", form(**fields))
        assert response.status_code == 400, fields
        db.session.expire_all()
        v = db.session.get(Volunteer, aigerim.id)
        assert (v.name, v.phone, v.lat, v.status) == before, fields


def test_a_scoped_coordinator_adds_only_inside_their_scope(client, app):
    regional(client, app)
    token = csrf_token(client, "/console/")
    astana = client.post("/console/volunteers/new", data={**form(lat="51.17", lon="71.45"), "csrf_token": token})
    assert astana.status_code == 400 and 'id="v-region-error"' in astana.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Volunteer.id))) == 0
    almaty = client.post("/console/volunteers/new", data={**form(), "csrf_token": token})
    assert almaty.status_code == 302
    v = db.session.scalars(select(Volunteer)).one()
    moved = client.post(f"/console/volunteers/{v.id}/edit", data={**form(region="KZ-71"), "csrf_token": token})
    assert moved.status_code == 400
    db.session.expire_all()
    assert db.session.get(Volunteer, v.id).region == "KZ-75"


def test_volunteer_list_and_incident_list_filter_by_region_and_organisation(console, people):
    aigerim, zhanna, erlan = people
    rescue = organization("Almaty Rescue", region="KZ-75")
    erlan.organization_id = rescue.id
    db.session.commit()
    html = console.get("/console/volunteers?region=KZ-75").get_data(as_text=True)
    assert "Zhanna Qasymova" in html and "Ерлан Хасанов" in html and "Айгерим" not in html
    html = console.get(f"/console/volunteers?region=KZ-75&organization_id={rescue.id}").get_data(as_text=True)
    assert "Ерлан Хасанов" in html and "Zhanna" not in html
    incident(code="111", title="Flood in Astana", region="KZ-71")
    incident(code="222", title="Fire in Almaty", region="KZ-75")
    html = console.get("/console/?region=KZ-71").get_data(as_text=True)
    assert "Flood in Astana" in html and "Fire in Almaty" not in html
    assert 'data-live-src="/console/live?region=KZ-71"' in html
    live = console.get("/console/live?region=KZ-71").get_data(as_text=True)
    assert "Flood in Astana" in live and "Fire in Almaty" not in live
    html = console.get(f"/console/?organization_id={rescue.id}").get_data(as_text=True)
    assert "Fire in Almaty" in html and "Flood in Astana" not in html
    html = console.get(f"/console/?organization_id={rescue.id}&region=KZ-71").get_data(as_text=True)
    assert "Fire in Almaty" not in html and "Flood in Astana" not in html
    html = console.get("/console/?region=nowhere").get_data(as_text=True)
    assert "Fire in Almaty" in html and "Flood in Astana" in html


def test_dashboards(console, people):
    aigerim, zhanna, erlan = people
    rescue = organization("Almaty Rescue", region="KZ-75")
    zhanna.organization_id = erlan.organization_id = rescue.id
    erlan.available = False
    db.session.commit()
    fire = incident(code="222", title="Fire in Almaty", region="KZ-75")
    fire.created_at = utcnow() - timedelta(minutes=30)
    need = db.session.scalars(select(Need).where(Need.incident_id == fire.id)).one()
    need.filled = 1
    accepted = alert(fire, zhanna, status="accepted")
    accepted.filled_need_id, accepted.responded_at = need.id, utcnow() - timedelta(minutes=18)
    alert(fire, erlan, status="declined")
    alert(incident(code="333", region="KZ-75"), erlan, status="expired")
    db.session.commit()

    index = console.get("/console/dashboards").get_data(as_text=True)
    assert 'href="/console/dashboards/regions/KZ-75"' in index and "Almaty Rescue" in index
    html = console.get("/console/dashboards/regions/KZ-75").get_data(as_text=True)
    assert re.search(r'id="volunteer-count"><a [^>]*>2<', html) and 'id="available-count">1<' in html
    assert "1 accepted, 1 declined, 1 no answer" in html
    assert re.search(r'id="fill-time">12(\.0)? min · 1 of 2 incidents filled', html), html
    org = console.get(f"/console/dashboards/organizations/{rescue.id}").get_data(as_text=True)
    assert re.search(r'id="volunteer-count"><a [^>]*>2<', org) and "1 of 2 incidents filled" in org
    assert console.get("/console/dashboards/regions/KZ-75?days=3").status_code == 400
    assert console.get("/console/dashboards/regions/XX-01").status_code == 404
    assert console.get("/console/dashboards/organizations/999999").status_code == 404


def test_dashboards_are_scoped(client, app, people):
    aigerim, zhanna, erlan = people
    elsewhere = organization("Astana Rescue", region="KZ-71")
    regional(client, app)
    index = client.get("/console/dashboards").get_data(as_text=True)
    assert "KZ-75" in index and "/console/dashboards/regions/KZ-71" not in index and "Astana Rescue" not in index
    assert client.get("/console/dashboards/regions/KZ-71").status_code == 404
    assert client.get(f"/console/dashboards/organizations/{elsewhere.id}").status_code == 404
    # An organisation of theirs with a member in another region: that member is not counted there.
    user_org = organization("Almaty Rescue", region="KZ-75")
    aigerim.organization_id = user_org.id
    db.session.commit()
    html = client.get(f"/console/dashboards/organizations/{user_org.id}").get_data(as_text=True)
    assert re.search(r'id="volunteer-count"><a [^>]*>0<', html)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_pages_have_no_english_in_russian_and_kazakh(console, people, language):
    aigerim = people[0]
    rescue = organization("Алматы құтқару", region="KZ-75")
    flood = incident(title="Су тасқыны", region="KZ-75")
    alert(flood, aigerim, status="accepted")
    console.get(f"/console/?lang={language}")
    pages = [
        "/console/volunteers/search?q=айг",
        "/console/volunteers/search?q=zzzz",
        "/console/volunteers/search?q=1",
        f"/console/volunteers/{aigerim.id}",
        f"/console/volunteers/{aigerim.id}/edit",
        "/console/volunteers/new",
        "/console/dashboards",
        "/console/dashboards/regions/KZ-75",
        f"/console/dashboards/organizations/{rescue.id}",
        "/console/?region=KZ-75",
        "/console/volunteers?region=KZ-71",
    ]
    for path in pages:
        html = console.get(path).get_data(as_text=True)
        assert english_words(html, language, {"Aigerim", "S", "START", "Telegram"}) == [], path
    bad = console.post_form("/console/volunteers/new", form(phone="12", lat="", lon="", birth_date="x"))
    assert english_words(bad.get_data(as_text=True), language) == []
