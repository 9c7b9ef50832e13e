import pytest

from config import PROJECT_ROOT, SMSGATE_SETTINGS, Config, ConfigError, normalize_database_url
from dispatch.sms import build_gateway
from notifications.gateway import ConsoleGateway
from notifications.smsgate import SmsGateGateway
from tests.fakes.smsgate_server import FakeSmsGate


def test_defaults_are_the_contract():
    config = Config.from_env({})
    assert config.SMS_BACKEND == "console"
    assert config.PUBLIC_BASE_URL == "http://127.0.0.1:5000"
    assert config.SMS_MAX_PER_SECOND == 1
    assert config.SMS_SEND_CONCURRENCY == 2
    assert config.SCHEDULER_TICK_S == 5
    assert config.ALERT_TIMEOUT_S == 600
    assert config.EXPECTED_ACCEPTANCE == 0.35
    assert config.DEFAULT_PHONE_REGION == "KZ"
    assert config.GEOCODER == "none"
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{PROJECT_ROOT / 'instance' / 'dispatch.db'}"
    assert len(config.SECRET_KEY) == 64  # random per start in development


def test_missing_twilio_settings_are_all_named():
    with pytest.raises(ConfigError) as err:
        Config.from_env({"SMS_BACKEND": "twilio"})
    message = str(err.value)
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
        assert name in message


def test_production_requires_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config.from_env({"DISPATCH_ENV": "production"})


def test_malformed_values_are_named():
    with pytest.raises(ConfigError) as err:
        Config.from_env(
            {
                "EXPECTED_ACCEPTANCE": "1.5",
                "SMS_MAX_PER_SECOND": "fast",
                "SCHEDULER_EMBEDDED": "maybe",
                "SMS_SEND_CONCURRENCY": "0",
            }
        )
    message = str(err.value)
    for name in ("EXPECTED_ACCEPTANCE", "SMS_MAX_PER_SECOND", "SCHEDULER_EMBEDDED", "SMS_SEND_CONCURRENCY"):
        assert name in message


def test_nominatim_needs_its_url():
    with pytest.raises(ConfigError, match="NOMINATIM_URL"):
        Config.from_env({"GEOCODER": "nominatim"})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("sqlite:///instance/x.db", f"sqlite:///{PROJECT_ROOT / 'instance' / 'x.db'}"),
    ],
)
def test_database_urls(given, expected):
    assert normalize_database_url(given) == expected


SMSGATE_ENV = {
    "SMS_BACKEND": "smsgate",
    "SMSGATE_URL": "http://192.168.1.5:8080/",
    "SMSGATE_USERNAME": "sms",
    "SMSGATE_PASSWORD": "secret-pw",
    "SMSGATE_SIGNING_KEY": "signing-key",
}


def test_smsgate_settings_are_read():
    config = Config.from_env(SMSGATE_ENV)
    assert config.SMS_BACKEND == "smsgate"
    assert config.SMSGATE_URL == "http://192.168.1.5:8080"  # the trailing slash dropped
    assert (config.SMSGATE_USERNAME, config.SMSGATE_PASSWORD, config.SMSGATE_SIGNING_KEY) == (
        "sms",
        "secret-pw",
        "signing-key",
    )
    assert config.SMS_FALLBACK_BACKEND == ""
    cloud = Config.from_env({**SMSGATE_ENV, "SMSGATE_URL": "https://api.sms-gate.app/3rdparty/v1"})
    assert cloud.SMSGATE_URL == "https://api.sms-gate.app/3rdparty/v1"


@pytest.mark.parametrize("backend", ["SMS_BACKEND", "SMS_FALLBACK_BACKEND"])
def test_smsgate_needs_url_credentials_and_signing_key(backend):
    with pytest.raises(ConfigError) as err:
        Config.from_env({backend: "smsgate"})
    message = str(err.value)
    for name in ("SMSGATE_URL", "SMSGATE_USERNAME", "SMSGATE_PASSWORD", "SMSGATE_SIGNING_KEY"):
        assert f"{name}: required when {backend}=smsgate" in message


def test_smsgate_names_only_what_is_missing():
    with pytest.raises(ConfigError) as err:
        Config.from_env({**SMSGATE_ENV, "SMSGATE_SIGNING_KEY": " "})
    message = str(err.value)
    assert "SMSGATE_SIGNING_KEY" in message
    assert "SMSGATE_URL" not in message and "SMSGATE_PASSWORD" not in message


@pytest.mark.parametrize(
    "url", ["192.168.1.5:8080", "ftp://phone", "http://", "http:///x", "http://phone:8080/?token=1", "http://phone#x"]
)
def test_a_malformed_smsgate_url_is_named(url):
    with pytest.raises(ConfigError, match="SMSGATE_URL: must be an http"):
        Config.from_env({**SMSGATE_ENV, "SMSGATE_URL": url})


def test_smsgate_settings_are_not_needed_by_other_backends():
    assert Config.from_env({}).SMSGATE_URL is None


def test_a_fallback_backend():
    config = Config.from_env(
        {
            **SMSGATE_ENV,
            "SMS_FALLBACK_BACKEND": "Twilio",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "t",
            "TWILIO_FROM_NUMBER": "+15005550006",
        }
    )
    assert (config.SMS_BACKEND, config.SMS_FALLBACK_BACKEND) == ("smsgate", "twilio")


