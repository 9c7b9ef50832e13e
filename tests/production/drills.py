"""What the production drills share: registering volunteers and posting incidents over HTTP, and
the checks every drill ends with (each SMS once, no need over-filled, no reply lost)."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from .stack import ProductionStack, wait_for

ASTANA = (51.1694, 71.4491)
ALMATY = (43.2220, 76.8512)
CSV_HEADER = "name,phone,lat,lon,skills,language,max_distance_km,organization\n"


def phone(prefix: str, i: int) -> str:
    """A Kazakh mobile number: +7 <operator prefix> <7 digits>."""
    return f"+7{prefix}{2_000_000 + i:07d}"


def register_bulk(stack: ProductionStack, count: int, prefix: str, at=ASTANA, skills="first_aid") -> list[str]:
    """Register `count` volunteers within about a kilometre of `at` (one CSV import request)."""
    rng = random.Random(prefix)
    phones = [phone(prefix, i) for i in range(count)]
    # The rows name an organisation, which must exist first (a repeat is 409, and fine).
    made = stack.api("POST", "/api/v1/organizations", stack.token, json={"name": "Production drill"})
    assert made.status_code in (201, 409), made.text
    lines = [
        f"Volunteer {prefix}-{i},{p},{at[0] + rng.uniform(-0.005, 0.005):.6f},{at[1] + rng.uniform(-0.005, 0.005):.6f},"
        f"{skills},{('kk', 'ru', 'en')[i % 3]},50,Production drill\n"
        for i, p in enumerate(phones)
    ]
    response = stack.api(
        "POST",
        "/api/v1/volunteers/import",
        stack.token,
        data=(CSV_HEADER + "".join(lines)).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == count, response.json()
    return phones


def post_incident(stack: ProductionStack, needs: list[dict], at=ASTANA, title="Production drill") -> dict:
    response = stack.api(
        "POST",
        "/api/v1/incidents",
        stack.token,
        json={
            "kind": "flood",
            "title": title,
            "lat": at[0],
            "lon": at[1],
            "radius_km": 5,
            "max_radius_km": 20,
            "needs": needs,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def incident(stack: ProductionStack, incident_id: int) -> dict:
    response = stack.api("GET", f"/api/v1/incidents/{incident_id}", stack.token)
    assert response.status_code == 200, response.text
    return response.json()


def alerts(stack: ProductionStack, incident_id: int) -> list[dict]:
    response = stack.api("GET", f"/api/v1/incidents/{incident_id}/alerts", stack.token)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def alert_sms_count(stack: ProductionStack) -> int:
    """Alert SMS the provider has created, as the outbox records them."""
    sids = {m["sid"] for m in stack.fake.messages}
    rows = stack.query("SELECT provider_id FROM outbox WHERE kind = 'alert' AND provider_id IS NOT NULL")
    return sum(1 for (sid,) in rows if sid in sids)


def wait_drained(stack: ProductionStack, timeout_s: float) -> None:
    """Until no SMS is waiting or being sent (twice in a row, a second apart)."""

    def idle() -> bool:
        return stack.scalar("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')") == 0

    def settled() -> bool:
        if not idle():
            return False
        time.sleep(1.0)
        return idle()

    assert wait_for(settled, timeout_s, 0.2), stack.query(
        "SELECT id, kind, status, attempts, claimed_until, next_attempt_at, last_error FROM outbox "
        "WHERE status IN ('pending', 'sending') ORDER BY id LIMIT 20"
    )


@dataclass
class Ledger:
    sent: list  # outbox rows the provider accepted, as recorded
    extra: list = field(default_factory=list)  # provider messages no row records: re-sends
    ambiguous: int = 0  # attempts counted as possibly duplicated

    def kinds(self) -> Counter:
        return Counter(row.kind for row in self.sent)

    def to(self, kind: str) -> Counter:
        return Counter(row.to_phone for row in self.sent if row.kind == kind)


def check_each_sms_once(stack: ProductionStack, *, faults: bool = False) -> Ledger:
    """Every SMS the service recorded as sent is at the provider under its own SID, once; nothing
    is left unsent or failed; one alert SMS per alert. Without faults nothing is extra or ambiguous.
    With faults, a provider message no row records is a copy of a queued SMS whose send was cut
    between the provider's answer and our record (a crash): the row was taken over after its lease
    and re-sent (or cancelled, when its alert had been answered meanwhile), and each such take-over
    is counted in that row's ambiguous_attempts."""
    rows = stack.query(
        "SELECT id, kind, to_phone, body, provider_id, status, alert_id, ambiguous_attempts FROM outbox ORDER BY id"
    )
    messages = stack.fake.messages
    by_sid = {m["sid"]: m for m in messages}
    assert not [r for r in rows if r.status in ("pending", "sending", "failed")], "SMS left unsent or failed"
    sent = [r for r in rows if r.provider_id is not None]
    assert all(r.provider_id in by_sid for r in sent), "an SMS recorded as sent is not at the provider"
    assert all(by_sid[r.provider_id]["to"] == r.to_phone and by_sid[r.provider_id]["body"] == r.body for r in sent)
    recorded = {r.provider_id for r in sent}
    extra = [m for m in messages if m["sid"] not in recorded]
    extra_by_key = Counter((m["to"], m["body"]) for m in extra)
    ambiguous_by_key = Counter()
    for r in rows:
        ambiguous_by_key[(r.to_phone, r.body)] += r.ambiguous_attempts
    queued = {(r.to_phone, r.body) for r in rows}
    strangers = [key for key in extra_by_key if key not in queued]
    assert not strangers, f"the provider got SMS the service never queued: {strangers[:3]}"
    ambiguous = sum(r.ambiguous_attempts for r in rows)
    per_alert = Counter(r.alert_id for r in sent if r.kind == "alert")
    assert all(n == 1 for n in per_alert.values()), "an alert was recorded as sent twice"
    assert stack.scalar("SELECT count(*) FROM alerts WHERE sent_at IS NOT NULL") == len(per_alert)
    if faults:
        unexplained = {k: n for k, n in extra_by_key.items() if n > ambiguous_by_key[k]}
        assert not unexplained, f"re-sent without an ambiguous attempt counted: {list(unexplained.items())[:3]}"
    else:
        assert extra == [] and ambiguous == 0, (len(extra), ambiguous)
    return Ledger(sent, extra, ambiguous)


def check_needs(stack: ProductionStack) -> None:
    """No need over-filled; every filled place is one accepted alert."""
    for need_id, count, filled, accepted in stack.query(
        "SELECT n.id, n.count, n.filled, (SELECT count(*) FROM alerts a WHERE a.filled_need_id = n.id "
        "AND a.status = 'accepted') FROM needs n"
    ):
        assert 0 <= filled <= count, (need_id, filled, count)
        assert accepted == filled, (need_id, accepted, filled)


def check_replies_stored_once(stack: ProductionStack, sids: list[str]) -> None:
    stored = Counter(sid for (sid,) in stack.query("SELECT message_sid FROM inbound"))
    assert set(sids) <= set(stored), f"{len(set(sids) - set(stored))} replies lost"
    assert all(n == 1 for n in stored.values())


def with_retries(call, attempts: int = 10, pause_s: float = 0.3):
    """(response, retries): a connection cut by a dying worker or server is tried again."""
    for retry in range(attempts):
        try:
            return call(), retry
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # ChunkedEncodingError: the worker died after the headers, in the middle of the body.
            if retry == attempts - 1:
                raise
            time.sleep(pause_s)


def drill(message: str) -> None:
    print(f"DRILL {message}")
