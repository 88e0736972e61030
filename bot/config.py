"""Settings: built once from the environment (and an optional `.env`); nothing else reads os.environ.

Every problem is reported as one sentence naming the variable and what is expected, so an operator
can fix it without reading code; the CLI turns that sentence into exit status 2.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

DEFAULT_MOVE_TO_DM_TEMPLATE = (
    "Hi {customer}, I'm {agent} from the care team. I'm sorry about this, and I'd like to sort it "
    "out with you properly. Could we continue {contact}?"
)
DEFAULT_PRIVATE_TEMPLATE = (
    "Hi {customer}, it's {agent} from the care team, following up on your post. "
    "Could you tell me a little more here so I can look into it for you?"
)
DEFAULT_CONTACT_ROUTE = "by direct message"
TEMPLATE_FIELDS = frozenset({"customer", "agent", "contact"})

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ESCALATION_TARGET = re.compile(r"^[UWS][A-Z0-9]{2,}$")
DATABASE_BACKENDS = ("sqlite", "postgresql", "postgres")


class Secret(str):
    """A string whose repr never shows its value, so settings can be logged safely."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


@dataclass(frozen=True)
class Settings:
    slack_bot_token: Secret
    slack_signing_secret: Secret
    care_channel: str
    slack_app_token: Secret | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    care_escalate_to: tuple[str, ...] = ()
    database_url: str = "sqlite:///care.db"
    port: int = 3000
    care_webhook_secret: Secret | None = None
    care_generic_reply_url: str | None = None
    move_to_dm_template: str = DEFAULT_MOVE_TO_DM_TEMPLATE
    private_template: str = DEFAULT_PRIVATE_TEMPLATE
    contact_route: str = DEFAULT_CONTACT_ROUTE
    log_level: str = "INFO"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def __repr__(self) -> str:  # secrets are masked, and the database password too
        shown = ", ".join(f"{f.name}={self._shown(f.name)!r}" for f in fields(self) if f.repr)
        return f"Settings({shown})"

    def _shown(self, name: str) -> object:
        value = getattr(self, name)
        if name == "database_url":  # a PostgreSQL URL may carry a password
            try:
                return make_url(value).render_as_string(hide_password=True)
            except (ArgumentError, ValueError):
                return "***"
        return value


def read_environment(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> dict[str, str]:
    """The process environment laid over `.env`; the real environment wins, as operators expect."""
    environ = dict(os.environ if environ is None else environ)
    path = env_file or Path(environ.get("CARE_ENV_FILE", ".env"))
    merged: dict[str, str] = {}
    if path.is_file():
        try:
            values = dotenv_values(path, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The settings file {str(path)!r} (CARE_ENV_FILE, default .env) could not be read "
                              f"as UTF-8 NAME=value lines ({type(exc).__name__}).") from None
        merged.update({k: v for k, v in values.items() if v is not None})
    merged.update(environ)
    return merged


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _require(env: Mapping[str, str], name: str, what: str) -> str:
    value = _get(env, name)
    if value is None:
        raise ConfigError(f"{name} is not set: expected {what}.")
    return value


def _http_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = _get(env, name)
    if value is None:
        return default
    try:
        parsed = urlparse(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parsed = urlparse("")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {value!r}.")
    return value


def _slack_api_url(env: Mapping[str, str]) -> str:
    """slack_sdk joins method names onto this like a browser resolves links: keep the trailing slash."""
    value = _http_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL) or DEFAULT_SLACK_API_URL
    return value if value.endswith("/") else value + "/"


def read_database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL (default: care.db in the working directory), checked like every other setting."""
    value = _get(env, "DATABASE_URL") or "sqlite:///care.db"
    what = "a database URL like sqlite:///care.db or postgresql://user@host/db"
    if "://" not in value:
        raise ConfigError(f"DATABASE_URL must be {what}, got {value!r}.")
    try:
        backend = make_url(value).get_backend_name()
    except (ArgumentError, ValueError):  # not echoed: it may hold a password
        raise ConfigError(f"DATABASE_URL could not be read as a URL: expected {what}.") from None
    if backend not in DATABASE_BACKENDS:
        raise ConfigError(f"DATABASE_URL must be a SQLite or PostgreSQL URL like sqlite:///care.db or "
                          f"postgresql://user@host/db, got a {backend} URL.")
    return value


def _template(env: Mapping[str, str], name: str, default: str) -> str:
    value = _get(env, name) or default
    try:
        names = {fname for _, fname, _, _ in string.Formatter().parse(value) if fname is not None}
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid template ({exc}); use {{customer}}, {{agent}}, {{contact}}.")
    unknown = names - TEMPLATE_FIELDS
    if unknown:
        raise ConfigError(
            f"{name} uses unknown placeholder {{{sorted(unknown)[0]}}}: "
            "only {customer}, {agent} and {contact} are available."
        )
    try:  # a bad conversion or format spec ({customer!x}, {customer:d}) only fails when filled in
        value.format(customer="Jane", agent="Alice", contact="by direct message")
    except (ValueError, IndexError, KeyError, AttributeError):
        raise ConfigError(f"{name} is not a valid template: use {{customer}}, {{agent}} and {{contact}} "
                          "without conversions or format specs.") from None
    return value


def load_settings(environ: Mapping[str, str] | None = None, *, env_file: Path | None = None) -> Settings:
    env = read_environment(environ, env_file)

    bot_token = _require(env, "SLACK_BOT_TOKEN", "the bot token of the Slack app (xoxb-…)")
    if not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")

    app_token = _get(env, "SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (or be unset).")

    signing_secret = _get(env, "SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: expected the app's signing secret "
            "(Basic Information → App Credentials), needed unless SLACK_APP_TOKEN enables Socket Mode."
        )

    channel = _require(env, "CARE_CHANNEL", "the ID of the care channel, like C0123456789")
    if not _CHANNEL_ID.match(channel):
        raise ConfigError(f"CARE_CHANNEL must be a channel ID like C0123456789 (not a name), got {channel!r}.")

    escalate = tuple(part.strip() for part in (_get(env, "CARE_ESCALATE_TO") or "").split(",") if part.strip())
    for target in escalate:
        if not _ESCALATION_TARGET.match(target):
            raise ConfigError(
                "CARE_ESCALATE_TO must be comma-separated Slack user IDs (U…/W…) or user-group IDs (S…), "
                f"got {target!r}."
            )

    port_text = _get(env, "PORT") or "3000"
    if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a port number between 1 and 65535, got {port_text!r}.")

    database_url = read_database_url(env)

    webhook_secret = _get(env, "CARE_WEBHOOK_SECRET")
    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got {log_level!r}.")

    return Settings(
        slack_bot_token=Secret(bot_token),
        slack_signing_secret=Secret(signing_secret or ""),
        slack_app_token=Secret(app_token) if app_token else None,
        slack_api_url=_slack_api_url(env),
        care_channel=channel,
        care_escalate_to=escalate,
        database_url=database_url,
        port=int(port_text),
        care_webhook_secret=Secret(webhook_secret) if webhook_secret else None,
        care_generic_reply_url=_http_url(env, "CARE_GENERIC_REPLY_URL", None),
        move_to_dm_template=_template(env, "CARE_MOVE_TO_DM_TEMPLATE", DEFAULT_MOVE_TO_DM_TEMPLATE),
        private_template=_template(env, "CARE_PRIVATE_TEMPLATE", DEFAULT_PRIVATE_TEMPLATE),
        contact_route=_get(env, "CARE_CONTACT_ROUTE") or DEFAULT_CONTACT_ROUTE,
        log_level=log_level,
    )
