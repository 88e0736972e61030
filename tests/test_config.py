"""Settings from the environment and an optional `.env`: every problem is one sentence naming the variable."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_MOVE_TO_DM_TEMPLATE, DEFAULT_SLACK_API_URL, Settings, load_settings
from bot.errors import ConfigError
from tests.support.env import EMPTY_ENV_FILE

BOT_TOKEN = "xoxb-1111-2222-sEcReTbOtToKeN"
SIGNING = "s1gning-s3cret-value"
APP_TOKEN = "xapp-1-A0-3333-sEcReTaPpToKeN"
HOOK_SECRET = "w3bhook-s3cret-value"


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING,
        "CARE_CHANNEL": "C0123456789",
        "CARE_ENV_FILE": EMPTY_ENV_FILE,
    }
    env.update(overrides)
    return env


def without(*names: str, **overrides: str) -> dict[str, str]:
    env = base_env(**overrides)
    for name in names:
        env.pop(name, None)
    return env


def config_error(env: dict[str, str], variable: str, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(env, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert variable in message, message
    assert "\n" not in message and "\r" not in message, message
    assert message.endswith("."), message
    assert message[0].isupper(), message
    return message


# -- defaults -------------------------------------------------------------------------------------
def test_minimal_environment_gives_the_documented_defaults():
    settings = load_settings(base_env())
    assert settings.port == 3000
    assert settings.database_url == "sqlite:///care.db"
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL == "https://slack.com/api/"
    assert settings.slack_app_token is None and settings.socket_mode is False
    assert settings.care_escalate_to == ()
    assert settings.care_webhook_secret is None
    assert settings.care_generic_reply_url is None
    assert settings.move_to_dm_template == DEFAULT_MOVE_TO_DM_TEMPLATE
    assert settings.slack_bot_token == BOT_TOKEN
    assert settings.slack_signing_secret == SIGNING
    assert settings.care_channel == "C0123456789"


def test_every_variable_is_read():
    settings = load_settings(
        base_env(
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL="http://127.0.0.1:8999/api/",
            CARE_ESCALATE_TO="U0LEAD",
            DATABASE_URL="postgresql://care@db.internal/care",
            PORT="8080",
            CARE_WEBHOOK_SECRET=HOOK_SECRET,
            CARE_GENERIC_REPLY_URL="https://relay.example.com/replies",
        )
    )
    assert settings.slack_app_token == APP_TOKEN and settings.socket_mode is True
    assert settings.slack_api_url == "http://127.0.0.1:8999/api/"
    assert settings.care_escalate_to == ("U0LEAD",)
    assert settings.database_url == "postgresql://care@db.internal/care"
    assert settings.port == 8080
    assert settings.care_webhook_secret == HOOK_SECRET
    assert settings.care_generic_reply_url == "https://relay.example.com/replies"


def test_blank_optional_values_count_as_unset():
    settings = load_settings(
        base_env(
            SLACK_APP_TOKEN="  ",
            PORT="",
            DATABASE_URL=" ",
            CARE_WEBHOOK_SECRET="",
            SLACK_API_URL="",
            CARE_GENERIC_REPLY_URL="",
            CARE_ESCALATE_TO=" ",
        )
    )
    assert settings.slack_app_token is None
    assert settings.port == 3000
    assert settings.database_url == "sqlite:///care.db"
    assert settings.care_webhook_secret is None
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.care_generic_reply_url is None
    assert settings.care_escalate_to == ()


def test_surrounding_whitespace_is_ignored():
    settings = load_settings(base_env(SLACK_BOT_TOKEN=f"  {BOT_TOKEN}\n", CARE_CHANNEL=" C0123456789 ", PORT=" 8080 "))
    assert settings.slack_bot_token == BOT_TOKEN
    assert settings.care_channel == "C0123456789"
    assert settings.port == 8080


# -- SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET / SLACK_APP_TOKEN --------------------------------------
def test_missing_bot_token():
    message = config_error(without("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN")
    assert "xoxb-" in message


@pytest.mark.parametrize("token", ["xoxp-1111-user-token", "xapp-1-A0-3333", "abc", "XOXB-1111"])
def test_bot_token_that_is_not_a_bot_token(token):
    message = config_error(base_env(SLACK_BOT_TOKEN=token), "SLACK_BOT_TOKEN")
    assert "xoxb-" in message
    assert token not in message  # the rejected value may be a real (user) token: never echo it


def test_missing_signing_secret_without_socket_mode():
    config_error(without("SLACK_SIGNING_SECRET"), "SLACK_SIGNING_SECRET")
    config_error(base_env(SLACK_SIGNING_SECRET="   "), "SLACK_SIGNING_SECRET")


def test_signing_secret_is_optional_in_socket_mode():
    settings = load_settings(without("SLACK_SIGNING_SECRET", SLACK_APP_TOKEN=APP_TOKEN))
    assert settings.socket_mode is True
    assert settings.slack_app_token == APP_TOKEN
    assert settings.slack_signing_secret == ""


@pytest.mark.parametrize("token", ["xoxb-not-an-app-token", "app-123", "XAPP-1-A0"])
def test_bad_app_token(token):
    message = config_error(base_env(SLACK_APP_TOKEN=token), "SLACK_APP_TOKEN")
    assert "xapp-" in message
    assert token not in message


def test_bad_app_token_is_reported_even_without_signing_secret():
    config_error(without("SLACK_SIGNING_SECRET", SLACK_APP_TOKEN="nope"), "SLACK_APP_TOKEN")


# -- CARE_CHANNEL / CARE_ESCALATE_TO --------------------------------------------------------------
def test_missing_care_channel():
    config_error(without("CARE_CHANNEL"), "CARE_CHANNEL")


@pytest.mark.parametrize("channel", ["#care", "care", "c0123456789", "C0 123", "U0123456789"])
def test_care_channel_must_be_an_id(channel):
    message = config_error(base_env(CARE_CHANNEL=channel), "CARE_CHANNEL")
    assert "C0123456789" in message  # shows what an ID looks like


@pytest.mark.parametrize("channel", ["C0CARE", "G0PRIVATE1", "C0123456789"])
def test_care_channel_ids_are_accepted(channel):
    assert load_settings(base_env(CARE_CHANNEL=channel)).care_channel == channel


def test_escalation_targets_mix_users_and_user_groups():
    settings = load_settings(base_env(CARE_ESCALATE_TO="U123ABC, S456DEF"))
    assert settings.care_escalate_to == ("U123ABC", "S456DEF")
    settings = load_settings(base_env(CARE_ESCALATE_TO="W0ENTERPRISE,,U123ABC,"))
    assert settings.care_escalate_to == ("W0ENTERPRISE", "U123ABC")


@pytest.mark.parametrize("value", ["@bob", "U123ABC, @bob", "U123ABC S456DEF", "<@U123ABC>", "C0123456789", "u123abc"])
def test_bad_escalation_target(value):
    message = config_error(base_env(CARE_ESCALATE_TO=value), "CARE_ESCALATE_TO")
    assert "U" in message and "S" in message


def test_bad_escalation_target_is_named():
    message = config_error(base_env(CARE_ESCALATE_TO="U123ABC, @bob"), "CARE_ESCALATE_TO")
    assert "@bob" in message


# -- PORT / DATABASE_URL / URLs -------------------------------------------------------------------
@pytest.mark.parametrize("port", ["abc", "0", "70000", "65536", "-1", "80.5", "3 000", "²", "٣٠٠٠"])
def test_bad_port(port):
    message = config_error(base_env(PORT=port), "PORT")
    assert "65535" in message


@pytest.mark.parametrize(("port", "expected"), [("1", 1), ("65535", 65535), ("08080", 8080)])
def test_port_bounds(port, expected):
    assert load_settings(base_env(PORT=port)).port == expected


@pytest.mark.parametrize("url", ["care.db", "/var/lib/care.db", "sqlite:care.db", "postgres//db"])
def test_database_url_without_scheme(url):
    message = config_error(base_env(DATABASE_URL=url), "DATABASE_URL")
    assert "sqlite:///care.db" in message


@pytest.mark.parametrize(
    "url", ["nosuchdb://host/db", "mysql://user@host/db", "://nothing", "postgresql://care:pa55@db:notaport/care"]
)
def test_database_url_for_an_unsupported_database(url):
    message = config_error(base_env(DATABASE_URL=url), "DATABASE_URL")
    assert "pa55" not in message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///care.db",
        "sqlite:////tmp/care.db",
        "postgresql://care:pw@db:5432/care",
        "postgres://care@db/care",
        "postgresql+psycopg://care@db/care",
    ],
)
def test_supported_database_urls(url):
    assert load_settings(base_env(DATABASE_URL=url)).database_url == url


@pytest.mark.parametrize("variable", ["SLACK_API_URL", "CARE_GENERIC_REPLY_URL"])
@pytest.mark.parametrize(
    "url", ["slack.com/api/", "ftp://slack.com/api/", "https://", "localhost:8080", "http://[::1/api/"]
)
def test_urls_must_be_http(variable, url):
    message = config_error(base_env(**{variable: url}), variable)
    assert "http" in message


def test_slack_api_url_gets_its_trailing_slash():
    """slack_sdk joins the method onto the base URL like a browser: without the slash, /api is dropped."""
    settings = load_settings(base_env(SLACK_API_URL="http://127.0.0.1:8999/api"))
    assert settings.slack_api_url == "http://127.0.0.1:8999/api/"


def test_bad_log_level():
    config_error(base_env(LOG_LEVEL="LOUD"), "LOG_LEVEL")
    assert load_settings(base_env(LOG_LEVEL="debug")).log_level == "DEBUG"


# -- templates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("variable", ["CARE_MOVE_TO_DM_TEMPLATE", "CARE_PRIVATE_TEMPLATE"])
def test_template_with_an_unknown_placeholder(variable):
    message = config_error(base_env(**{variable: "Hi {customer}, write to {email}."}), variable)
    assert "{email}" in message
    assert "{customer}" in message


@pytest.mark.parametrize(
    "template", ["Hi {customer", "Hi {}", "Hi {0}", "Hi {customer.name}", "Hi {customer:d}", "Hi {customer!x}"]
)
def test_template_that_cannot_be_filled_in(template):
    config_error(base_env(CARE_MOVE_TO_DM_TEMPLATE=template), "CARE_MOVE_TO_DM_TEMPLATE")


def test_template_with_known_placeholders_and_literal_braces():
    template = "Hi {customer}, {agent} here {{team}}; reach us {contact}."
    settings = load_settings(base_env(CARE_MOVE_TO_DM_TEMPLATE=template, CARE_CONTACT_ROUTE="at care@example.com"))
    assert settings.move_to_dm_template == template
    assert settings.contact_route == "at care@example.com"


# -- .env ----------------------------------------------------------------------------------------
def write_env_file(path: Path, **values: str) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()) + "# a comment\n")
    return path


def test_values_come_from_an_env_file(tmp_path):
    env_file = write_env_file(
        tmp_path / "care.env",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        CARE_CHANNEL="C0FROMFILE",
        PORT="4000",
    )
    settings = load_settings({}, env_file=env_file)
    assert settings.care_channel == "C0FROMFILE"
    assert settings.port == 4000
    assert settings.slack_bot_token == BOT_TOKEN


def test_env_file_named_by_care_env_file(tmp_path):
    env_file = write_env_file(
        tmp_path / "other.env", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING, CARE_CHANNEL="C0FROMFILE"
    )
    settings = load_settings({"CARE_ENV_FILE": str(env_file)})
    assert settings.care_channel == "C0FROMFILE"


def test_dot_env_in_the_working_directory_is_the_default(tmp_path, monkeypatch):
    write_env_file(tmp_path / ".env", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING, CARE_CHANNEL="C0DOTENV")
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).care_channel == "C0DOTENV"


def test_real_environment_wins_over_the_env_file(tmp_path):
    env_file = write_env_file(
        tmp_path / "care.env",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        CARE_CHANNEL="C0FROMFILE",
        PORT="4000",
    )
    settings = load_settings({"CARE_CHANNEL": "C0FROMENV", "PORT": "5000"}, env_file=env_file)
    assert settings.care_channel == "C0FROMENV"
    assert settings.port == 5000
    assert settings.slack_bot_token == BOT_TOKEN  # only in the file


def test_bad_value_in_the_env_file_is_reported_like_any_other(tmp_path):
    env_file = write_env_file(
        tmp_path / "care.env", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING, CARE_CHANNEL="#care"
    )
    config_error({}, "CARE_CHANNEL", env_file=env_file)


def test_unreadable_env_file_is_one_sentence(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"SLACK_BOT_TOKEN=xoxb-\xff\xfe\n")
    message = config_error({"CARE_ENV_FILE": str(env_file)}, "CARE_ENV_FILE")
    assert str(env_file) in message


@pytest.mark.parametrize("name", ["/nonexistent/dir/.env", "/"])
def test_a_missing_care_env_file_is_refused_in_a_given_environment_too(name):
    config_error(base_env(CARE_ENV_FILE=name), "CARE_ENV_FILE")
    config_error({}, "CARE_ENV_FILE", env_file=Path(name))


def process_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """The process's own environment (what `care-bot` reads) holding only base_env() and `values`."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "CARE_", "X_", "META_", "REDDIT_", "GOOGLE_")) or name in OTHER_SETTINGS:
            monkeypatch.delenv(name)
    for name, value in {**without("CARE_ENV_FILE"), **values}.items():
        monkeypatch.setenv(name, value)


