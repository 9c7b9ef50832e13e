"""Many simultaneous accepts, from many threads and processes: never more accepted than needed."""

from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import func, select

from config import TestConfig
from dispatch import create_app, inbox, incidents
from dispatch.extensions import db
from dispatch.models import Alert, Need, User

from .factories import report, volunteer


def alerted_incident(client, auth, people: int, count: int) -> tuple[dict, list[str]]:
    crowd = [volunteer(km=1 + i * 0.1, bearing=i * 7, skills=("water_rescue",)) for i in range(people)]
    incident = report(client, auth, [{"skill": "water_rescue", "count": count}])
    coordinator = db.session.scalar(select(User).where(User.role == "coordinator"))
    incidents.alert_chosen(incident["id"], [v.id for v in crowd], coordinator)
    phones = [v.phone for v in crowd]
    db.session.remove()
    return incident, phones


def accepted(incident_id: int) -> tuple[int, int]:
    n = db.session.scalar(
        select(func.count()).select_from(Alert).where(Alert.incident_id == incident_id, Alert.status == "accepted")
    )
    filled = db.session.scalar(select(func.sum(Need.filled)).where(Need.incident_id == incident_id))
    return n, filled


def test_fifty_simultaneous_yes_in_threads(client, auth, migrated_app):
    incident, phones = alerted_incident(client, auth, people=50, count=4)
    start = threading.Barrier(len(phones))
    errors = []

    def reply(i: int, phone: str):
        try:
            with migrated_app.app_context():
                start.wait()
                inbox.receive_sms(f"SMrace{i:04d}", phone, f"YES {incident['code']}")
                db.session.remove()
        except Exception as exc:  # pragma: no cover - asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=reply, args=(i, p)) for i, p in enumerate(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert accepted(incident["id"]) == (4, 4)


def _reply_in_process(database_url: str, code: str, phones: list[str], offset: int, barrier) -> None:
    app = create_app(TestConfig.for_database(database_url))
    with app.app_context():
        barrier.wait()
        for i, phone in enumerate(phones):
            inbox.receive_sms(f"SMproc{offset + i:04d}", phone, f"YES {code}")
        db.session.remove()
        db.engine.dispose()


def test_simultaneous_yes_from_several_processes(client, auth, migrated_app):
    incident, phones = alerted_incident(client, auth, people=40, count=3)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    chunks = [phones[i::4] for i in range(4)]
    procs = [
        ctx.Process(
            target=_reply_in_process,
            args=(migrated_app.config["DATABASE_URL"], incident["code"], chunk, n * 100, barrier),
        )
        for n, chunk in enumerate(chunks)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert accepted(incident["id"]) == (3, 3)
