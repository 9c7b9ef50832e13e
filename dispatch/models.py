"""Typed SQLAlchemy 2 models. They hold state and invariants; use cases own the commit."""

from __future__ import annotations

import secrets
import unicodedata
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .extensions import db

# The allowed values, stated once: the CHECK constraints below, the input schemas
# (dispatch/schemas.py) and the pages' choice lists are built from these tuples.
ROLES = ("viewer", "coordinator", "admin")
LANGUAGES = ("kk", "ru", "en")
VOLUNTEER_STATUSES = ("active", "opted_out", "inactive")
# Where a volunteer's messages go first (dispatch/channels.py): SMS, or their linked Telegram chat.
CHANNELS = ("sms", "telegram")
# What a coordinator may set; only the volunteer opts out (by texting STOP).
SETTABLE_VOLUNTEER_STATUSES = ("active", "inactive")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: "language IN ('kk', 'ru', 'en')"."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Optional, E.164: where welfare and HELP alerts about incidents they posted are texted.
    phone: Mapped[str | None] = mapped_column(String(20))
    # Optional: the Telegram chat `/start <code>` linked to them; those alerts go there too.
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The language of those alerts (kk, ru, en).
    language: Mapped[str] = mapped_column(String(2), default="ru", server_default="ru")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set by `users disable`: no sign-in, no token, no session until `users enable`.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")
    # What they may see and manage (dispatch/scopes.py): no rows = national.
    scope_entries: Mapped[list[UserScope]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserScope.id"
    )

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
    )

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class UserScope(db.Model):
    """One region or one organisation in a user's scope (dispatch/scopes.py reads them)."""

    __tablename__ = "user_scopes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    region: Mapped[str | None] = mapped_column(String(8))  # ISO 3166-2 (geo.regions)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    __table_args__ = (CheckConstraint("(region IS NULL) <> (organization_id IS NULL)", name="one_kind"),)


class ApiToken(db.Model):
    """A bearer token, stored as its SHA-256: the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class UserSession(db.Model):
    """A signed-in console session. The session cookie carries a random key and this row its
    SHA-256, so signing out, a new password or disabling the user deletes the row and a copied
    cookie stops working at once, wherever it is used from."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Refreshed every few minutes while the session is used; idle sessions end (dispatch/users.py).
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    user: Mapped[User] = relationship()


