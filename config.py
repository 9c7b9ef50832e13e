"""Every setting of the service, read from the environment once (the only reader of os.environ).

The names and defaults are the contract in API.md; `Config.from_env()` validates them and
stops start-up with one message naming every missing or malformed setting.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "dispatch.db"

SMS_BACKENDS = ("console", "twilio", "smsgate")
SMS_FALLBACK_BACKENDS = ("", "twilio", "smsgate")  # "" = no second SMS provider
SMSGATE_SETTINGS = ("SMSGATE_URL", "SMSGATE_USERNAME", "SMSGATE_PASSWORD", "SMSGATE_SIGNING_KEY")
GEOCODERS = ("none", "nominatim")
ENVIRONMENTS = ("development", "production")


class ConfigError(RuntimeError):
    """Start-up stops with this: the message names every setting that is wrong."""


def normalize_database_url(url: str) -> str:
    """Resolve relative SQLite paths against the project and pick the psycopg 3 driver.

    `sqlite:///instance/x.db` means "under the project", whatever the working directory;
    a bare `postgresql://` URL would ask SQLAlchemy for psycopg2, which we do not ship.
    """
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            return f"sqlite:///{PROJECT_ROOT / relative}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"must be greater than 0, got {raw!r}")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"must be a whole number greater than 0, got {raw!r}")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(f"must be a whole number 0 or more, got {raw!r}")
    return value


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1:
        raise ValueError(f"must be in (0, 1], got {raw!r}")
    return value


def _choice(options: tuple[str, ...]):
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(o or repr(o) for o in options)}, got {raw!r}")
        return value

    return parse


def _text(raw: str) -> str:
    return raw.strip()


def _api_url(raw: str) -> str:
    """An http(s) base URL without query or fragment, e.g. `http://192.168.1.5:8080`."""
    value = raw.strip().rstrip("/")
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/") or any(c in rest for c in "?# "):
        raise ValueError(f"must be an http(s) URL such as http://192.168.1.5:8080, got {raw!r}")
    return value


def _api_urls(raw: str) -> str:
    """One or more http(s) base URLs, comma-separated (several SMSGate phones: one sender each)."""
    return ",".join(_api_url(part) for part in raw.split(",") if part.strip())


def _tile_url(raw: str) -> str:
    """A slippy-map tile template (`https://tile.example/{z}/{x}/{y}.png`); empty means no tiles."""
    value = raw.strip()
    if not value:
        return ""
    if not value.startswith(("http://", "https://")) or not all(p in value for p in ("{z}", "{x}", "{y}")):
        raise ValueError(f"must be an http(s) URL with {{z}}, {{x}} and {{y}} in it, got {raw!r}")
    return value


def _url_list(raw: str) -> tuple[str, ...]:
    """Comma-separated http(s) URLs (CAP_FEEDS); empty means none."""
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        if not re.fullmatch(r"https?://[^/?#\s]+[^\s]*", url):
            raise ValueError(f"must be comma-separated http(s) URLs, got {url!r}")
    return urls


# name -> (parser, default). A default of None means "unset unless given".
SETTINGS: dict[str, tuple] = {
    "DISPATCH_ENV": (_choice(ENVIRONMENTS), "development"),
    "DATABASE_URL": (_text, f"sqlite:///{DEFAULT_SQLITE_PATH}"),
    "SECRET_KEY": (_text, None),
    "PUBLIC_BASE_URL": (_text, "http://127.0.0.1:5000"),
    "SMS_BACKEND": (_choice(SMS_BACKENDS), "console"),
    "SMS_FALLBACK_BACKEND": (_choice(SMS_FALLBACK_BACKENDS), ""),
    "SMSGATE_URL": (_api_urls, None),
    "SMSGATE_USERNAME": (_text, None),
    "SMSGATE_PASSWORD": (_text, None),
    "SMSGATE_SIGNING_KEY": (_text, None),
    "TWILIO_ACCOUNT_SID": (_text, None),
    "TWILIO_AUTH_TOKEN": (_text, None),
    "TWILIO_FROM_NUMBER": (_text, None),
    "TWILIO_MESSAGING_SERVICE_SID": (_text, None),
    "TWILIO_API_BASE_URL": (_text, None),
    "SMS_MAX_PER_SECOND": (_positive_float, "1"),
    "SMS_SEND_CONCURRENCY": (_positive_int, "2"),
    "SCHEDULER_EMBEDDED": (_bool, "false"),
    "SCHEDULER_TICK_S": (_positive_float, "5"),
    "ALERT_TIMEOUT_S": (_positive_int, "600"),
    "FAILOVER_AFTER_S": (_positive_int, "120"),
    "WELFARE_CHECK_S": (_positive_int, "1800"),
    "EXPECTED_ACCEPTANCE": (_fraction, "0.35"),
    "DEFAULT_PHONE_REGION": (_text, "KZ"),
    "GEOCODER": (_choice(GEOCODERS), "none"),
    "NOMINATIM_URL": (_text, None),
    "IMPORT_MAX_BYTES": (_positive_int, str(64 * 1024 * 1024)),
    "IMPORT_DETECT_ENCODING": (_bool, "true"),
    "TRUSTED_PROXY_HOPS": (_non_negative_int, "0"),
    "MAP_TILE_URL": (_tile_url, ""),
    "MAP_TILE_ATTRIBUTION": (_text, ""),
    "CAP_FEEDS": (_url_list, ""),
    "CAP_POLL_S": (_positive_float, "60"),
}


# --- Telegram (on when TELEGRAM_BOT_TOKEN is set) -------------------------------------------
# Token and secret are never echoed in messages: start-up output ends up in logs.
def _telegram_bot_token(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}", value):
        raise ValueError("must be the token @BotFather gave, like 123456789:AAE... (value not shown)")
    return value


def _telegram_bot_username(raw: str) -> str:
    value = raw.strip().removeprefix("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{2,29}[Bb][Oo][Tt]", value):
        raise ValueError(f"must be the bot's username, 5 to 32 letters, digits or _ ending in 'bot', got {raw!r}")
    return value


def _telegram_webhook_secret(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value):
        raise ValueError(
            "must be 16 to 256 characters of A-Z a-z 0-9 _ - (value not shown); make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value


def _telegram_api_url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", value):
        raise ValueError(f"must be an http(s) URL such as https://api.telegram.org, got {raw!r}")
    return value


TELEGRAM_SETTINGS: dict[str, tuple] = {
    "TELEGRAM_BOT_TOKEN": (_telegram_bot_token, None),
    "TELEGRAM_BOT_USERNAME": (_telegram_bot_username, None),
    "TELEGRAM_WEBHOOK_SECRET": (_telegram_webhook_secret, None),
    "TELEGRAM_API_BASE_URL": (_telegram_api_url, "https://api.telegram.org"),
    # Development only: without a bot token and with SMS_BACKEND=console, a simulated Telegram
    # (no network; its chats in the console's SMS simulator) stands in. "false" turns it off.
    "SIMULATE_TELEGRAM": (_bool, "true"),
}


def _telegram_problems(config: Config) -> list[str]:
    if not config.TELEGRAM_BOT_TOKEN:
        return []
    return [
        f"{name}: required when TELEGRAM_BOT_TOKEN is set ({why})"
        for name, why in (
            ("TELEGRAM_WEBHOOK_SECRET", "the secret_token given to setWebhook"),
            ("TELEGRAM_BOT_USERNAME", "the bot's @username, for t.me links"),
        )
        if not getattr(config, name)
    ]


SETTINGS.update(TELEGRAM_SETTINGS)
# --- end of Telegram ------------------------------------------------------------------------


class Config:
    """Settings as attributes, the way Flask's `config.from_object` expects them."""

    TESTING = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        environ = os.environ if environ is None else environ
        config = cls()
        problems: list[str] = []
        for name, (parse, default) in SETTINGS.items():
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                raw = default
            if raw is None:
                setattr(config, name, None)
                continue
            try:
                setattr(config, name, parse(raw))
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
        if not problems:
            problems.extend(config._check_required())
        if problems:
            raise ConfigError("Configuration is incomplete or wrong:\n  " + "\n  ".join(problems))
        config._derive()
        return config

    def _check_required(self) -> list[str]:
        problems = []
        if self.DISPATCH_ENV == "production" and not self.SECRET_KEY:
            problems.append("SECRET_KEY: required when DISPATCH_ENV=production")
        backends = {name: getattr(self, name) for name in ("SMS_BACKEND", "SMS_FALLBACK_BACKEND")}
        if self.SMS_FALLBACK_BACKEND and self.SMS_FALLBACK_BACKEND == self.SMS_BACKEND:
            problems.append("SMS_FALLBACK_BACKEND: must be another provider than SMS_BACKEND, or empty")
        for setting, backend in backends.items():
            if backend == "twilio":
                for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
                    if not getattr(self, name):
                        problems.append(f"{name}: required when {setting}=twilio")
                if not (self.TWILIO_FROM_NUMBER or self.TWILIO_MESSAGING_SERVICE_SID):
                    problems.append(
                        f"TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID: one is required when {setting}=twilio"
                    )
            if backend == "smsgate":
                problems.extend(
                    f"{name}: required when {setting}=smsgate" for name in SMSGATE_SETTINGS if not getattr(self, name)
                )
        if self.GEOCODER == "nominatim" and not self.NOMINATIM_URL:
            problems.append("NOMINATIM_URL: required when GEOCODER=nominatim")
        problems.extend(_telegram_problems(self))
        return problems

    def _derive(self) -> None:
        if not self.SECRET_KEY:
            # Development only: sessions do not survive a restart, which is fine there.
            self.SECRET_KEY = secrets.token_hex(32)
        self.PUBLIC_BASE_URL = self.PUBLIC_BASE_URL.rstrip("/")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(self.DATABASE_URL)
        # TELEGRAM_ENABLED: the Telegram channel is on (linking, call-outs to linked chats), through
        # a real bot (TELEGRAM_BOT_TOKEN) or, in development with the console SMS backend, the
        # simulated Telegram (TELEGRAM_SIMULATED): like SMS_BACKEND=console, nothing leaves the
        # machine. Never in production, and never beside a real bot.
        self.TELEGRAM_SIMULATED = (
            bool(self.SIMULATE_TELEGRAM)
            and not self.TELEGRAM_BOT_TOKEN
            and self.SMS_BACKEND == "console"
            and self.DISPATCH_ENV != "production"
        )
        self.TELEGRAM_ENABLED = bool(self.TELEGRAM_BOT_TOKEN) or self.TELEGRAM_SIMULATED

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in dir(self) if name.isupper()}


class TestConfig(Config):
    """What the test-suite runs with: an explicit database, a known secret, no scheduler."""

    TESTING = True

    @classmethod
    def for_database(cls, database_url: str, **overrides) -> TestConfig:
        environ = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "SCHEDULER_EMBEDDED": "false",
            "TWILIO_AUTH_TOKEN": "test-auth-token",
            # One send at a time keeps the order of sends exact for the tests that check it;
            # the concurrent sender has tests of its own.
            "SMS_SEND_CONCURRENCY": "1",
            # Telegram is off unless a test turns it on (a fake Bot API, or the simulated one).
            "SIMULATE_TELEGRAM": "false",
        }
        environ.update({k: str(v) for k, v in overrides.items()})
        return cls.from_env(environ)
