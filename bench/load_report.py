"""The checks and the printed report of bench/load_test.py: exactly once, no over-fill, no
lost reply, and the figures of the event."""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.production.stack import ProductionStack

if TYPE_CHECKING:
    from .load_test import Event

# Each incident's needs: posted by the load test, and what the checks expect filled.
NEEDS = [(None, 44), ("first_aid", 17), ("driver_4x4", 9)]
ACCEPTANCE = 0.35
# "... YES 482 / NO 482" and its Russian and Kazakh forms end every alert SMS.
ALERT_REPLY_LINE = re.compile(r"(YES|ДА|ИӘ) (\d{3,4}) / (NO|НЕТ|ЖОҚ) \2")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def best_rate(times: list[float], window_s: float) -> float:
    """The most events in any window_s-long window, per second."""
    ordered, best, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > window_s:
            start += 1
        best = max(best, end - start + 1)
    return best / window_s


# -- checks and the report -------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(stack: ProductionStack, event: Event, finished_in_time: bool) -> list[Check]:
    checks = [Check("finished within the time limit", finished_in_time, f"--time-limit-s {event.args.time_limit_s}")]
    bad_posts = [p for p in event.posted if p.status != 201]
    checks.append(
        Check(
            "every incident created (201)",
            not bad_posts and len(event.posted) == len(event.args.plan),
            f"{len(event.posted) - len(bad_posts)}/{len(event.args.plan)}",
        )
    )

    rows = stack.query("SELECT id, kind, to_phone, provider_id, status, alert_id, ambiguous_attempts FROM outbox")
    left = Counter(r.status for r in rows if r.status in ("pending", "sending", "failed"))
    checks.append(Check("no SMS left unsent or failed", not left, dict(left) and str(dict(left)) or "0 left"))
    at_provider = Counter(sid for _, sid, _, _ in event.created)
    by_sid = {r.provider_id: r for r in rows if r.provider_id}
    strays = [sid for sid in at_provider if sid not in by_sid]
    missing = [sid for sid in by_sid if sid not in at_provider]
    checks.append(
        Check(
            "every SMS at the provider is one outbox row, and back",
            not strays and not missing,
            f"{len(at_provider)} messages, {len(by_sid)} rows sent, {len(strays)} unrecorded, "
            f"{len(missing)} recorded but absent",
        )
    )
    alert_rows = [r for r in by_sid.values() if r.kind == "alert"]
    per_alert = Counter(r.alert_id for r in alert_rows)
    per_volunteer_incident = Counter(
        (to, m.group(2)) for _, _, to, body in event.created if (m := ALERT_REPLY_LINE.search(body))
    )
    sent_alerts = stack.scalar("SELECT count(*) FROM alerts WHERE sent_at IS NOT NULL")
    twice = sum(1 for n in per_alert.values() if n > 1) + sum(1 for n in per_volunteer_incident.values() if n > 1)
    checks.append(
        Check(
            "every alert sent exactly once",
            twice == 0 and len(alert_rows) == sent_alerts == sum(per_volunteer_incident.values()),
            f"{len(alert_rows)} alert SMS, {sent_alerts} alerts sent, {twice} doubled",
        )
    )
    ambiguous = sum(r.ambiguous_attempts for r in rows)
    checks.append(Check("no ambiguous send attempt", ambiguous == 0, str(ambiguous)))

    needs = stack.query(
        "SELECT n.id, n.count, n.filled, (SELECT count(*) FROM alerts a WHERE a.filled_need_id = n.id "
        "AND a.status = 'accepted') AS accepted FROM needs n"
    )
    over = [n.id for n in needs if n.filled > n.count or n.filled < 0]
    mismatch = [n.id for n in needs if n.accepted != n.filled]
    checks.append(
        Check(
            "no need over-filled (filled <= count)",
            not over,
            f"{sum(n.filled for n in needs)} filled of {sum(n.count for n in needs)} places",
        )
    )
    checks.append(Check("accepted alerts == filled, per need", not mismatch, f"{len(mismatch)} needs differ"))

    stored = Counter(sid for (sid,) in stack.query("SELECT message_sid FROM inbound"))
    answered = [r for r in event.replies if r.status == 200]
    failed = [r for r in event.replies if r.status != 200]
    lost = [r.sid for r in answered if stored[r.sid] != 1]
    checks.append(
        Check(
            "every reply answered 200",
            not failed,
            f"{len(answered)}/{len(event.replies)}"
            + (f", {Counter(r.status or r.error for r in failed)}" if failed else ""),
        )
    )
    checks.append(
        Check(
            "no reply lost (each MessageSid stored once)",
            not lost and len(stored) == len(answered),
            f"{len(stored)} stored, {len(lost)} lost",
        )
    )
    return checks