OTHER_SETTINGS = ("DATABASE_URL", "PORT", "HOST", "LOG_LEVEL", "LOG_FORMAT")


@pytest.mark.parametrize("name", ["missing.env", "no/such/dir/care.env", "."])
def test_a_care_env_file_the_operator_names_must_be_a_file(tmp_path, monkeypatch, name):
    process_env(monkeypatch, CARE_ENV_FILE=str(tmp_path / name))
    message = config_error(None, "CARE_ENV_FILE")  # type: ignore[arg-type]
    assert ("not a regular file" if name == "." else "missing") in message
    assert message.endswith(": point it at the settings file or unset it.")


def test_a_missing_default_dot_env_is_fine(tmp_path, monkeypatch):
    process_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert load_settings().care_channel == "C0123456789"
    process_env(monkeypatch, CARE_ENV_FILE=" ")  # blank counts as unset, like every setting
    assert load_settings().care_channel == "C0123456789"


def test_care_env_file_dev_null_reads_no_file(tmp_path, monkeypatch):
    write_env_file(tmp_path / ".env", CARE_CHANNEL="C0DOTENV")
    monkeypatch.chdir(tmp_path)
    process_env(monkeypatch, CARE_ENV_FILE=os.devnull)
    assert load_settings().care_channel == "C0123456789"  # the .env in the working directory is not read