class Skill(db.Model):
    """The skill catalogue, seeded by migration. `bit` is the skill's place in Volunteer.skill_mask."""

    __tablename__ = "skills"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    bit: Mapped[int] = mapped_column(SmallInteger, unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_ru: Mapped[str] = mapped_column(String(100))
    name_kk: Mapped[str] = mapped_column(String(100))

    __table_args__ = (CheckConstraint("bit >= 0 AND bit < 63", name="bit_range"),)

    def name(self, language: str) -> str:
        return getattr(self, f"name_{language}", None) or self.name_en


def name_key(name: str) -> str:
    """What makes two organisation names the same: case and spacing ignored ("Astana Rescue" and
    " astana  rescue" are one). Kept in Organization.name_key, which is unique."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


class Organization(db.Model):
    """A member organisation of the movement: volunteers belong to one (Volunteer.organization_id).
    Never deleted: a deactivated one keeps its volunteers and history but takes no new members."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    # ISO 3166-2 (geo.regions): where the organisation works from, when it is one region's.
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Volunteer(db.Model):
    """A registered volunteer.

    Skills are a bit set (`skill_mask`, one bit per catalogue skill) rather than a join
    table: the proximity query filters tens of thousands of rows by skill, and a bit test on
    the row it already reads costs nothing, where a join costs an index probe per row.
    """

    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    skill_mask: Mapped[int] = mapped_column(BigInteger, default=0)
    language: Mapped[str] = mapped_column(String(2), default="ru")
    max_distance_km: Mapped[float] = mapped_column(Float, default=50.0)
    # Their organisation (migration 0017 made the free-text names records).
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    # ISO 3166-2 (geo.regions): derived from lat/lon unless a coordinator set it.
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    busy_until: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    # Set by the SMS outbox when the provider says the number can never work.
    phone_problem: Mapped[str | None] = mapped_column(String(32))
    last_alerted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Quiet hours in local time, minutes after midnight; from > to wraps past midnight.
    quiet_from_min: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_to_min: Mapped[int | None] = mapped_column(SmallInteger)
    # The law on volunteer activity bars minors from emergency response: under 18 on the day
    # (Asia/Almaty) is never alerted (dispatch/matching.py, reason `minor`).
    birth_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Channels (migration 0009). STOP in Telegram, or a blocked bot, sets telegram_opted_out_at:
    # it stops Telegram only; SMS goes on (and SMS STOP, status opted_out, stops everything).
    preferred_channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    telegram_opted_out_at: Mapped[datetime | None] = mapped_column(DateTime)

    organization: Mapped[Organization | None] = relationship()

    @property
    def telegram_linked(self) -> bool:
        return self.telegram_chat_id is not None

    @property
    def organization_name(self) -> str | None:
        return self.organization.name if self.organization is not None else None

    __table_args__ = (
        # The proximity prefilter: a bounding box on (lat, lon).
        Index("ix_volunteers_lat_lon", "lat", "lon"),
        # Matching's prefilter (dispatch/matching.py, migration 0003): only volunteers who can
        # be texted and are available, with every column a decision reads (index-only scans).
        Index(
            "ix_volunteers_reachable",
            "lat",
            "lon",
            "skill_mask",
            "busy_until",
            "max_distance_km",
            "last_alerted_at",
            "quiet_from_min",
            "quiet_to_min",
            "birth_date",
            "id",
            sqlite_where=text("status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available = 1"),
            postgresql_where=text("status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available"),
        ),
        CheckConstraint(one_of("status", VOLUNTEER_STATUSES), name="status"),
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon_range"),
        CheckConstraint("max_distance_km > 0", name="max_distance_positive"),
        CheckConstraint(one_of("preferred_channel", CHANNELS), name="preferred_channel"),
    )


# Search terms in byte (code point) order on PostgreSQL too, whatever the database's collation:
# a prefix is then the range [prefix, prefix + U+10FFFF) and an index range scan finds it.
SEARCH_TERM = String(64).with_variant(String(64, collation="C"), "postgresql")


class VolunteerSearchTerm(db.Model):
    """What the console's search finds a volunteer by (dispatch/volunteer_search.py): each word of
    their name as a Latin skeleton (so "Айгерим" and "Aigerim" are one), and their phone's digits
    (marked with a leading "#"). The primary key (term, volunteer_id) is the index a prefix reads."""

    __tablename__ = "volunteer_search_terms"

    term: Mapped[str] = mapped_column(SEARCH_TERM, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TelegramLinkCode(db.Model):
    """A single-use code that links a Telegram chat to a volunteer (t.me/<bot>?start=<code>).

    Only the code's SHA-256 is kept: the code itself is shown once, to the coordinator."""

    __tablename__ = "telegram_link_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Whom the code links: a volunteer, or a user (a coordinator, for the alerts about their
    # incidents); one of the two.
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (CheckConstraint("(volunteer_id IS NULL) <> (user_id IS NULL)", name="one_holder"),)


INCIDENT_KINDS = ("fire", "flood", "earthquake", "missing_person", "search_rescue", "storm", "animal_rescue", "other")
SEVERITIES = ("minor", "moderate", "severe", "extreme")
# draft: made from a warning (CAP), not yet dispatched: never matched nor alerted.
INCIDENT_STATUSES = ("dispatching", "staffed", "unfilled", "closed", "cancelled", "draft")
OPEN_INCIDENT_STATUSES = ("dispatching", "staffed", "unfilled")
ALERT_STATUSES = ("queued", "sent", "delivered", "accepted", "declined", "expired", "stood_down", "failed")
# An alert still waiting for the volunteer's answer.
PENDING_ALERT_STATUSES = ("queued", "sent", "delivered")


class Incident(db.Model):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The short number volunteers put in replies ("YES 482"); unique among open incidents.
    code: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    area_geojson: Mapped[dict | None] = mapped_column(JSON)
    # A short place name for SMS (reverse geocoded when a geocoder is configured).
    place: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    radius_km: Mapped[float] = mapped_column(Float)
    max_radius_km: Mapped[float] = mapped_column(Float)
    # Widens step by step from radius_km to max_radius_km when the pool runs out.
    current_radius_km: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(10), default="severe")
    exclude_inside_area: Mapped[bool] = mapped_column(Boolean, default=False)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="dispatching")
    unfilled_reason: Mapped[str | None] = mapped_column(String(500))
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The latest roll call (dispatch/responders.py): who was on scene then is asked to answer SAFE.
    roll_call_at: Mapped[datetime | None] = mapped_column(DateTime)
    # From a warning: {"type": "cap", "sender", "identifier", "sent"}; the incident closes at
    # expires_at (the warning's <expires>), by the scheduler.
    source: Mapped[dict | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # Where responders gather, in words (migration 0015): sent with the coordinates to those who
    # accept, in place of the address; a change is texted to them (dispatch/incident_changes.py).
    meeting_point: Mapped[str | None] = mapped_column(String(300))

    needs: Mapped[list[Need]] = relationship(back_populates="incident", order_by="Need.id")

    __table_args__ = (
        Index(
            "uq_incidents_open_code",
            "code",
            unique=True,
            postgresql_where=text("status IN ('dispatching', 'staffed', 'unfilled')"),
            sqlite_where=text("status IN ('dispatching', 'staffed', 'unfilled')"),
        ),
        Index("ix_incidents_status", "status"),
        CheckConstraint(one_of("kind", INCIDENT_KINDS), name="kind"),
        CheckConstraint(one_of("severity", SEVERITIES), name="severity"),
        CheckConstraint(one_of("status", INCIDENT_STATUSES), name="status"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_INCIDENT_STATUSES


class Need(db.Model):
    """ "4 x water_rescue": `filled` only grows under a row lock, so it never passes `count`."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    skill: Mapped[str | None] = mapped_column(ForeignKey("skills.code"))
    count: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)

    incident: Mapped[Incident] = relationship(back_populates="needs")

    __table_args__ = (
        CheckConstraint("count > 0", name="count_positive"),
        CheckConstraint("filled >= 0 AND filled <= count", name="filled_within_count"),
    )


class Alert(db.Model):
    """One volunteer called out for one incident: at most one per pair."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    # The need they were called for, and the one they fill once they accept.
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    filled_need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    wave: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    distance_km: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(300))
    eta_min: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when the SMS is handed to the provider: an SMS held back by an outage does not expire.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    # SHA-256 of the reply link's token (dispatch/reply_links.py): the token itself is only in
    # the call-out SMS, so a copy of this table opens no reply page.
    reply_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # On scene (dispatch/responders.py), after an accept: ARRIVED, DONE, SAFE and their times.
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime)
    left_at: Mapped[datetime | None] = mapped_column(DateTime)
    safe_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Asked to answer SAFE by the roll call of this time (incidents.roll_call_at).
    roll_call_at: Mapped[datetime | None] = mapped_column(DateTime)
    # HELP from the scene, until the responder answers SAFE (or a coordinator sets safe).
    help_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The welfare check after the incident ends: deadlines in the row, for the scheduler.
    welfare_remind_at: Mapped[datetime | None] = mapped_column(DateTime)
    welfare_reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    welfare_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    welfare_overdue_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("uq_alerts_incident_volunteer", "incident_id", "volunteer_id", unique=True),
        Index("ix_alerts_volunteer_status", "volunteer_id", "status"),
        Index("ix_alerts_status_expires", "status", "expires_at"),
        Index("ix_alerts_volunteer_created", "volunteer_id", "created_at"),
        # The welfare job's two deadlines.
        Index("ix_alerts_welfare_remind_at", "welfare_remind_at"),
        Index("ix_alerts_welfare_due_at", "welfare_due_at"),
        CheckConstraint(one_of("status", ALERT_STATUSES), name="status"),
    )


