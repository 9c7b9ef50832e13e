"""Outbox throughput per channel against loopback fakes: is pacing the only limit, and what
does a message cost the sender?

    make bench-outbox        # SQLite; BENCH_DATABASE_URL=postgresql+psycopg://... for PostgreSQL
    make bench-outbox BENCH_OUTBOX_ARGS="--channels twilio,smsgate --rates 10,200 --concurrency 1"
    make bench-outbox BENCH_OUTBOX_ARGS="--channels telegram --rates 200 --profile"

For each channel (twilio, smsgate, telegram), target rate (the provider's pacer setting) and, for
SMS, SMS_SEND_CONCURRENCY, it queues about `--seconds` worth of one-segment broadcasts, sends them
with the app's own sender job (jobs.send_outbox, jobs.send_telegram_outbox) through the real
client library to the channel's fake from tests/fakes, and prints the achieved rate and the CPU
time per message of the sender process. Each fake runs in a process of its own (with keep-alive,
as the real APIs), so the sender's CPU is measured alone; database setup is not counted (with
PostgreSQL the server's CPU is not either: it is another process). The fake's own CPU per
message is printed too, to show it is not the limit.

Telegram's sender has no calls in flight beside its own and a fixed pacer (dispatch/telegram.py,
MESSAGES_PER_SECOND = 25, under the Bot API's ~30 messages a second across chats); the bench
swaps that pacer for one at the target rate, so 50 and 200 show what the sender could do, not
what production lets it do.

--profile runs each point's send loop under cProfile and prints the top entries (the rates it
prints are then cProfile's, not the sender's). Exits non-zero when a fake did not get exactly the
messages queued.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import resource
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass

from flask_migrate import upgrade
from sqlalchemy import delete, func, insert, select

from config import TestConfig
from dispatch import create_app, jobs, outbox
from dispatch.extensions import db
from dispatch.models import OutboxMessage, Volunteer
from dispatch.telegram import MESSAGES_PER_SECOND as TELEGRAM_PACER_PER_SECOND
from tests.fakes.smsgate_server import FakeSmsGate
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.twilio_server import FakeTwilio

CHANNELS = ("twilio", "smsgate", "telegram")
BODY = "Bench: meet at the north gate at 18:00."
PHONES = "+7705%"
WARM_UP = 5  # messages sent unpaced and untimed first
CHAT_BASE = 5_000_000_000  # the bench's chat ids (private chats: chat id == user id)


def _process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(channel: str, chats: int, conn) -> None:
    """The channel's loopback fake in a process of its own, so its CPU is not the sender's.
    Sends the app settings that point at it, then on "stop" how many messages it took and the
    CPU it used from "go" on."""
    fake: FakeTwilio | FakeSmsGate | FakeTelegram
    if channel == "twilio":
        fake = FakeTwilio(keep_alive=True).start()
        settings = dict(
            SMS_BACKEND="twilio",
            TWILIO_ACCOUNT_SID=fake.account_sid,
            TWILIO_AUTH_TOKEN=fake.auth_token,
            TWILIO_FROM_NUMBER="+15005550006",
            TWILIO_API_BASE_URL=fake.base_url,
        )
    elif channel == "smsgate":
        fake = FakeSmsGate(keep_alive=True).start()
        settings = dict(
            SMS_BACKEND="smsgate",
            SMSGATE_URL=fake.base_url,
            SMSGATE_USERNAME=fake.username,
            SMSGATE_PASSWORD=fake.password,
            SMSGATE_SIGNING_KEY=fake.signing_key,
        )
    else:
        fake = FakeTelegram().start()
        for chat in range(CHAT_BASE, CHAT_BASE + chats):
            fake.add_chat(chat)  # as if each had pressed Start
        settings = dict(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_BOT_USERNAME=fake.username,
            TELEGRAM_WEBHOOK_SECRET=secrets.token_urlsafe(32),
            TELEGRAM_API_BASE_URL=fake.base_url,
        )
    try:
        conn.send(settings)
        conn.recv()  # "go": the sender has warmed up
        ready_cpu_s = _process_cpu_s()
        conn.recv()
        if isinstance(fake, FakeTelegram):
            taken = sum(1 for call in fake.calls_to("sendMessage") if call.status == 200)
        else:
            taken = len(fake.messages)
        conn.send((taken, _process_cpu_s() - ready_cpu_s))
    finally:
        fake.stop()


@dataclass(frozen=True)
class Point:
    channel: str
    rate: float
    in_flight: int
    messages: int
    received: int
    seconds: float
    sender_cpu_s: float
    fake_cpu_s: float
    profile: str | None = None

    @property
    def achieved(self) -> float:
        """Messages a second after the first (the pacer lets the first go at once: n messages at
        r a second take (n - 1) / r seconds)."""
        return (self.received - 1) / self.seconds


def _volunteers(channel: str, count: int) -> None:
    """The bench's volunteers, reachable on the channel (not timed)."""
    db.session.execute(delete(OutboxMessage))
    db.session.execute(delete(Volunteer).where(Volunteer.phone.like(PHONES)))
    telegram = channel == "telegram"
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
                "preferred_channel": "telegram" if telegram else "sms",
                "telegram_chat_id": CHAT_BASE + i if telegram else None,
                "telegram_user_id": CHAT_BASE + i if telegram else None,
            }
            for i in range(count)
        ],
    )
    db.session.commit()