def test_a_care_env_file_the_operator_names_is_read(tmp_path, monkeypatch):
    env_file = write_env_file(tmp_path / "care.env", CARE_CHANNEL="C0FROMFILE")
    process_env(monkeypatch, CARE_ENV_FILE=str(env_file))
    monkeypatch.delenv("CARE_CHANNEL")
    assert load_settings().care_channel == "C0FROMFILE"


# -- secrets stay out of logs ---------------------------------------------------------------------
def test_secrets_never_appear_in_repr():
    settings = load_settings(
        base_env(
            SLACK_APP_TOKEN=APP_TOKEN,
            CARE_WEBHOOK_SECRET=HOOK_SECRET,
            DATABASE_URL="postgresql://care:db-pa55word@db.internal:5432/care",
        )
    )
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        for secret in (BOT_TOKEN, SIGNING, APP_TOKEN, HOOK_SECRET, "db-pa55word"):
            assert secret not in text, (secret, text)
    shown = repr(settings)
    assert "C0123456789" in shown and "db.internal" in shown  # the non-secret parts are still useful
    assert isinstance(settings, Settings)


def test_secret_values_are_still_usable():
    settings = load_settings(base_env(CARE_WEBHOOK_SECRET=HOOK_SECRET))
    assert str(settings.slack_bot_token) == BOT_TOKEN
    assert settings.care_webhook_secret == HOOK_SECRET
    assert "***" in repr(settings.slack_bot_token)


