"""The APScheduler that runs jobs.dispatch_tick and jobs.send_tick: inside the web process
(SCHEDULER_EMBEDDED, for `make run`) or as its own process (`flask --app wsgi scheduler`,
for production).

Jobs live in APScheduler's in-memory store on purpose: its FAQ warns that a job store must
not be shared between scheduler processes, and we need none. Both jobs only "look at the
database"; all due work and its deadlines are rows, claimed atomically, so any number of
schedulers (one per web worker, two on different hosts, one restarted mid-tick) never
double-send or skip.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from . import jobs
from .models import OutboxMessage

log = logging.getLogger(__name__)
DISPATCH_JOB = "dispatch-tick"
SEND_JOB = "outbox-send"
CAP_JOB = "cap-feeds"


def run_job(app: Flask, job) -> None:
    """One tick of one job. `make run`'s terminal is where the console SMS appear, so a tick
    that found nothing to do logs at DEBUG; one that did work says what, at INFO."""
    with app.app_context():
        try:
            done = job()
        except Exception:  # the next tick tries again; nothing is lost, everything is a row
            log.exception("scheduler job %s failed", job.__name__)
            return
    worked = any(done.values()) if isinstance(done, dict) else bool(done)
    log.log(logging.INFO if worked else logging.DEBUG, "%s: %s", job.__name__, done)


# What `flask scheduler --jobs` can name: the dispatch tick (expiries, waves, welfare checks),
# the senders (SMS and Telegram), the CAP feeds (only where CAP_FEEDS is set).
JOB_GROUPS = ("dispatch", "send", "cap")


def _add_jobs(scheduler, app: Flask, groups: tuple[str, ...] = JOB_GROUPS) -> None:
    """The jobs of `groups`, each in its own thread: a long send (a paced batch, a slow
    provider) never holds up expiries and replacements, and a wave never waits for the outbox
    to drain. A process that runs only "send" is a sender of its own (one per host, or beside a
    dispatcher): its CPU goes to sending alone."""
    # APScheduler logs every run of every job at INFO (four lines a tick): only its warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    ticks = {"dispatch": (DISPATCH_JOB, jobs.dispatch_tick), "send": (SEND_JOB, jobs.send_tick)}
    for job_id, job in (ticks[group] for group in ("dispatch", "send") if group in groups):
        scheduler.add_job(
            run_job,
            "interval",
            args=(app, job),
            seconds=app.config["SCHEDULER_TICK_S"],
            id=job_id,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(),
        )
    if app.config["CAP_FEEDS"] and "cap" in groups:
        # Its own thread and interval: a slow feed never holds up alerting or sending.
        scheduler.add_job(
            run_job,
            "interval",
            args=(app, jobs.cap_tick),
            seconds=app.config["CAP_POLL_S"],
            id=CAP_JOB,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(),
        )


def start_embedded(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    _add_jobs(scheduler, app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    _wake_after_commit(scheduler, app)
    log.info("embedded scheduler started, tick every %ss", app.config["SCHEDULER_TICK_S"])
    return scheduler


def run_forever(app: Flask, groups: tuple[str, ...] = JOB_GROUPS) -> None:
    scheduler = BlockingScheduler()
    _add_jobs(scheduler, app, groups)
    log.info("scheduler process started (%s), tick every %ss", ", ".join(groups), app.config["SCHEDULER_TICK_S"])
    scheduler.start()


def _wake_after_commit(scheduler, app: Flask) -> None:
    """Run the tick at once after any commit that queued an SMS, not up to a tick later."""

    @event.listens_for(Session, "after_flush")
    def note_outbox(session, flush_context):
        if any(isinstance(obj, OutboxMessage) for obj in session.new):
            session.info["outbox_dirty"] = True

    @event.listens_for(Session, "after_commit")
    def wake(session):
        if not session.info.pop("outbox_dirty", False):
            return
        # Sessions of other apps in this process (tests, tools) are not ours to wake for.
        if not (has_app_context() and current_app._get_current_object() is app and scheduler.running):
            return
        job = scheduler.get_job(SEND_JOB)
        if job is not None:
            job.modify(next_run_time=datetime.now())
