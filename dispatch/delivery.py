"""What the provider tells us about a sent SMS (status callbacks), including the callbacks that
arrive before the sender has recorded the MessageSid they are about.

Twilio answers a send with the SID and may call /sms/status at once; the sender commits the
SID a moment later. So both sides write, then look for the other's write: the webhook holds a
status for an unknown SID, commits, and looks for the message again; the sender commits the
SID, then applies any status held for it. Whichever looks second sees the other's commit, so
no status is lost; one applied twice changes nothing (statuses only move forward).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from . import alerting, outbox
from .clock import utcnow
from .extensions import db
from .models import EarlyStatus

FINAL_FAILURES = ("undelivered", "failed")
# A held status whose SID never shows up belongs to no send of ours (another application on
# the same account, say): forgotten after this long.
EARLY_KEPT = timedelta(days=1)


def status_reported(provider_id: str, status: str, error_code: int | None) -> None:
    """A status callback: apply it, or hold it until its send is recorded. Commits."""
    if _apply(provider_id, status, error_code):
        db.session.commit()
        return
    db.session.add(
        EarlyStatus(provider_id=provider_id, status=status[:16], error_code=error_code, received_at=utcnow())
    )
    db.session.commit()
    # The sender may have recorded the SID meanwhile, and looked before our hold was committed.
    apply_held(provider_id)


def apply_held(provider_id: str) -> None:
    """Apply the statuses held for a SID the sender has just recorded. Commits."""
    held = db.session.execute(
        select(EarlyStatus.id, EarlyStatus.status, EarlyStatus.error_code)
        .where(EarlyStatus.provider_id == provider_id)
        .order_by(EarlyStatus.id)
    ).all()
    if not held:
        return
    for row in held:
        if not _apply(provider_id, row.status, row.error_code):
            db.session.rollback()  # not recorded after all: keep holding
            return
    db.session.execute(delete(EarlyStatus).where(EarlyStatus.id.in_([row.id for row in held])))
    db.session.commit()


def apply_held_for(provider_ids: list[str]) -> None:
    """apply_held for those of a sent batch that have statuses held (one read for the batch)."""
    if not provider_ids:
        return
    held = db.session.scalars(
        select(EarlyStatus.provider_id).where(EarlyStatus.provider_id.in_(provider_ids)).distinct()
    ).all()
    db.session.rollback()
    for provider_id in held:
        apply_held(provider_id)


def forget_stale_early_statuses() -> int:
    done = db.session.execute(delete(EarlyStatus).where(EarlyStatus.received_at < utcnow() - EARLY_KEPT)).rowcount
    db.session.commit()
    return done


def _apply(provider_id: str, status: str, error_code: int | None) -> bool:
    message = outbox.record_status(provider_id, status, error_code)
    if message is None:
        return False
    if message.alert_id is not None and message.kind == "alert":
        if message.status == "delivered":
            alerting.alert_sms_delivered(message.alert_id)
        elif message.status in FINAL_FAILURES:
            # Once more on the next channel (a late report on an old call-out changes nothing).
            alerting.fail_over(message.alert_id, message.id, f"provider reported {message.status}", failed=True)
    return True