# -- follow-through (SLA, digest) -------------------------------------------------------------------
def test_sla_defaults_and_overrides():
    from datetime import time, timedelta

    settings = load_settings(base_env())
    assert settings.sla.normal.first_response == timedelta(hours=1)
    assert settings.sla.normal.next_response == timedelta(hours=2)
    assert settings.sla.normal.resolution == timedelta(hours=24)
    assert settings.sla.offline == timedelta(hours=24)
    assert settings.sla.urgent == settings.sla.normal
    assert settings.sweep_seconds == 30 and settings.digest_time == time(9, 0)
    assert settings.sla.hours.always and str(settings.timezone) == "UTC"

    tuned = load_settings(
        base_env(
            CARE_SLA_FIRST_RESPONSE="20s",
            CARE_SLA_URGENT_FIRST_RESPONSE="10s",
            CARE_SLA_OFFLINE="2d",
            CARE_SWEEP_SECONDS="1",
            CARE_DIGEST_TIME="07:45",
            CARE_TIMEZONE="Europe/Berlin",
            CARE_BUSINESS_HOURS="Mon-Fri 09:00-17:30",
            CARE_MANAGERS="U0BOSS, W0CHIEF",
            CARE_TEAM="U0ANNA, S0CARE",
            CARE_RETENTION_DAYS="365",
        )
    )
    assert tuned.sla.normal.first_response == timedelta(seconds=20)
    assert tuned.sla.urgent.first_response == timedelta(seconds=10)
    assert tuned.sla.urgent.resolution == timedelta(hours=24)
    assert tuned.sla.offline == timedelta(days=2)
    assert tuned.sweep_seconds == 1 and tuned.digest_time == time(7, 45)
    assert not tuned.sla.hours.always and str(tuned.sla.hours.tz) == "Europe/Berlin"
    assert tuned.managers == ("U0BOSS", "W0CHIEF")
    assert tuned.care_team == ("U0ANNA", "S0CARE") and tuned.retention_days == 365
    assert settings.care_team == () and settings.retention_days is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CARE_SLA_FIRST_RESPONSE", "1 fortnight"),
        ("CARE_SLA_NEXT_RESPONSE", "0m"),
        ("CARE_SLA_RESOLUTION", "24"),
        ("CARE_SLA_OFFLINE", "-1d"),
        ("CARE_SWEEP_SECONDS", "0"),
        ("CARE_SWEEP_SECONDS", "nan"),
        ("CARE_TIMEZONE", "Mars/Olympus"),
        ("CARE_TIMEZONE", "../etc"),
        ("CARE_BUSINESS_HOURS", "weekdays"),
        ("CARE_BUSINESS_HOURS", "Mon-Fri 17:00-09:00"),
        ("CARE_DIGEST_TIME", "9am"),
        ("CARE_DIGEST_TIME", "24:00"),
        ("CARE_MANAGERS", "@boss"),
        ("CARE_MANAGERS", "S0GROUP"),
        ("CARE_TEAM", "#care"),
        ("CARE_TEAM", "C0CHANNEL"),
        ("CARE_RETENTION_DAYS", "0"),
        ("CARE_RETENTION_DAYS", "1y"),
        ("CARE_SPIKE_PER_MIN", "0"),
        ("CARE_SPIKE_PER_MIN", "-5"),
        ("CARE_SPIKE_PER_MIN", "2.5"),
        ("CARE_SPIKE_PER_MIN", "lots"),
        ("CARE_SPIKE_PER_MIN", "1234567"),
        ("X_POLL_SECONDS", "often"),
        ("X_API_URL", "api.x.com"),
        ("META_GRAPH_URL", "ftp://graph"),
        ("META_HIDE_AFTER_MOVE", "maybe"),
    ],
)
def test_bad_follow_through_and_platform_settings(variable, value):
    config_error(base_env(**{variable: value}), variable)