def test_a_twilio_fallback_needs_twilio_settings():
    with pytest.raises(ConfigError) as err:
        Config.from_env({**SMSGATE_ENV, "SMS_FALLBACK_BACKEND": "twilio"})
    message = str(err.value)
    assert "TWILIO_ACCOUNT_SID: required when SMS_FALLBACK_BACKEND=twilio" in message
    assert "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID" in message


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({**SMSGATE_ENV, "SMS_FALLBACK_BACKEND": "smsgate"}, "must be another provider"),
        ({"SMS_FALLBACK_BACKEND": "console"}, "must be one of '', twilio, smsgate"),
        ({"SMS_BACKEND": "kcell"}, "must be one of console, twilio, smsgate"),
    ],
)
def test_bad_backend_choices_are_named(env, problem):
    with pytest.raises(ConfigError, match=problem):
        Config.from_env(env)


def test_smsgate_backend_builds_the_smsgate_gateway():
    with FakeSmsGate() as fake:
        config = Config.from_env(
            {
                **SMSGATE_ENV,
                "SMSGATE_URL": fake.base_url,
                "SMSGATE_USERNAME": fake.username,
                "SMSGATE_PASSWORD": fake.password,
            }
        ).as_dict()
        gateway = build_gateway(config)
        assert isinstance(gateway, SmsGateGateway)
        gateway.send("+77012345678", "hello", idempotency_key="outbox-1")
        assert [m.id for m in fake.messages] == ["outbox-1"]
    assert isinstance(build_gateway(config, "console"), ConsoleGateway)


# --- Telegram -------------------------------------------------------------------------------
TELEGRAM_ON = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAE-telegram_token_for_tests_0123",
    "TELEGRAM_BOT_USERNAME": "@kz_dispatch_bot",
    "TELEGRAM_WEBHOOK_SECRET": "Zx9_-webhook-secret-0123",
}


def test_telegram_is_simulated_in_development_with_console_sms():
    config = Config.from_env({})
    assert config.TELEGRAM_ENABLED is True and config.TELEGRAM_SIMULATED is True
    assert config.TELEGRAM_BOT_TOKEN is None and config.TELEGRAM_WEBHOOK_SECRET is None
    assert config.TELEGRAM_API_BASE_URL == "https://api.telegram.org"


@pytest.mark.parametrize(
    "environ",
    [
        {"SIMULATE_TELEGRAM": "false"},
        {"DISPATCH_ENV": "production", "SECRET_KEY": "k" * 32},
        {"SMS_BACKEND": "smsgate", **{name: "x" for name in SMSGATE_SETTINGS}, "SMSGATE_URL": "http://10.0.0.2:8080"},
    ],
)
def test_telegram_is_off_without_a_token_elsewhere(environ):
    config = Config.from_env(environ)
    assert config.TELEGRAM_ENABLED is False and config.TELEGRAM_SIMULATED is False


def test_a_real_bot_is_never_simulated():
    config = Config.from_env(TELEGRAM_ON)
    assert config.TELEGRAM_ENABLED is True and config.TELEGRAM_SIMULATED is False


def test_telegram_is_on_with_a_token_and_its_settings():
    config = Config.from_env({**TELEGRAM_ON, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/"})
    assert config.TELEGRAM_ENABLED is True
    assert config.TELEGRAM_BOT_USERNAME == "kz_dispatch_bot"  # the @ is not part of t.me links
    assert config.TELEGRAM_API_BASE_URL == "http://127.0.0.1:8081"
    assert config.as_dict()["TELEGRAM_WEBHOOK_SECRET"] == "Zx9_-webhook-secret-0123"


def test_a_token_without_secret_and_username_names_both():
    with pytest.raises(ConfigError) as err:
        Config.from_env({"TELEGRAM_BOT_TOKEN": TELEGRAM_ON["TELEGRAM_BOT_TOKEN"]})
    message = str(err.value)
    assert "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is set" in message
    assert "TELEGRAM_BOT_USERNAME: required when TELEGRAM_BOT_TOKEN is set" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_BOT_TOKEN", "123456789:short"),
        ("TELEGRAM_BOT_USERNAME", "kz_dispatch"),  # bot usernames end in "bot"
        ("TELEGRAM_BOT_USERNAME", "kz dispatch bot"),
        ("TELEGRAM_WEBHOOK_SECRET", "too-short"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces in it, not allowed by Telegram"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org"),
        ("TELEGRAM_API_BASE_URL", "ftp://api.telegram.org"),
    ],
)
def test_malformed_telegram_settings_are_named(name, value):
    with pytest.raises(ConfigError) as err:
        Config.from_env({**TELEGRAM_ON, name: value})
    assert name in str(err.value)


def test_telegram_secrets_are_never_echoed():
    token, secret = "123456789:bad token with spaces 0123456", "short secret"
    with pytest.raises(ConfigError) as err:
        Config.from_env({**TELEGRAM_ON, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": secret})
    message = str(err.value)
    assert "TELEGRAM_BOT_TOKEN" in message and "TELEGRAM_WEBHOOK_SECRET" in message
    assert token not in message and secret not in message