def _queue(channel: str, first: int, count: int) -> None:
    """One broadcast to each of the bench's volunteers first .. first + count - 1, through
    outbox.enqueue as the app queues them (not timed)."""
    phones = [f"+7705{i:07d}" for i in range(first, first + count)]
    for volunteer in db.session.scalars(select(Volunteer).where(Volunteer.phone.in_(phones))):
        queued = outbox.enqueue(volunteer, "broadcast", BODY)
        assert queued is not None and (queued.channel or "sms") == ("telegram" if channel == "telegram" else "sms")
    db.session.commit()


def _send_all(send, count: int, deadline_s: float) -> None:
    """Run the sender job until `count` rows are handled, a round finds nothing due, or the
    deadline (no scheduled sender polls here, so a stuck row ends the point)."""
    handled, started = 0, time.perf_counter()
    while handled < count and time.perf_counter() - started < deadline_s:
        done = send(budget_s=60)
        if not done:
            break
        handled += done


def run(channel: str, rate: float, concurrency: int, messages: int, url: str, profile: bool) -> Point:
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(channel, WARM_UP + messages, there), daemon=True)
    server.start()  # before the app exists: the child inherits no database connection
    settings = here.recv()
    app = create_app(
        TestConfig.for_database(url, SMS_MAX_PER_SECOND=rate, SMS_SEND_CONCURRENCY=concurrency, **settings)
    )
    send = jobs.send_telegram_outbox if channel == "telegram" else jobs.send_outbox
    pacer = "telegram_pacer" if channel == "telegram" else "sms_pacer"
    profiler = cProfile.Profile() if profile else None
    with app.app_context():
        _volunteers(channel, WARM_UP + messages)
        # Warm up unpaced (the first connection, the statement caches), then the timed rows.
        _queue(channel, 0, WARM_UP)
        app.extensions[pacer] = outbox.Pacer(1e6)
        _send_all(send, WARM_UP, 30)
        _queue(channel, WARM_UP, messages)
        here.send("go")
        # A fresh pacer at the target rate, started now (Telegram's replaces its fixed 25/s).
        app.extensions[pacer] = outbox.Pacer(rate)
        cpu_started, started = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        _send_all(send, messages, 3 * messages / rate + 30)
        if profiler is not None:
            profiler.disable()
        seconds, sender_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        left = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.not_in(("sent", "delivered")))
        )
        db.session.remove()
        for name in ("sms_gateway", "telegram_channel"):
            closing = getattr(app.extensions.get(name), "close", None)
            if closing is not None:
                closing()
        db.engine.dispose()
    here.send("stop")
    received, fake_cpu_s = here.recv()
    received -= WARM_UP
    server.join()
    if left:
        print(f"  {channel} at {rate:g}/s: {left} message(s) not sent", file=sys.stderr)
    text = None
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(r"dispatch|notifications|requests/sessions", 15)
        stats.sort_stats("tottime").print_stats(15)
        text = out.getvalue()
    return Point(channel, rate, concurrency, messages, received, seconds, sender_cpu_s, fake_cpu_s, text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", default=",".join(CHANNELS), help=f"some of {', '.join(CHANNELS)}")
    parser.add_argument("--rates", default="10,50,200", help="target messages a second (the pacer's setting)")
    parser.add_argument("--concurrency", default="1,2", help="SMS_SEND_CONCURRENCY values (SMS channels only)")
    parser.add_argument("--seconds", type=float, default=4.0, help="sending time per point at full pace")
    parser.add_argument("--profile", action="store_true", help="cProfile each send loop, print its top entries")
    args = parser.parse_args()
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        parser.error(f"unknown channel(s) {', '.join(unknown)}: choose from {', '.join(CHANNELS)}")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/outbox.db"
        schema = create_app(TestConfig.for_database(url))
        with schema.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"database: {url.split('://', 1)[0]}, {args.seconds:g} s per point, load average {load} ({os.cpu_count()} CPUs)"
        )
        print(
            f"{'channel':>8} {'target/s':>8} {'in flight':>9} {'messages':>8} {'seconds':>7} {'achieved/s':>10} "
            f"{'of target':>9} {'sender CPU ms/msg':>17} {'fake CPU ms/msg':>15}"
        )
        for channel in channels:
            # The Telegram sender sends one message at a time whatever SMS_SEND_CONCURRENCY says.
            concurrencies = [1] if channel == "telegram" else [int(c) for c in args.concurrency.split(",")]
            for rate in (float(r) for r in args.rates.split(",")):
                for concurrency in concurrencies:
                    messages = max(10, int(rate * args.seconds))
                    point = run(channel, rate, concurrency, messages, url, args.profile)
                    failed += point.received != point.messages
                    print(
                        f"{channel:>8} {rate:>8g} {concurrency:>9} {point.received:>8} {point.seconds:>7.2f} "
                        f"{point.achieved:>10.1f} {point.achieved / rate:>9.0%} "
                        f"{1000 * point.sender_cpu_s / max(point.received, 1):>17.2f} "
                        f"{1000 * point.fake_cpu_s / max(point.received, 1):>15.2f}",
                        flush=True,
                    )
                    if point.profile:
                        print(point.profile, flush=True)
            if channel == "telegram":
                print(
                    f"{'':>8} telegram: production paces at {TELEGRAM_PACER_PER_SECOND:g}/s (Bot API: ~30/s across "
                    "chats); 50 and 200 are what the sender could do",
                    flush=True,
                )
    if failed:
        print(f"{failed} point(s) where the fake did not get every message", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