def test_the_spike_threshold_defaults_to_thirty_mentions_a_minute_and_can_be_set():
    assert load_settings(base_env()).spike_per_min == 30
    assert load_settings(base_env(CARE_SPIKE_PER_MIN=" 120 ")).spike_per_min == 120
    assert load_settings(base_env(CARE_SPIKE_PER_MIN="")).spike_per_min == 30


def test_a_bad_spike_threshold_stops_serve_with_exit_status_2_and_one_sentence(tmp_path):
    import subprocess
    import sys

    from tests.support.serve import clean_env, valid_settings

    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=clean_env(**valid_settings(tmp_path, CARE_SPIKE_PER_MIN="many")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [
        "care-bot: CARE_SPIKE_PER_MIN must be a whole number of mentions a minute from 1 to 999999, got 'many'."
    ]
    assert result.stdout == ""


def test_platform_settings_report_what_is_missing():
    settings = load_settings(
        base_env(X_BEARER_TOKEN="t", META_PAGE_ID="1", REDDIT_SUBREDDITS="r/acme, help", GOOGLE_ACCESS_TOKEN="g")
    )
    assert settings.platforms.x.missing() == ("X_USER_ID",)
    assert settings.platforms.meta.missing_facebook() == ("META_APP_SECRET", "META_VERIFY_TOKEN", "META_PAGE_TOKEN")
    assert "META_IG_ACCOUNT_ID" in settings.platforms.meta.missing_instagram()
    assert settings.platforms.reddit.subreddits == ("acme", "help")
    assert settings.platforms.google.missing() == ("GOOGLE_LOCATIONS",)
    assert "bearer_token=Secret('***')" in repr(settings) and "access_token=Secret('***')" in repr(settings)


def test_google_token_endpoint_follows_an_overridden_api_url():
    from bot.config import platform_settings

    assert platform_settings({}).google.token_url == "https://oauth2.googleapis.com/token"
    proxied = platform_settings({"GOOGLE_API_URL": "http://127.0.0.1:8111/"})
    assert proxied.google.token_url == "http://127.0.0.1:8111/token"
    explicit = platform_settings({"GOOGLE_API_URL": "http://127.0.0.1:8111", "GOOGLE_TOKEN_URL": "http://tok/t"})
    assert explicit.google.token_url == "http://tok/t"


# -- the test-only clock shift ----------------------------------------------------------------------
def test_the_clock_runs_unshifted_unless_a_test_shifts_it():
    assert load_settings(base_env()).clock_offset is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:8999/api/", "http://localhost:8999/api/", "http://[::1]:8999/api/"])
def test_a_test_may_shift_the_clock_against_a_local_slack_stand_in(url):
    from datetime import timedelta

    settings = load_settings(base_env(SLACK_API_URL=url, CARE_TEST_CLOCK_OFFSET="-86400.5"))
    assert settings.clock_offset == timedelta(days=-1, seconds=-0.5)


@pytest.mark.parametrize(
    "url", [None, "https://slack.com/api/", "http://10.0.0.8/api/", "http://127.0.0.1.evil.example/"]
)
def test_a_shifted_clock_is_refused_against_a_real_slack(url):
    env = base_env(CARE_TEST_CLOCK_OFFSET="3600")
    if url:
        env["SLACK_API_URL"] = url
    message = config_error(env, "CARE_TEST_CLOCK_OFFSET")
    assert "unset it" in message


@pytest.mark.parametrize("value", ["1h", "nan", "inf", "1e12", ""])
def test_a_clock_shift_must_be_a_number_of_seconds(value):
    env = base_env(SLACK_API_URL="http://127.0.0.1:8999/api/", CARE_TEST_CLOCK_OFFSET=value)
    if not value:
        assert load_settings(env).clock_offset is None  # blank counts as unset, like every setting
        return
    config_error(env, "CARE_TEST_CLOCK_OFFSET")


# -- durations ------------------------------------------------------------------------------------
DURATION_SETTINGS = (
    "CARE_SLA_FIRST_RESPONSE",
    "CARE_SLA_NEXT_RESPONSE",
    "CARE_SLA_RESOLUTION",
    "CARE_SLA_URGENT_FIRST_RESPONSE",
    "CARE_SLA_URGENT_NEXT_RESPONSE",
    "CARE_SLA_URGENT_RESOLUTION",
    "CARE_SLA_OFFLINE",
    "CARE_READY_SLACK_FAILING",
    "CARE_READY_QUEUE_AGE",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("90 minutes", timedelta(minutes=90)),
        ("1 hour", timedelta(hours=1)),
        ("2 days", timedelta(days=2)),
        ("45 sec", timedelta(seconds=45)),
        (" 4H ", timedelta(hours=4)),
        ("365d", timedelta(days=365)),
    ],
)
def test_durations_are_read_in_every_documented_form(text, expected):
    settings = load_settings(base_env(CARE_SLA_FIRST_RESPONSE=text, CARE_READY_QUEUE_AGE=text))
    assert settings.sla.normal.first_response == expected
    assert settings.ready_queue_age == expected


