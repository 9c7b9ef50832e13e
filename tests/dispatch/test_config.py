import pytest

from config import Config, ConfigError, normalize_database_url, PROJECT_ROOT


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
        Config.from_env({"EXPECTED_ACCEPTANCE": "1.5", "SMS_MAX_PER_SECOND": "fast", "SCHEDULER_EMBEDDED": "maybe",
                         "SMS_SEND_CONCURRENCY": "0"})
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