def report(stack: ProductionStack, event: Event, finished: float, setup: dict, checks: list[Check]) -> None:
    posts = [p for p in event.posted if p.status == 201]
    replies = [r for r in event.replies if r.status is not None]
    created_at = [at for at, _, _, _ in event.created]
    kinds = Counter(k for (k,) in stack.query("SELECT kind FROM outbox WHERE provider_id IS NOT NULL"))
    alerts = Counter(s for (s,) in stack.query("SELECT status FROM alerts"))
    incidents = Counter(s for (s,) in stack.query("SELECT status FROM incidents"))
    intents = Counter(o for (o,) in stack.query("SELECT outcome FROM inbound"))
    staffed = stack.query(
        "SELECT i.id, EXTRACT(EPOCH FROM (min(e.at) - i.created_at)) FROM incidents i "
        "JOIN audit_events e ON e.incident_id = i.id AND e.event = 'incident_staffed' "
        "GROUP BY i.id, i.created_at"
    )
    first_wave = sum(math.ceil(n / ACCEPTANCE) for _, n in NEEDS)
    by_code = {p.code: p for p in posts}
    to_first, to_wave = [], []
    for code, arrivals in event.alert_arrivals.items():
        if code in by_code:
            arrivals = sorted(arrivals)
            to_first.append(arrivals[0] - by_code[code].started)
            if len(arrivals) >= first_wave:
                to_wave.append(arrivals[first_wave - 1] - by_code[code].started)
    span = lambda xs: (max(xs) - min(xs)) if len(xs) > 1 else float("nan")  # noqa: E731
    reply_span = span([r.started for r in replies])
    ms = lambda xs, p: percentile(xs, p) * 1000  # noqa: E731
    cpu = event.cpu_used()

    line = "-" * 78
    print(
        f"\n{line}\nMass-event load test: {setup['workers']} gunicorn workers + "
        f"{'a dispatcher and a sender process' if event.args.split else '1 scheduler'} "
        f"({event.args.senders} SMS sender{'s' if event.args.senders > 1 else ''}), PostgreSQL, "
        f"{os.cpu_count()} cores\n{line}"
    )
    rows = [
        ("volunteers (COPY + VACUUM ANALYZE)", f"{setup['volunteers']:,} in {setup['seed_s']:.1f} s"),
        (
            "incidents opened",
            f"{len(posts)} in {span([p.started for p in posts]):.1f} s "
            f"({len(posts) / max(1e-9, span([p.started for p in posts])):.2f}/s)",
        ),
        (
            "  POST /incidents latency p50 / p99 / max",
            f"{ms([p.seconds for p in posts], 50):.0f} / {ms([p.seconds for p in posts], 99):.0f} / "
            f"{max((p.seconds for p in posts), default=0) * 1000:.0f} ms",
        ),
        (
            "  POST -> first alert at provider p50 / p99",
            f"{percentile(to_first, 50):.2f} / {percentile(to_first, 99):.2f} s",
        ),
        (
            f"  POST -> first wave ({first_wave}) out p50 / p99",
            f"{percentile(to_wave, 50):.1f} / {percentile(to_wave, 99):.1f} s ({len(to_wave)} incidents)",
        ),
        (
            "  POST -> staffed p50 / p99",
            f"{percentile([float(s) for _, s in staffed], 50):.1f} / {percentile([float(s) for _, s in staffed], 99):.1f} s "
            f"({len(staffed)} staffed)",
        ),
        ("alerts", f"{sum(alerts.values()):,}: " + ", ".join(f"{k} {v}" for k, v in alerts.most_common())),
        ("SMS sent", f"{sum(kinds.values()):,}: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common())),
        (
            "  SMS throughput, mean / best 10 s",
            f"{len(created_at) / max(1e-9, span(created_at)):.0f} / "
            f"{best_rate(created_at, 10):.0f} per s over {span(created_at):.0f} s "
            f"(SMS_MAX_PER_SECOND {event.args.sms_rate:g})",
        ),
        (
            "replies (/sms/inbound, signed)",
            f"{len(replies):,} in {reply_span:.0f} s ({len(replies) / max(1e-9, reply_span):.1f}/s), "
            f"{sum(r.yes for r in replies)} YES",
        ),
        (
            "  inbound latency p50 / p99 / max",
            f"{ms([r.seconds for r in replies], 50):.0f} / {ms([r.seconds for r in replies], 99):.0f} / "
            f"{max((r.seconds for r in replies), default=0) * 1000:.0f} ms",
        ),
        ("  outcomes", ", ".join(f"{k} {v}" for k, v in intents.most_common())),
        ("incidents", ", ".join(f"{k} {v}" for k, v in incidents.most_common())),
        ("event (first POST to all quiet)", f"{finished - event.started:.0f} s"),
        (
            "CPU s in the event: web / scheduler",
            f"{cpu['web']:.0f} / {cpu['scheduler']:.0f}"
            + (
                f" (dispatcher {cpu['scheduler_dispatch,cap']:.0f}, sender {cpu['scheduler_send']:.0f})"
                if "scheduler_send" in cpu
                else ""
            ),
        ),
        (
            "  load generator + fake Twilio / rest",
            f"{cpu['self']:.0f} / {cpu['other']:.0f} (rest: PostgreSQL and "
            f"anything else running); machine {cpu['machine_busy_share']:.0%} busy",
        ),
    ]
    if event.skipped_replies:
        rows.append(("replies not sent (--max-replies)", str(event.skipped_replies)))
    sms_span = span(created_at)
    targets = target_lines(
        first_alert_p99=percentile(to_first, 99),
        sms_per_s=len(created_at) / max(1e-9, sms_span),
        sms_rate=event.args.sms_rate * event.args.senders,
        cpu_ms_per_sms=cpu.get("scheduler_send", cpu["scheduler"]) * 1000 / max(1, len(created_at)),
        sender_process="scheduler_send" in cpu,
        post_p99_ms=ms([p.seconds for p in posts], 99),
        inbound_p99_ms=ms([r.seconds for r in replies], 99),
        checks_ok=all(c.ok for c in checks),
    )
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(line)
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name:<{width - 6}}  {check.detail}")
    print(line)
    print("Targets (issue 13):")
    for check in targets:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name:<{width - 6}}  {check.detail}")
    print(line)