@pytest.mark.parametrize(
    "text",
    ["99999999999d", "366d", "0m", "0s", "-1h", "nan", "inf", "1e9s", "90", "soon", "３０m", "1h1h", "1" * 5000 + "d"],
)
@pytest.mark.parametrize("variable", DURATION_SETTINGS)
def test_a_bad_duration_is_one_sentence_naming_the_variable(variable, text):
    message = config_error(base_env(**{variable: text}), variable)
    shown = repr(text) if len(text) <= 60 else repr(text[:60]) + "…"
    assert message == f"{variable} must be a duration like 90s, 30m, 1h30m, 1.5h or 2d, up to a year, got {shown}."


# -- DATABASE_URL: a SQLite file, in a directory that exists ----------------------------------------
@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:?uri=true"])
def test_an_in_memory_sqlite_database_is_refused(url):
    message = config_error(base_env(DATABASE_URL=url), "DATABASE_URL")
    assert "sqlite:///care.db" in message and "in-memory" in message


def test_a_sqlite_file_in_a_directory_that_does_not_exist_is_refused(tmp_path):
    missing = tmp_path / "no" / "such"
    message = config_error(base_env(DATABASE_URL=f"sqlite:///{missing / 'care.db'}"), "DATABASE_URL")
    assert message == (
        f"DATABASE_URL names a SQLite file in a directory that does not exist ({str(missing)!r}): "
        "create the directory or correct the path."
    )


