"""The CAP feed poller: reads each CAP_FEEDS URL (a CAP document, or an Atom/RSS feed of links to
CAP documents) with conditional GETs, timeouts and backoff, and hands every document to
warnings_in.ingest once. The state (validators, failures, next_poll_at, entries fetched) is in
rows, so any number of schedulers may run this; each entry is fetched and processed once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import cap

from . import warnings_in
from .clock import utcnow
from .errors import DispatchError
from .extensions import db
from .models import CapFeed, CapFeedEntry

log = logging.getLogger(__name__)

TIMEOUT_S = (5.0, 15.0)  # connect, read
MAX_REDIRECTS = 3
MAX_BACKOFF_S = 3600.0
MAX_ENTRIES_PER_POLL = 50
USER_AGENT = "volunteer-dispatch CAP poller"


class FetchFailed(Exception):
    pass


def poll_feeds(session: requests.Session | None = None, now=None) -> dict:
    """Poll every due feed once; returns counts (for the scheduler's log)."""
    urls = current_app.config["CAP_FEEDS"]
    done = {"polled": 0, "documents": 0, "failed": 0}
    if not urls:
        return done
    own = session is None
    session = session or requests.Session()
    try:
        for url in urls:
            feed = _feed(url)
            if feed.next_poll_at > (now or utcnow()):
                continue
            done["polled"] += 1
            try:
                done["documents"] += _poll(feed, session)
            except FetchFailed as exc:
                done["failed"] += 1
                _failed(feed.id, str(exc))
    finally:
        if own:
            session.close()
    return done


def _feed(url: str) -> CapFeed:
    feed = db.session.scalar(select(CapFeed).where(CapFeed.url == url))
    if feed is None:
        db.session.add(CapFeed(url=url, failures=0, next_poll_at=utcnow()))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another scheduler added it
        feed = db.session.scalar(select(CapFeed).where(CapFeed.url == url))
    return feed


def _poll(feed: CapFeed, session: requests.Session) -> int:
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    status, body, response_headers = fetch(session, feed.url, headers)
    poll_s = current_app.config["CAP_POLL_S"]
    feed.failures, feed.last_error, feed.last_polled_at = 0, None, utcnow()
    feed.next_poll_at = utcnow() + timedelta(seconds=poll_s)
    if status == 304:
        db.session.commit()
        return 0
    feed.etag = (response_headers.get("ETag") or "")[:300] or None
    feed.last_modified = (response_headers.get("Last-Modified") or "")[:100] or None
    db.session.commit()
    try:
        parsed = cap.parse_feed(body, feed.url)
    except cap.CapError as exc:
        raise FetchFailed(f"unreadable feed: {exc}") from None
    if isinstance(parsed, cap.Alert):
        _ingest(body, feed.url)  # a repeat changes nothing: ingest knows what it has seen
        return 1
    processed = 0
    for entry in parsed:
        if processed >= MAX_ENTRIES_PER_POLL:
            break  # the rest at the next poll
        if db.session.scalar(select(CapFeedEntry.id).where(CapFeedEntry.entry_key == entry.key)) is not None:
            continue
        try:
            _status, document, _headers = fetch(session, entry.url, {})
        except FetchFailed as exc:
            log.warning("CAP feed %s: entry %s not fetched (%s); tried again next poll", feed.url, entry.url, exc)
            continue
        outcome = _ingest(document, entry.url)
        db.session.add(CapFeedEntry(entry_key=entry.key, url=entry.url[:2000], outcome=outcome[:300]))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another scheduler took it at the same moment
        processed += 1
    return processed


def _ingest(document: bytes, url: str) -> str:
    try:
        outcome = warnings_in.ingest(document, None)
    except DispatchError as exc:
        db.session.rollback()
        log.warning("CAP document %s refused: %s", url, exc.message)
        return f"refused: {exc.message}"
    return "changed" if outcome.changed else "unchanged"


def fetch(session: requests.Session, url: str, headers: dict) -> tuple[int, bytes, dict]:
    """GET with a timeout, at most 1 MiB, following at most 3 redirects and only to http(s)."""
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            response = session.get(
                url,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": "application/cap+xml, application/atom+xml, application/xml, */*",
                    **headers,
                },
                timeout=TIMEOUT_S,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            raise FetchFailed(f"{type(exc).__name__}") from None
        with response:
            if response.status_code in (301, 302, 303, 307, 308):
                target = urljoin(url, response.headers.get("Location", ""))
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchFailed(f"redirect to a non-http(s) URL refused: {target[:100]}")
                url = target
                continue
            if response.status_code == 304:
                return 304, b"", dict(response.headers)
            if response.status_code != 200:
                raise FetchFailed(f"HTTP {response.status_code}")
            body = _bounded(response)
            return 200, body, dict(response.headers)
    raise FetchFailed("too many redirects")


def _bounded(response: requests.Response) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap.MAX_DOCUMENT_BYTES:
                raise FetchFailed(f"larger than {cap.MAX_DOCUMENT_BYTES} bytes")
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise FetchFailed(type(exc).__name__) from None
    return b"".join(chunks)


def _failed(feed_id: int, error: str) -> None:
    db.session.rollback()
    feed = db.session.get(CapFeed, feed_id)
    feed.failures += 1
    backoff_s = min(current_app.config["CAP_POLL_S"] * 2**feed.failures, MAX_BACKOFF_S)
    feed.next_poll_at = utcnow() + timedelta(seconds=backoff_s)
    feed.last_error = error[:300]
    feed.last_polled_at = utcnow()
    db.session.commit()
    log.warning("CAP feed %s failed (%s); next try in %.0f s", feed.url, error, backoff_s)