def target_lines(
    *,
    first_alert_p99: float,
    sms_per_s: float,
    sms_rate: float,
    cpu_ms_per_sms: float,
    sender_process: bool = False,
    post_p99_ms: float,
    inbound_p99_ms: float,
    checks_ok: bool,
) -> list[Check]:
    """One line per target of issue 13, its measured value and PASS/FAIL. The SMS target is
    met by the throughput (>= 90% of SMS_MAX_PER_SECOND, mean from first to last SMS) or, where
    the machine cannot, by the sender's CPU per SMS (<= 2 ms): the `--jobs send` process's, or
    the one scheduler's, wave building included, under --one-scheduler."""
    throughput_ok = sms_per_s >= 0.9 * sms_rate
    return [
        Check("POST -> first alert at provider p99 <= 3 s", first_alert_p99 <= 3.0, f"{first_alert_p99:.2f} s"),
        Check(
            "SMS >= 90% of SMS_MAX_PER_SECOND, or <= 2 ms CPU/SMS",
            throughput_ok or cpu_ms_per_sms <= 2.0,
            f"{sms_per_s:.0f}/s = {sms_per_s / sms_rate:.0%} of {sms_rate:g} "
            f"({'PASS' if throughput_ok else 'FAIL'}); {'sender' if sender_process else 'scheduler'} "
            f"{cpu_ms_per_sms:.1f} ms CPU per SMS "
            f"({'PASS' if cpu_ms_per_sms <= 2.0 else 'FAIL'})",
        ),
        Check("POST /incidents p99 <= 300 ms", post_p99_ms <= 300, f"{post_p99_ms:.0f} ms"),
        Check("/sms/inbound p99 <= 150 ms", inbound_p99_ms <= 150, f"{inbound_p99_ms:.0f} ms"),
        Check("every correctness check above passes", checks_ok, "see above"),
    ]


# -- main ------------------------------------------------------------------------------------