class StandbyNotice(db.Model):
    """A volunteer told to be ready for an incident (a warning before the emergency, usually):
    no answer expected, and never twice for one incident (dispatch/standby.py)."""

    __tablename__ = "standby_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    distance_km: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("uq_standby_notices_incident_volunteer", "incident_id", "volunteer_id", unique=True),)


# claimed: leased by a sender, not yet handed over; sending: the HTTP call has started, so
# after a crash it may or may not have gone out.
def new_idempotency_key() -> str:
    """24 characters of A-Z a-z 0-9 _ - (144 random bits): what SMSGate takes as a message id."""
    return secrets.token_urlsafe(18)


OUTBOX_STATUSES = ("pending", "claimed", "sending", "sent", "delivered", "undelivered", "failed", "cancelled")


class OutboxMessage(db.Model):
    """An outbound message (SMS, or Telegram when channel is "telegram"), written in the same
    transaction as the change that caused it.

    A Telegram row goes to to_chat_id (to_phone is ""); its provider_id is "tg:<chat>:<message>",
    all that an edit of it needs. Kind "tg_edit" rewrites the alert's Telegram call-out in place."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_phone: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(1600))
    kind: Mapped[str] = mapped_column(String(24))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    # 0 goes first: call-outs and confirmations; 1 stand-downs and endings; 2 everything else.
    priority: Mapped[int] = mapped_column(SmallInteger, default=2)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts whose outcome was unknown (5xx, timeout): a later success may be a duplicate.
    ambiguous_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Sent with every attempt; SMSGate makes it the message id, so a retry can never send twice.
    # Random, not the row id: a phone remembers ids across a reset of our database.
    idempotency_key: Mapped[str] = mapped_column(String(36), unique=True, default=new_idempotency_key)
    provider_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    to_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # Telegram only: the keyboard to send with it ("contact:<lang>" asks for the phone number,
    # "remove" takes that away); a call-out's buttons come from its alert.
    markup: Mapped[str | None] = mapped_column(String(16))
    # Who carried it, once sent: twilio, smsgate, console or telegram (the alert's deliveries).
    provider: Mapped[str | None] = mapped_column(String(16))
    # Which SMS provider it goes through: None is SMS_BACKEND, "fallback" SMS_FALLBACK_BACKEND
    # (a call-out failed over, dispatch/channels.py). A setting, not a name, so a row queued
    # before SMS_BACKEND changed still goes.
    route: Mapped[str | None] = mapped_column(String(8))
    # A call-out's failover deadline (FAILOVER_AFTER_S after it was queued, then after it left):
    # with no delivery report by then it goes once more on the next channel. Cleared by a final
    # report, by the failover itself, and on Telegram (accepted counts as delivered).
    failover_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # Fair turns between incidents (migration 0016, dispatch/outbox.py fair_rank): due rows go in
    # (priority, fair_rank, id) order, so a new incident's first call-out is never behind the
    # thousands queued for older ones. 0 for everything but call-outs.
    fair_rank: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "next_attempt_at"),
        # What a sender claims: due pending rows of its channel in fair order (outbox.claim_due).
        Index(
            "ix_outbox_fair_due",
            "channel",
            "priority",
            "fair_rank",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_channel_due", "channel", "status", "next_attempt_at"),
        # Provider health's delivery ratio reads the recent sends of each provider.
        Index("ix_outbox_provider_sent_at", "provider", "sent_at"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("status", OUTBOX_STATUSES), name="status"),
    )


class ProviderHealth(db.Model):
    """How a provider's sends have gone (dispatch/provider_health.py), one row per provider:
    written by the senders after each attempt, read by /healthz?detail=1, the console and the
    choice of channel for a new call-out."""

    __tablename__ = "provider_health"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class InboundMessage(db.Model):
    """An SMS a volunteer (or anyone) sent us; stored once per provider MessageSid."""

    __tablename__ = "inbound"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_phone: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(String(1600))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    intent: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Text we did not understand: kept for a coordinator to read.
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # How the answer came: "sms", "link" (a press on the reply link page) or "telegram" (a text
    # or a button press; message_sid "tg:<update_id>", from_phone "tg:<chat_id>").
    channel: Mapped[str] = mapped_column(String(16), default="sms", server_default="sms")

    __table_args__ = (
        # The per-number limit (inbox.MAX_TEXTS_PER_NUMBER) counts one number's recent texts.
        Index("ix_inbound_from_phone_received_at", "from_phone", "received_at"),
    )


class EarlyStatus(db.Model):
    """A status callback that arrived before its send was recorded (a fast provider beats the
    sender's commit of the MessageSid): kept until the sender records the SID and applies it."""

    __tablename__ = "early_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class AuditEvent(db.Model):
    """Every state change of an incident and an alert: what, who or what caused it, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(40))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"))
    details: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        # Sign-in lockouts and the forged-webhook limit count one actor's recent failures.
        Index("ix_audit_events_actor_event_at", "actor", "event", "at"),
    )


ACTIVITY_SOURCES = ("dispatch", "manual", "import")
# How a record's end was set: DONE (by the volunteer or a coordinator), or closed for them.
ACTIVITY_END_REASONS = ("done", "incident_ended", "timed_out", "entered")


class Activity(db.Model):
    """One piece of a volunteer's activity, for the register the law on volunteer activity asks
    for: who, for which organisation, in which programme or action (an incident, or a named
    training or event), where, from when to when, how long, how it was recorded, and whether
    a coordinator stands behind it. Corrections are audit events with the values before."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    # Dispatch activity: the incident and the alert (one record per alert, from ARRIVED to DONE).
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), unique=True)
    # Activity outside dispatch: the programme, training or event by name.
    activity: Mapped[str | None] = mapped_column(String(200))
    # The volunteer's organisation when the activity took place (they may move on later): the
    # record, and its name then (a later rename does not rewrite the register).
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    organization: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(300))
    skill: Mapped[str | None] = mapped_column(String(32))
    # A coordinator's note, from the CSV import of activity outside dispatch.
    note: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    # ended_at - started_at in whole seconds, kept so sums are plain SQL; None while open.
    duration_s: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(12))
    end_reason: Mapped[str | None] = mapped_column(String(16))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Set by every correction: a certificate issued before it says so.
    corrected_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_activities_started_at", "started_at"),
        Index("ix_activities_volunteer_started", "volunteer_id", "started_at"),
        # The 12-hour close looks only at open records.
        Index(
            "ix_activities_open",
            "started_at",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        CheckConstraint(one_of("source", ACTIVITY_SOURCES), name="source"),
        CheckConstraint(f"end_reason IS NULL OR {one_of('end_reason', ACTIVITY_END_REASONS)}", name="end_reason"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
    )


class GeocodeCacheEntry(db.Model):
    """Answers of the geocoder, hits and misses, so each address is asked once."""

    __tablename__ = "geocode_cache"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CapMessage(db.Model):
    """A CAP message seen (posted or polled), once per (sender, identifier). A row whose msg_type
    is NULL was only named in a Cancel's references: its Alert has not come (yet), and
    `cancelled` keeps that late Alert from opening an incident."""

    __tablename__ = "cap_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(255))
    sent: Mapped[str] = mapped_column(String(40))
    msg_type: Mapped[str | None] = mapped_column(String(8))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("uq_cap_messages_sender_identifier", "sender", "identifier", unique=True),)


class CapFeed(db.Model):
    """A CAP_FEEDS URL's polling state: validators for conditional GETs, and backoff."""

    __tablename__ = "cap_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class CapFeedEntry(db.Model):
    """A feed entry (its id and link, hashed) already fetched: each is processed once."""

    __tablename__ = "cap_feed_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    outcome: Mapped[str] = mapped_column(String(300))
    processed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Certificate(db.Model):
    """A certificate of a volunteer's hours for a period (dispatch/certificates.py): what it
    certified, kept as issued, found by the SHA-256 of its verification code (the code itself,
    160 random bits, is printed on the PDF and never stored)."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    # As printed: the volunteer's name and organisation when it was issued.
    name: Mapped[str | None] = mapped_column(String(200))
    organization: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    # The period as local days (first and last, inclusive) and as the UTC moments they cover.
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    period_from: Mapped[datetime] = mapped_column(DateTime)
    period_to: Mapped[datetime] = mapped_column(DateTime)
    # The verified, closed records of the period when it was issued: how many, and their seconds.
    records: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint(one_of("language", LANGUAGES), name="language"),
        CheckConstraint("last_day >= first_day", name="period"),
    )