def test_an_absolute_sqlite_path_in_an_existing_directory_is_fine(tmp_path):
    url = f"sqlite:///{tmp_path / 'care.db'}"
    assert load_settings(base_env(DATABASE_URL=url)).database_url == url


@pytest.mark.parametrize(
    "url", ["sqlite:///care.db?timeout=abc", "postgresql+nosuch://care@db/care", "sqlite+nosuch:///care.db"]
)
def test_a_database_url_the_engine_could_not_use_is_refused(url):
    config_error(base_env(DATABASE_URL=url), "DATABASE_URL")


# -- HOST, LOG_FORMAT, readiness ------------------------------------------------------------------
def test_host_log_format_and_readiness_defaults():
    settings = load_settings(base_env())
    assert settings.host == "0.0.0.0"
    assert settings.log_format == "text"
    assert settings.ready_slack_failing == timedelta(minutes=5)
    assert settings.ready_queue_age == timedelta(minutes=5)


@pytest.mark.parametrize("host", ["127.0.0.1", "::", "::1", "fe80::1%eth0", "localhost", "care-bot.internal", "a1."])
def test_host_may_be_an_ip_address_or_a_host_name(host):
    assert load_settings(base_env(HOST=f" {host} ")).host == host


@pytest.mark.parametrize(
    "host", ["no such", "[::1]", "http://0.0.0.0", "0.0.0.0:3000", "-bad.example", "999.1.1.1", "a" * 64, "é.example"]
)
def test_a_bad_host_is_one_sentence(host):
    message = config_error(base_env(HOST=host), "HOST")
    assert message.startswith("HOST must be an IP address like 0.0.0.0 or 127.0.0.1, or a host name like localhost")


@pytest.mark.parametrize(("text", "expected"), [("text", "text"), ("json", "json"), (" JSON ", "json"), ("", "text")])
def test_log_format(text, expected):
    assert load_settings(base_env(LOG_FORMAT=text)).log_format == expected


def test_a_bad_log_format_is_one_sentence():
    assert config_error(base_env(LOG_FORMAT="xml"), "LOG_FORMAT") == "LOG_FORMAT must be text or json, got 'xml'."


def test_readiness_thresholds_can_be_set():
    settings = load_settings(base_env(CARE_READY_SLACK_FAILING="90s", CARE_READY_QUEUE_AGE="1h30m"))
    assert settings.ready_slack_failing == timedelta(seconds=90)
    assert settings.ready_queue_age == timedelta(hours=1, minutes=30)


# -- numbers of seconds ---------------------------------------------------------------------------
SECONDS_SETTINGS = ("CARE_SWEEP_SECONDS", "X_POLL_SECONDS", "REDDIT_POLL_SECONDS", "GOOGLE_POLL_SECONDS")


@pytest.mark.parametrize("text", ["0", "0.5", "86401", "1e3", "1e308", "nan", "inf", "３０", "1_000", "-5", "30s"])
@pytest.mark.parametrize("variable", SECONDS_SETTINGS)
def test_a_bad_number_of_seconds_is_one_sentence(variable, text):
    message = config_error(base_env(**{variable: text}), variable)
    assert message == f"{variable} must be a number of seconds from 1 to 86400, got {text!r}."


