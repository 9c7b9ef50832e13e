"""Sends a claimed SMS batch: the hot path of a mass call-out.

One write marks the whole batch (outbox.start_sending); `concurrency` threads make the HTTP
calls under the pacer and touch no database; this thread writes what they report a few at a
time (every RECORD_EVERY sent, or when the calls pause): the sent rows in one statement, their
alerts' reply clocks in another, one commit. A failure is rare and is written on its own, with
its retry or its failover. So the database costs a few statements a batch, not two commits an SMS.

The trade-off: a sender killed mid-batch has sent at most RECORD_EVERY SMS (plus the calls in
flight) that it did not record; they are claimed again when their lease ends and, with a
provider that has no idempotency key (Twilio), may go twice. Before, one SMS per thread could.
"""

from __future__ import annotations

import logging
import queue
import threading

from flask import current_app

from notifications.gateway import SmsAmbiguous, SmsPermanent, SmsRetryable

from . import alerting, delivery, outbox, provider_health
from .extensions import db

log = logging.getLogger(__name__)

# Sent SMS written together: at 200 SMS/s, a write every 80 ms.
RECORD_EVERY = 16
# When no result came for this long, what there is gets written (a slow provider, a paced trickle).
RECORD_IDLE_S = 0.05


def send_batch(ids: list[int], concurrency: int, gateway, pacer) -> None:
    """Send the claimed rows `ids` (in their claimed order) and record each outcome.

    The pacer hands out send times in order, so priority holds between batches and, to within
    the few calls in flight, inside one. A status callback that came before its send was
    recorded is applied once the batch is done (delivery.apply_held_for). An unexpected error
    in a call leaves its row `sending` (its lease runs out and it is claimed again, counted
    ambiguous); the others go on, and the first such error is raised at the end."""
    rows = outbox.load_claimed(ids)
    reasons = alerting.still_wanted_reasons(rows.values())
    provider = outbox.provider_name(gateway)
    to_send = outbox.start_sending([rows[i] for i in ids if i in rows], reasons, provider)
    if not to_send:
        return
    config = current_app.config
    status_callback = f"{config['PUBLIC_BASE_URL']}/sms/status"
    alert_validity_s = config["ALERT_TIMEOUT_S"]
    work: queue.SimpleQueue = queue.SimpleQueue()
    for row in to_send:
        work.put(row)
    results: queue.SimpleQueue = queue.SimpleQueue()

    def call() -> None:
        # No app context and no database here: only the provider's HTTP call.
        while True:
            try:
                row = work.get_nowait()
            except queue.Empty:
                return
            try:
                if pacer is not None:
                    pacer.wait(row.segments)
                result = gateway.send(
                    row.to_phone,
                    row.body,
                    status_callback=status_callback,
                    validity_s=alert_validity_s if row.kind == "alert" else None,
                    idempotency_key=row.idempotency_key,
                )
            except BaseException as exc:  # recorded by the writing thread, whatever it is
                results.put((row, exc))
            else:
                results.put((row, result))

    threads = [
        threading.Thread(target=call, name="sms-send", daemon=True)
        for _ in range(min(max(1, concurrency), len(to_send)))
    ]
    for thread in threads:
        thread.start()
    recorder = _Recorder(gateway, provider)
    for _ in range(len(to_send)):
        try:
            outcome = results.get(timeout=RECORD_IDLE_S)
        except queue.Empty:
            recorder.flush()
            outcome = results.get()
        recorder.add(*outcome)
    for thread in threads:
        thread.join()
    recorder.flush()
    delivery.apply_held_for(recorder.provider_ids)  # status callbacks that beat our commits
    for error in recorder.errors[1:]:
        log.error("sending an SMS failed too", exc_info=error)
    if recorder.errors:
        # The job fails; those rows stay leased and go back to the pool.
        raise recorder.errors[0]


class _Recorder:
    """Collects the calls' outcomes and writes them (in the thread that owns the session)."""

    def __init__(self, gateway, provider: str):
        self.gateway, self.provider = gateway, provider
        self.sent: list[tuple] = []
        self.provider_ids: list[str] = []
        self.errors: list[BaseException] = []
        self.health_written: set[str] = set()  # one provider-health write a batch, not one an SMS

    def add(self, row, outcome) -> None:
        if isinstance(outcome, (SmsPermanent, SmsRetryable, SmsAmbiguous)):
            self.flush()  # in order: what went before this failure is written first
            self._failed(row, outcome)
        elif isinstance(outcome, BaseException):
            self.errors.append(outcome)
        else:
            self.sent.append((row, outcome))
            if len(self.sent) >= RECORD_EVERY:
                self.flush()

    def flush(self) -> None:
        if not self.sent:
            return
        sent, self.sent = self.sent, []
        provider_health.record_attempt(self.provider, None, self.health_written)
        outbox.record_sent(sent, self.provider)
        alerting.alerts_sms_sent([row.alert_id for row, _ in sent if row.kind == "alert" and row.alert_id])
        db.session.commit()
        self.provider_ids += [result.provider_id for _, result in sent]

    def _failed(self, row, exc) -> None:
        provider_health.record_attempt(self.provider, exc, self.health_written)
        if isinstance(exc, SmsPermanent):
            result = outbox.record_permanent(row.id, exc)
        else:
            ambiguous = isinstance(exc, SmsAmbiguous) and not getattr(self.gateway, "idempotent", False)
            result = outbox.record_retry(row.id, exc, ambiguous=ambiguous)
        if result.outcome == "failed" and row.kind == "alert" and row.alert_id is not None:
            alerting.fail_over(row.alert_id, row.id, "the SMS could not be sent", failed=True)
        db.session.commit()
