"""Demo data: about 2,000 volunteers around Astana and Almaty, six organisations in those two
regions (each volunteer in one), a national coordinator and a regional one (Almaty); idempotent."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from flask import current_app
from sqlalchemy import BigInteger, cast, func, insert, select, update

from geo.points import Point
from geo.regions import regions_of

from . import volunteer_search
from .clock import utcnow
from .extensions import db
from .models import Activity, Organization, User, Volunteer, name_key
from .skills import SkillCatalogue
from .telegram import SIMULATED_CHAT_BASE
from .users import create_user

DEMO_COORDINATOR = "coordinator@demo.local"
DEMO_COORDINATOR_PASSWORD = "demo-coordinator"
# A regional office's coordinator: sees Almaty's volunteers, manages Almaty's incidents.
DEMO_REGIONAL_COORDINATOR = "almaty@demo.local"
DEMO_REGIONAL_PASSWORD = "demo-almaty-office"
DEMO_REGIONAL_REGION = "KZ-75"
DEMO_ORGANIZATIONS = {
    "astana": ["Astana Volunteer Rescue", "Қазақстан Қызыл Жарты Ай — Астана", "Ertis Search Team"],
    "almaty": ["Almaty Mountain Rescue Volunteers", "Красный Полумесяц — Алматы", "Medeu Civil Defence Club"],
}
DEMO_REGIONS = {"astana": "KZ-71", "almaty": "KZ-75"}
CITIES = {"astana": (51.1694, 71.4491), "almaty": (43.2220, 76.8512)}
# A realistic mix: many first-aiders and drivers, few divers and dog handlers.
SKILL_WEIGHTS = {
    "first_aid": 40,
    "driver_4x4": 20,
    "logistics": 18,
    "search_rescue": 15,
    "medical": 8,
    "firefighting": 8,
    "water_rescue": 7,
    "radio_operator": 6,
    "psychological_support": 6,
    "translator": 5,
    "boat_operator": 4,
    "drone_pilot": 4,
    "animal_rescue": 4,
    "heavy_vehicle": 3,
    "mountain_rescue": 3,
    "diver": 2,
    "k9_handler": 1,
}
FIRST_NAMES = [
    "Айгерим",
    "Нурлан",
    "Дана",
    "Ерлан",
    "Асель",
    "Тимур",
    "Ольга",
    "Сергей",
    "Аружан",
    "Данияр",
    "Madina",
    "Arman",
    "Elena",
    "Dmitry",
    "Zhanna",
    "Bolat",
    "Saule",
    "Ivan",
    "Kamila",
    "Yerzhan",
]
LAST_NAMES = [
    "Ахметов",
    "Садыкова",
    "Иванов",
    "Петрова",
    "Жумабаев",
    "Ким",
    "Омарова",
    "Смагулов",
    "Nurpeisov",
    "Tulegenova",
    "Abenov",
    "Serikbayeva",
    "Kozlov",
    "Mukanova",
]
DEMO_VOLUNTEERS = 2000
# Demo numbers live in a block of Kcell's range that is ours alone in the demo database.
DEMO_PHONE_BASE = 77010000000
# With the simulated Telegram (development), every fifth demo volunteer has linked a simulated
# chat and prefers Telegram, so an incident's call-outs go out on both channels.
SIMULATED_TELEGRAM_EVERY = 5


def seed_demo(if_empty: bool = False) -> dict:
    """Create what is missing; a second run changes nothing. Returns what it did."""
    done = {
        "coordinator_created": False,
        "regional_coordinator_created": False,
        "organizations_created": 0,
        "volunteers_created": 0,
    }
    if db.session.scalar(select(User.id).where(User.email == DEMO_COORDINATOR)) is None:
        create_user(DEMO_COORDINATOR, "coordinator", password=DEMO_COORDINATOR_PASSWORD)
        done["coordinator_created"] = True
    if db.session.scalar(select(User.id).where(User.email == DEMO_REGIONAL_COORDINATOR)) is None:
        create_user(
            DEMO_REGIONAL_COORDINATOR, "coordinator", password=DEMO_REGIONAL_PASSWORD, regions=[DEMO_REGIONAL_REGION]
        )
        done["regional_coordinator_created"] = True
    if if_empty and db.session.scalar(select(func.count(Volunteer.id))) > 0:
        return done
    organization_ids, done["organizations_created"] = _seed_organizations()
    demo_phones = [f"+{DEMO_PHONE_BASE + i}" for i in range(DEMO_VOLUNTEERS)]
    existing = set(db.session.scalars(select(Volunteer.phone).where(Volunteer.phone.in_(demo_phones))))
    rows = [row for row in demo_rows(SkillCatalogue.load(), organization_ids) if row["phone"] not in existing]
    if rows:
        db.session.execute(insert(Volunteer), rows)
        volunteer_search.index_phones(row["phone"] for row in rows)
        _seed_activity([row["phone"] for row in rows])
    if rows and current_app.config["TELEGRAM_SIMULATED"]:
        done["telegram_linked"] = _link_simulated_chats([row["phone"] for row in rows])
    db.session.commit()
    done["volunteers_created"] = len(rows)
    return done


def _seed_organizations() -> tuple[dict[str, int], int]:
    """The demo organisations (those missing), with their region and a contact: name -> id."""
    ids, created = {}, 0
    for city, names in DEMO_ORGANIZATIONS.items():
        for number, name in enumerate(names, start=1):
            found = db.session.scalar(select(Organization).where(Organization.name_key == name_key(name)))
            if found is None:
                found = Organization(
                    name=name,
                    name_key=name_key(name),
                    region=DEMO_REGIONS[city],
                    email=f"office{number}@{city}.demo.local",
                    active=True,
                )
                db.session.add(found)
                db.session.flush()
                created += 1
            ids[name] = found.id
    return ids, created


def _link_simulated_chats(phones: list[str]) -> int:
    """Link every SIMULATED_TELEGRAM_EVERY-th new demo volunteer to their simulated chat."""
    chosen = [p for p in phones if (int(p[1:]) - DEMO_PHONE_BASE) % SIMULATED_TELEGRAM_EVERY == 0]
    chat = cast(Volunteer.id, BigInteger) + SIMULATED_CHAT_BASE  # telegram.simulated_chat_id, in SQL
    return db.session.execute(
        update(Volunteer)
        .where(Volunteer.phone.in_(chosen))
        .values(telegram_chat_id=chat, telegram_user_id=chat, preferred_channel="telegram")
    ).rowcount


DEMO_ACTIVITIES = (
    "Тренинг по первой помощи",
    "Алғашқы көмек жаттығуы",
    "Учения по поиску пропавших",
    "Су тасқыны: бөгетте кезекшілік",
    "Сбор гуманитарной помощи",
)


def _seed_activity(phones: list[str]) -> None:
    """A year of trainings and events for some of the new demo volunteers, so the register, its
    totals and certificates have something to show (verified, entered by hand)."""
    rng = random.Random(14)
    now = utcnow()
    people = db.session.execute(
        select(Volunteer.id, Volunteer.organization_id, Organization.name)
        .outerjoin(Organization, Organization.id == Volunteer.organization_id)
        .where(Volunteer.phone.in_(phones[::5]))
    ).all()
    records = []
    for volunteer_id, organization_id, organization in people:
        for _ in range(rng.randint(1, 6)):
            started = now - timedelta(days=rng.uniform(1, 360), hours=rng.uniform(0, 8))
            started = started.replace(microsecond=0)
            seconds = rng.choice((2, 3, 4, 6, 8)) * 1800
            records.append(
                {
                    "volunteer_id": volunteer_id,
                    "activity": rng.choice(DEMO_ACTIVITIES),
                    "organization": organization,
                    "organization_id": organization_id,
                    "started_at": started,
                    "ended_at": started + timedelta(seconds=seconds),
                    "duration_s": seconds,
                    "source": "manual",
                    "end_reason": "entered",
                    "verified": True,
                    "verified_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if records:
        db.session.execute(insert(Activity), records)


def demo_rows(catalogue: SkillCatalogue, organization_ids: dict[str, int]) -> list[dict]:
    rng = random.Random(2024)
    now = utcnow()
    skills, weights = zip(*[(code, w) for code, w in SKILL_WEIGHTS.items() if code in catalogue.bits])
    rows = []
    points = []
    for i in range(DEMO_VOLUNTEERS):
        city = "astana" if i % 2 == 0 else "almaty"
        lat, lon = _scatter(rng, *CITIES[city], sigma_km=8.0)
        points.append(Point(lat, lon))
        codes = set(rng.choices(skills, weights=weights, k=rng.choice((1, 1, 2, 2, 3))))
        language = rng.choices(("kk", "ru", "en"), weights=(45, 50, 5))[0]
        rows.append(
            {
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "phone": f"+{DEMO_PHONE_BASE + i}",
                "lat": lat,
                "lon": lon,
                "skill_mask": catalogue.mask_of(sorted(codes)),
                "language": language,
                "max_distance_km": rng.choice((10.0, 25.0, 50.0, 50.0, 100.0)),
                "organization_id": organization_ids[rng.choice(DEMO_ORGANIZATIONS[city])],
                "status": "active",
                "available": rng.random() > 0.1,
                "created_at": now,
                "updated_at": now,
            }
        )
    # Their regions from the points, as a coordinator's form or the import would derive them.
    for row, region in zip(rows, regions_of(points)):
        row["region"] = region
    return rows


def _scatter(rng: random.Random, lat: float, lon: float, sigma_km: float) -> tuple[float, float]:
    """A point around (lat, lon), normally spread with sigma_km in each direction."""
    north_km, east_km = rng.gauss(0, sigma_km), rng.gauss(0, sigma_km)
    return (
        round(lat + north_km / 111.32, 6),
        round(lon + east_km / (111.32 * math.cos(math.radians(lat))), 6),
    )