def test_numbers_of_seconds_in_range():
    settings = load_settings(base_env(CARE_SWEEP_SECONDS="1.5", X_POLL_SECONDS="86400", GOOGLE_POLL_SECONDS=" 600 "))
    assert settings.sweep_seconds == 1.5
    assert settings.platforms.x.poll_seconds == 86400 and settings.platforms.google.poll_seconds == 600


# -- hostile values: a ConfigError or nothing, never another exception -------------------------------
EVERY_SETTING = (
    *DURATION_SETTINGS,
    *SECONDS_SETTINGS,
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "CARE_CHANNEL",
    "CARE_ESCALATE_TO",
    "DATABASE_URL",
    "HOST",
    "PORT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "CARE_WEBHOOK_SECRET",
    "CARE_GENERIC_REPLY_URL",
    "CARE_MOVE_TO_DM_TEMPLATE",
    "CARE_PRIVATE_TEMPLATE",
    "CARE_CLOSING_TEMPLATE",
    "CARE_CONTACT_ROUTE",
    "CARE_TIMEZONE",
    "CARE_BUSINESS_HOURS",
    "CARE_DIGEST_TIME",
    "CARE_MANAGERS",
    "CARE_TEAM",
    "CARE_RETENTION_DAYS",
    "CARE_SPIKE_PER_MIN",
    "CARE_WINS_CHANNEL",
    "CARE_TRIAGE_FILE",
    "CARE_TEST_CLOCK_OFFSET",
    "X_API_URL",
    "X_TOKEN_URL",
    "X_USER_ID",
    "X_BEARER_TOKEN",
    "X_USER_TOKEN",
    "X_CLIENT_ID",
    "X_REFRESH_TOKEN",
    "X_ALLOW_LINKS",
    "META_GRAPH_URL",
    "META_PAGE_TOKEN",
    "META_HIDE_AFTER_MOVE",
    "REDDIT_API_URL",
    "REDDIT_SUBREDDITS",
    "REDDIT_USER_AGENT",
    "GOOGLE_API_URL",
    "GOOGLE_TOKEN_URL",
    "GOOGLE_LOCATIONS",
    "GOOGLE_ACCESS_TOKEN",
)
HOSTILE = (
    "",
    " \t\n ",
    "３０００",  # full-width digits: int() and float() accept them
    "٣٠",
    "²",
    "1e308",
    "-1e308",
    "1e400",
    "nan",
    "-inf",
    "99999999999d",
    "9" * 30,
    "0",
    "-1",
    "1_000",
    "0x10",
    "x" * 100_000,
    "a" * 300,  # a time zone this long was an OSError ("File name too long")
    "America",  # a directory of time zones: IsADirectoryError
    "\udcff",  # bytes that are not UTF-8, as os.environ carries them
    "a\x00b",
    "line\nbreak",
    "{customer:>999999999}",  # would build a gigabyte string
    "{customer!r}",
    "{}",
    "http://[::1",
    "http://host:99999/",
    "http://exa mple/",
    "sqlite:///",
    "postgresql+nosuch://u@h/d",
    "sqlite:///x.db?timeout=abc",
    "Mon-Fri ０９:00-17:30",
    "Mon-Fri 99:00-17:30",
    "xoxb-tök en",
    "xapp-\x7f",
)


@pytest.mark.parametrize("variable", EVERY_SETTING)
def test_a_hostile_value_is_a_config_error_or_nothing(variable):
    """Each value in turn (one test per setting keeps the report short); the sentence stays one short line."""
    for value in HOSTILE:
        env = {**base_env(SLACK_API_URL="http://127.0.0.1:8999/api/"), variable: value}  # the clock shift needs it
        try:
            load_settings(env)
        except ConfigError as exc:
            message = str(exc)
            assert "\n" not in message and len(message) < 500 and variable in message, (value[:40], message[:500])
        except Exception as exc:  # noqa: BLE001 - the point of the test
            raise AssertionError(f"{variable}={value[:40]!r} raised {exc!r:.300}") from exc


@settings(max_examples=300, deadline=None)
@given(
    variable=st.sampled_from((*DURATION_SETTINGS, *SECONDS_SETTINGS, "PORT", "CARE_RETENTION_DAYS", "HOST")),
    text=st.text(max_size=30),
)
def test_any_text_in_a_duration_or_number_setting_is_a_config_error_or_nothing(variable, text):
    try:
        load_settings(base_env(**{variable: text}))
    except ConfigError as exc:
        assert variable in str(exc)
