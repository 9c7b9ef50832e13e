"""Outbox throughput against a loopback Twilio: is pacing the only limit?

    make bench-outbox        # SQLite; BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL

For each SMS_MAX_PER_SECOND and SMS_SEND_CONCURRENCY it queues about 4 seconds' worth of one-segment SMS, sends them
through the real twilio library to tests/fakes' FakeTwilio, and prints the achieved rate.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import delete, insert, select

from config import TestConfig
from dispatch import create_app, jobs, outbox
from dispatch.extensions import db
from dispatch.models import OutboxMessage, Volunteer
from notifications.gateway import TwilioGateway
from tests.fakes.twilio_server import FakeTwilio


def _serve_twilio(conn) -> None:
    """The loopback Twilio in a process of its own, so its CPU is not the sender's."""
    with FakeTwilio(keep_alive=True) as fake:
        conn.send((fake.account_sid, fake.auth_token, fake.base_url))
        conn.recv()
        conn.send(len(fake.messages))


def run(rate: float, concurrency: int, messages: int, url: str) -> tuple[float, int]:
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve_twilio, args=(there,), daemon=True)
    server.start()  # before the app exists: the child inherits no database connection
    account_sid, auth_token, base_url = here.recv()
    app = create_app(TestConfig.for_database(url, SMS_MAX_PER_SECOND=rate, SMS_SEND_CONCURRENCY=concurrency))
    with app.app_context():
        upgrade()
        db.session.execute(delete(OutboxMessage))
        db.session.execute(delete(Volunteer).where(Volunteer.phone.like("+7705%")))
        db.session.execute(
            insert(Volunteer),
            [
                {
                    "name": f"B{i}",
                    "phone": f"+7705{i:07d}",
                    "lat": 51.0,
                    "lon": 71.0,
                    "skill_mask": 1,
                    "language": "en",
                    "max_distance_km": 50.0,
                    "status": "active",
                    "available": True,
                }
                for i in range(messages)
            ],
        )
        for volunteer in db.session.scalars(select(Volunteer).where(Volunteer.phone.like("+7705%"))):
            outbox.enqueue(volunteer, "broadcast", "Bench: meet at the north gate at 18:00.")
        db.session.commit()
        app.extensions["sms_gateway"] = TwilioGateway(
            account_sid, auth_token, from_number="+15005550006", api_base_url=base_url
        )
        app.extensions["sms_pacer"] = outbox.Pacer(rate)
        started = time.perf_counter()
        sent = 0
        while sent < messages:
            sent += jobs.send_outbox(budget_s=60)
        seconds = time.perf_counter() - started
        db.session.remove()
    here.send("stop")
    received = here.recv()
    server.join()
    assert received == messages, (received, messages)
    return seconds, messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="10,25,50,100,200")
    parser.add_argument("--concurrency", default="1,2,4", help="SMS_SEND_CONCURRENCY values to compare")
    parser.add_argument("--seconds", type=float, default=4.0, help="sending time per rate at full pace")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/outbox.db"
        print(
            f"{'SMS_MAX_PER_SECOND':>18} {'in flight':>9} {'messages':>9} {'seconds':>8} {'achieved/s':>11} "
            f"{'of target':>9}"
        )
        for rate in (float(r) for r in args.rates.split(",")):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                messages = max(10, int(rate * args.seconds))
                seconds, count = run(rate, concurrency, messages, url)
                achieved = count / seconds
                print(
                    f"{rate:>18g} {concurrency:>9} {count:>9} {seconds:>8.2f} {achieved:>11.1f} {achieved / rate:>8.0%}"
                )


if __name__ == "__main__":
    main()
