"""Settings: built once from the environment (and an optional `.env`); nothing else reads os.environ.

Every problem is reported as one sentence naming the variable and what is expected, so an operator
can fix it without reading code; the CLI turns that sentence into exit status 2. Whatever the value (huge
numbers, full-width digits, NaN, control characters, a megabyte of text), reading it raises ConfigError
or nothing.

Besides the Slack, database and platform settings (see the README), the server reads:
  HOST                       the address `care-bot serve` listens on: an IP address or a host name (0.0.0.0)
  LOG_FORMAT                 text (the default) or json: one JSON object a line, for a log collector
  CARE_READY_SLACK_FAILING   how long Slack may have been failing before /readyz answers 503 (5m)
  CARE_READY_QUEUE_AGE       how old the oldest pending Slack delivery may be before /readyz answers 503 (5m)
"""

from __future__ import annotations

import ipaddress
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time, timedelta
from pathlib import Path
from typing import overload
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError
from bot.sla import BusinessHours, SlaPolicy, SlaTargets, parse_duration

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# Move to DM, as good practice has it: say what happened (a DM is on its way), when they will hear back ({due}, from
# the first-response target), and ask for the one thing needed rather than a retelling of what they already wrote.
DEFAULT_MOVE_TO_DM_TEMPLATE = (
    "Hi {customer}, I'm {agent} from the care team. I'm sorry about this, and I'd like to sort it out with you "
    "properly: I've sent you a DM, and you'll hear back from me {due}."
)
DEFAULT_PRIVATE_TEMPLATE = (
    "Hi {customer}, it's {agent} from the care team, about your post. I've read what you wrote, so there's no "
    "need to repeat it: could you send me your booking reference? I'll get back to you {due}."
)
DEFAULT_CONTACT_ROUTE = "by direct message"
# The public closing reply offered when a case that moved to DM is resolved, so onlookers see it was sorted.
DEFAULT_CLOSING_TEMPLATE = (
    "Hi {customer}, thanks for sorting this out with us by direct message. "
    "If anything else comes up, we're here. {agent} from the care team"
)
TEMPLATE_FIELDS = ("customer", "agent", "contact", "due")
CLOSING_TEMPLATE_FIELDS = ("customer", "agent")

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ESCALATION_TARGET = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GOOGLE_LOCATION = re.compile(r"accounts/[0-9A-Za-z_-]+/locations/[0-9A-Za-z_-]+")
# A token travels in an HTTP header: visible ASCII only (a space or an accented letter would fail every request)
_TOKEN_TEXT = re.compile(r"[!-~]+")
# A host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens; the last not all digits
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?|\.[0-9]{1,9}")  # ASCII only: float() takes "３０" and "1e308"
DATABASE_BACKENDS = ("sqlite", "postgresql", "postgres")
DURATION_EXAMPLES = "a duration like 90s, 30m, 1h30m, 1.5h or 2d, up to a year"
LOG_FORMATS = ("text", "json")


class Secret(str):
    """A string whose repr never shows its value, so settings can be logged safely."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


def _missing(pairs: tuple[tuple[str, object], ...]) -> tuple[str, ...]:
    return tuple(name for name, value in pairs if not value)


@dataclass(frozen=True)
class XSettings:
    """X (Twitter): mentions are polled with the bearer token; replies and DMs need a user-context token."""

    api_url: str = "https://api.x.com"
    user_id: str | None = None
    bearer_token: Secret | None = None
    user_token: Secret | None = None  # OAuth 2.0 user-context token (tweet.write, dm.write); else bearer_token
    poll_seconds: float = 60.0
    contact_route: str = "by direct message"
    allow_links: bool = False  # X bills a post with a link at $0.20 instead of $0.015: automated posts stay link-free
    # Renewing the user-context token: X's user access tokens expire after two hours, and each refresh
    # returns a new single-use refresh token. With a client id and a refresh token, these replace user_token.
    client_id: str | None = None
    client_secret: Secret | None = None  # confidential clients only (HTTP Basic on the token endpoint)
    refresh_token: Secret | None = None  # from the one-time authorization; later ones are kept in the database
    token_url: str = "https://api.x.com/2/oauth2/token"

    @property
    def refreshes(self) -> bool:
        """Posting tokens come from the token endpoint rather than X_USER_TOKEN."""
        return bool(self.client_id and self.refresh_token)

    def missing(self) -> tuple[str, ...]:
        return _missing((("X_USER_ID", self.user_id), ("X_BEARER_TOKEN", self.bearer_token)))


@dataclass(frozen=True)
class MetaSettings:
    """Facebook Page and Instagram business account, both through the Graph API and one Meta app."""

    graph_url: str = "https://graph.facebook.com/v21.0"
    app_secret: Secret | None = None
    verify_token: Secret | None = None
    page_id: str | None = None
    page_token: Secret | None = None
    ig_account_id: str | None = None
    hide_after_move: bool = False

    def missing_facebook(self) -> tuple[str, ...]:
        return _missing(
            (
                ("META_APP_SECRET", self.app_secret),
                ("META_VERIFY_TOKEN", self.verify_token),
                ("META_PAGE_ID", self.page_id),
                ("META_PAGE_TOKEN", self.page_token),
            )
        )

    def missing_instagram(self) -> tuple[str, ...]:
        return _missing(
            (
                ("META_APP_SECRET", self.app_secret),
                ("META_VERIFY_TOKEN", self.verify_token),
                ("META_IG_ACCOUNT_ID", self.ig_account_id),
                ("META_PAGE_TOKEN", self.page_token),
            )
        )


@dataclass(frozen=True)
class RedditSettings:
    """A Reddit "script" app (approved by Reddit) acting as the brand's account."""

    api_url: str = "https://oauth.reddit.com"
    auth_url: str = "https://www.reddit.com"
    client_id: str | None = None
    client_secret: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    subreddits: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    user_agent: str | None = None
    poll_seconds: float = 60.0

    def missing(self) -> tuple[str, ...]:
        return _missing(
            (
                ("REDDIT_CLIENT_ID", self.client_id),
                ("REDDIT_CLIENT_SECRET", self.client_secret),
                ("REDDIT_USERNAME", self.username),
                ("REDDIT_PASSWORD", self.password),
                ("REDDIT_SUBREDDITS", self.subreddits),
                ("REDDIT_KEYWORDS", self.keywords),
            )
        )


@dataclass(frozen=True)
class GoogleSettings:
    """Google Business Profile reviews: OAuth refresh token of a manager of the locations."""

    api_url: str = "https://mybusiness.googleapis.com"
    token_url: str = "https://oauth2.googleapis.com/token"
    client_id: str | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    access_token: Secret | None = None  # a fixed token instead of the refresh flow (short-lived; for trials)
    locations: tuple[str, ...] = ()
    poll_seconds: float = 300.0

    def missing(self) -> tuple[str, ...]:
        missing = list(_missing((("GOOGLE_LOCATIONS", self.locations),)))
        if not self.access_token:
            missing += _missing(
                (
                    ("GOOGLE_CLIENT_ID", self.client_id),
                    ("GOOGLE_CLIENT_SECRET", self.client_secret),
                    ("GOOGLE_REFRESH_TOKEN", self.refresh_token),
                )
            )
        return tuple(missing)


@dataclass(frozen=True)
class PlatformSettings:
    x: XSettings = field(default_factory=XSettings)
    meta: MetaSettings = field(default_factory=MetaSettings)
    reddit: RedditSettings = field(default_factory=RedditSettings)
    google: GoogleSettings = field(default_factory=GoogleSettings)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: Secret
    slack_signing_secret: Secret
    care_channel: str
    slack_app_token: Secret | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    care_escalate_to: tuple[str, ...] = ()
    database_url: str = "sqlite:///care.db"
    host: str = "0.0.0.0"  # HOST: the address `serve` listens on (an IP address or a host name)
    port: int = 3000
    care_webhook_secret: Secret | None = None
    care_generic_reply_url: str | None = None
    move_to_dm_template: str = DEFAULT_MOVE_TO_DM_TEMPLATE
    private_template: str = DEFAULT_PRIVATE_TEMPLATE
    contact_route: str = DEFAULT_CONTACT_ROUTE
    closing_template: str = DEFAULT_CLOSING_TEMPLATE
    log_level: str = "INFO"
    log_format: str = "text"  # LOG_FORMAT: "text" lines for a person, or "json" objects for a log collector
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    sweep_seconds: float = 30.0
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    managers: tuple[str, ...] = ()
    # who may act on cases: user IDs (U…/W…) and user-group IDs (S…); empty means the care channel's members
    care_team: tuple[str, ...] = ()
    # erase cases closed longer ago than this many days (None keeps them)
    retention_days: int | None = None
    digest_time: time = time(9, 0)
    # mentions a minute that make a surge: one spike alert in the care channel (bot/services/surge.py)
    spike_per_min: int = 30
    platforms: PlatformSettings = field(default_factory=lambda: PlatformSettings())
    clock_offset: timedelta | None = None  # tests only: see _clock_offset
    triage_file: Path | None = None  # CARE_TRIAGE_FILE: the team's triage policy (None: the shipped default)
    triage_model: Path | None = None  # CARE_TRIAGE_MODEL: learned weights the policy scores with
    wins_channel: str | None = None  # CARE_WINS_CHANNEL: where "Share win" posts praise
    playbook_file: Path | None = None  # CARE_PLAYBOOK_FILE: saved replies and the reply coach (None: the default)
    # /readyz answers 503 once Slack calls have failed for longer than this (CARE_READY_SLACK_FAILING) ...
    ready_slack_failing: timedelta = timedelta(minutes=5)
    # ... or once the oldest pending Slack delivery is older than this (CARE_READY_QUEUE_AGE)
    ready_queue_age: timedelta = timedelta(minutes=5)

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
    """The process environment laid over `.env`; the real environment wins, as operators expect.

    A missing `.env` is fine, but a file named in CARE_ENV_FILE (or passed as `env_file`) must be there: a
    typo in its name would otherwise start the app on other settings without a word. CARE_ENV_FILE=/dev/null
    reads no file at all.
    """
    environ = dict(os.environ if environ is None else environ)
    named = (environ.get("CARE_ENV_FILE") or "").strip()
    path = env_file or Path(named or ".env")
    merged: dict[str, str] = {}
    if (env_file or named) and not (_is_file(path) or path == Path(os.devnull)):
        raise ConfigError(
            f"CARE_ENV_FILE names {_quoted(str(path), PATH_LIMIT)}, which is "
            f"{'not a regular file' if _exists(path) else 'missing'}: point it at the settings file or unset it."
        )
    if _is_file(path):
        try:
            values = dotenv_values(path, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"The settings file {str(path)!r} (CARE_ENV_FILE, default .env) could not be read "
                f"as UTF-8 NAME=value lines ({type(exc).__name__})."
            ) from None
        merged.update({k: v for k, v in values.items() if v is not None})
    merged.update(environ)
    return merged


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL in it
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


PATH_LIMIT = 400  # a path is shown whole (up to this): an operator needs all of it to find the mistake


def _quoted(value: str, limit: int = 60) -> str:
    """A value as a sentence shows it: quoted, escaped onto one line, and cut short if long."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    if "\x00" in value or not _encodes(value):
        # bytes that are not UTF-8 reach os.environ as lone surrogates; they would fail wherever the value is used
        raise ConfigError(f"{name} must be UTF-8 text without NUL characters: check the environment or .env file.")
    return value or None


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _require(env: Mapping[str, str], name: str, what: str) -> str:
    value = _get(env, name)
    if value is None:
        raise ConfigError(f"{name} is not set: expected {what}.")
    return value


@overload
def _http_url(env: Mapping[str, str], name: str, default: str) -> str: ...


@overload
def _http_url(env: Mapping[str, str], name: str, default: None) -> str | None: ...


def _http_url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    """`name` if set (it must be an http(s) URL), else `default`."""
    value = _get(env, name)
    if value is None:
        return default
    try:
        parsed = urlparse(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parsed = urlparse("")
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not _url_port_ok(parsed.netloc):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {_quoted(value)}.")
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ConfigError(f"{name} must be a URL without spaces or control characters, got {_quoted(value)}.")
    return value


def _url_port_ok(netloc: str) -> bool:
    try:
        port = urlparse(f"//{netloc}").port  # ValueError when not a number from 0 to 65535
    except ValueError:
        return False
    return port is None or port > 0


def _slack_api_url(env: Mapping[str, str]) -> str:
    """slack_sdk joins method names onto this like a browser resolves links: keep the trailing slash."""
    value = _http_url(env, "SLACK_API_URL", DEFAULT_SLACK_API_URL)
    return value if value.endswith("/") else value + "/"


def read_database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL (default: care.db in the working directory), checked like every other setting."""
    value = _get(env, "DATABASE_URL") or "sqlite:///care.db"
    what = "a database URL like sqlite:///care.db or postgresql://user@host/db"
    if "://" not in value:
        raise ConfigError(f"DATABASE_URL must be {what}, got {_quoted(value)}.")
    try:
        backend = make_url(value).get_backend_name()
    except (ArgumentError, ValueError):  # not echoed: it may hold a password
        raise ConfigError(f"DATABASE_URL could not be read as a URL: expected {what}.") from None
    if backend not in DATABASE_BACKENDS:
        raise ConfigError(
            f"DATABASE_URL must be a SQLite or PostgreSQL URL like sqlite:///care.db or "
            f"postgresql://user@host/db, got a {backend} URL."
        )
    _check_driver(value)
    if backend == "sqlite":
        _check_sqlite_file(value)
    return value


def _check_driver(value: str) -> None:
    """`postgresql+nosuch://` is a PostgreSQL URL whose driver SQLAlchemy cannot even name."""
    from bot.db import normalise_url  # the URL as the engine will see it (plain postgresql:// means psycopg)

    url = make_url(normalise_url(value))
    try:
        url.get_dialect()
    except (ArgumentError, ImportError):  # ArgumentError: NoSuchModuleError, an unknown driver
        raise ConfigError(
            f"DATABASE_URL names a database driver SQLAlchemy does not know ({url.drivername}): use "
            "sqlite:///… or postgresql://… (psycopg)."
        ) from None


def _check_sqlite_file(value: str) -> None:
    """A SQLite database must be a file: an in-memory one is a new, empty database on every connection."""
    url = make_url(value)
    path = url.database or ""
    if path in ("", ":memory:") or path.startswith("file:") or url.query.get("mode") == "memory":
        raise ConfigError(
            f"DATABASE_URL must name a SQLite database file, like sqlite:///care.db (in the working directory), "
            f"but {_quoted(value)} is an in-memory database: empty, and a different one on every connection."
        )
    if url.query:  # the engine sets SQLite's options itself; one here would be ignored or fail at connect
        raise ConfigError("DATABASE_URL must be a SQLite URL without options (?…), like sqlite:///care.db.")
    directory = Path(path).parent
    if not directory.is_dir():
        shown = _quoted(str(directory), PATH_LIMIT)
        raise ConfigError(
            f"DATABASE_URL names a SQLite file in a directory that does not exist ({shown}): "
            "create the directory or correct the path."
        )


def _template(env: Mapping[str, str], name: str, default: str, fields: tuple[str, ...] = TEMPLATE_FIELDS) -> str:
    value = _get(env, name) or default
    allowed = ", ".join(f"{{{f}}}" for f in fields[:-1]) + f" and {{{fields[-1]}}}"
    try:
        parsed = [(fname, spec, conversion) for _, fname, spec, conversion in string.Formatter().parse(value)]
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid template ({exc}); use {allowed}.") from None
    unknown = sorted({fname for fname, _, _ in parsed if fname is not None} - set(fields))
    if unknown:
        shown = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
        raise ConfigError(f"{name} uses unknown placeholder {{{shown}}}: only {allowed} are available.")
    # A conversion or format spec ({customer!x}, {customer:d}) could fail only when filled in, and a width
    # ({customer:>999999999}) would build a gigabyte: a message to a customer needs neither.
    if any(spec or conversion for _, spec, conversion in parsed):
        raise ConfigError(f"{name} is not a valid template: use {allowed} without conversions or format specs.")
    return value


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    value = _get(env, name)
    return Secret(value) if value else None


def _header_token(env: Mapping[str, str], name: str) -> Secret | None:
    """A platform token sent as `Authorization: Bearer …`."""
    token = _secret(env, name)
    if token is not None:
        _check_token_text(name, token)
    return token


def _user_agent(env: Mapping[str, str]) -> str | None:
    """REDDIT_USER_AGENT is a header too: printable ASCII (spaces allowed)."""
    agent = _get(env, "REDDIT_USER_AGENT")
    if agent is not None and not re.fullmatch(r"[ -~]+", agent):
        raise ConfigError(
            "REDDIT_USER_AGENT must be printable ASCII, like 'web:com.acme.care:1.0 (by /u/acme)', "
            f"got {_quoted(agent)}."
        )
    return agent


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (_get(env, name) or "").split(",") if part.strip())


def _seconds(
    env: Mapping[str, str], name: str, default: float, *, minimum: float = 1.0, maximum: float = 86400.0
) -> float:
    """A number of seconds, at most a day: a longer poll or sweep is a typo (and 1e308 would overflow a timer)."""
    text = _get(env, name)
    if text is None:
        return default
    value = float(text) if _DECIMAL.fullmatch(text) else float("nan")
    if not minimum <= value <= maximum:  # also rejects NaN
        raise ConfigError(f"{name} must be a number of seconds from {minimum:g} to {maximum:g}, got {_quoted(text)}.")
    return value


def _duration(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    text = _get(env, name)
    if text is None:
        return default
    try:
        return parse_duration(text)
    except ValueError:  # one sentence for every refusal: the examples show both the forms and the limits
        raise ConfigError(f"{name} must be {DURATION_EXAMPLES}, got {_quoted(text)}.") from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = (_get(env, name) or "false").lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {_quoted(text)}.")


def _timezone(env: Mapping[str, str]) -> ZoneInfo:
    name = _get(env, "CARE_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory like America, a name too long
        raise ConfigError(f"CARE_TIMEZONE must be an IANA time zone like Europe/Berlin, got {_quoted(name)}.") from None


def _clock_setting(env: Mapping[str, str], name: str, default: time) -> time:
    text = _get(env, name)
    if text is None:
        return default
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text)
    if not match:
        raise ConfigError(f"{name} must be a time of day like 09:00, got {_quoted(text)}.")
    return time(int(match.group(1)), int(match.group(2)))


def _user_ids(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    ids = _csv(env, name)
    for user in ids:
        if not _USER_ID.match(user):
            raise ConfigError(f"{name} must be comma-separated Slack user IDs (U…/W…), got {_quoted(user)}.")
    return ids


def _team(env: Mapping[str, str]) -> tuple[str, ...]:
    """CARE_TEAM: who may act on cases. Unset means "the members of CARE_CHANNEL", looked up in Slack."""
    team = _csv(env, "CARE_TEAM")
    for member in team:
        if not _ESCALATION_TARGET.match(member):
            raise ConfigError(
                "CARE_TEAM must be comma-separated Slack user IDs (U…/W…) or user-group IDs (S…), "
                f"got {_quoted(member)}."
            )
    return team


def _retention_days(env: Mapping[str, str]) -> int | None:
    """CARE_RETENTION_DAYS: cases closed longer ago are erased daily; unset keeps them."""
    text = _get(env, "CARE_RETENTION_DAYS")
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) < 1:
        raise ConfigError(f"CARE_RETENTION_DAYS must be a whole number of days from 1 to 99999, got {_quoted(text)}.")
    return int(text)


def _spike_per_min(env: Mapping[str, str]) -> int:
    """CARE_SPIKE_PER_MIN: this many mentions within a minute (or that many case messages waiting) is a surge."""
    text = _get(env, "CARE_SPIKE_PER_MIN")
    if text is None:
        return 30
    if not re.fullmatch(r"[0-9]{1,6}", text) or int(text) < 1:
        raise ConfigError(
            f"CARE_SPIKE_PER_MIN must be a whole number of mentions a minute from 1 to 999999, got {_quoted(text)}."
        )
    return int(text)


def _google_locations(env: Mapping[str, str]) -> tuple[str, ...]:
    """The Business Profile API v4 names locations `accounts/<account>/locations/<location>`."""
    locations = _csv(env, "GOOGLE_LOCATIONS")
    for location in locations:
        if not _GOOGLE_LOCATION.fullmatch(location):
            raise ConfigError(
                "GOOGLE_LOCATIONS must be comma-separated location names like "
                f"accounts/123/locations/456, got {_quoted(location)}."
            )
    return locations


def _sla_policy(env: Mapping[str, str], tz: ZoneInfo) -> SlaPolicy:
    normal = SlaTargets(
        first_response=_duration(env, "CARE_SLA_FIRST_RESPONSE", timedelta(hours=1)),
        next_response=_duration(env, "CARE_SLA_NEXT_RESPONSE", timedelta(hours=2)),
        resolution=_duration(env, "CARE_SLA_RESOLUTION", timedelta(hours=24)),
    )
    # Urgent cases follow the normal targets unless the team sets shorter ones.
    urgent = SlaTargets(
        first_response=_duration(env, "CARE_SLA_URGENT_FIRST_RESPONSE", normal.first_response),
        next_response=_duration(env, "CARE_SLA_URGENT_NEXT_RESPONSE", normal.next_response),
        resolution=_duration(env, "CARE_SLA_URGENT_RESOLUTION", normal.resolution),
    )
    hours_text = _get(env, "CARE_BUSINESS_HOURS")
    try:
        hours = BusinessHours.parse(hours_text, tz)
    except ValueError as exc:
        raise ConfigError(
            f"CARE_BUSINESS_HOURS must look like 'Mon-Fri 09:00-17:30' (ranges separated by commas): {exc}."
        ) from None
    return SlaPolicy(
        normal=normal, urgent=urgent, offline=_duration(env, "CARE_SLA_OFFLINE", timedelta(hours=24)), hours=hours
    )


def _x_settings(env: Mapping[str, str]) -> XSettings:
    """X's settings; the token endpoint defaults to the one beside X_API_URL, so one stand-in serves both."""
    api_url = _http_url(env, "X_API_URL", XSettings.api_url)
    client_id, client_secret = _get(env, "X_CLIENT_ID"), _secret(env, "X_CLIENT_SECRET")
    refresh_token = _secret(env, "X_REFRESH_TOKEN")
    if (refresh_token or client_secret) and not client_id:
        raise ConfigError(
            "X_CLIENT_ID is not set: renewing X's posting token with X_REFRESH_TOKEN needs the OAuth 2.0 "
            "Client ID of the X app that issued it (Keys and tokens in the X developer console)."
        )
    if client_id and not refresh_token:
        raise ConfigError(
            "X_REFRESH_TOKEN is not set: X_CLIENT_ID needs the refresh token from the brand "
            "account's one-time OAuth 2.0 authorization (see docs/connectors/x.md)."
        )
    return XSettings(
        api_url=api_url,
        user_id=_get(env, "X_USER_ID"),
        bearer_token=_header_token(env, "X_BEARER_TOKEN"),
        user_token=_header_token(env, "X_USER_TOKEN"),
        poll_seconds=_seconds(env, "X_POLL_SECONDS", XSettings.poll_seconds),
        contact_route=_get(env, "X_CONTACT_ROUTE") or XSettings.contact_route,
        allow_links=_flag(env, "X_ALLOW_LINKS"),
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        token_url=_http_url(env, "X_TOKEN_URL", api_url.rstrip("/") + "/2/oauth2/token"),
    )


def _google_token_url(env: Mapping[str, str]) -> str:
    """GOOGLE_TOKEN_URL; when only GOOGLE_API_URL is overridden (a proxy or a stand-in), the token
    endpoint is looked for beside it, so a bot pointed away from Google never calls Google's own."""
    api_url = _get(env, "GOOGLE_API_URL")
    default = api_url.rstrip("/") + "/token" if api_url else GoogleSettings.token_url
    return _http_url(env, "GOOGLE_TOKEN_URL", default)


def platform_settings(env: Mapping[str, str]) -> PlatformSettings:
    """Only the platform settings: `care-bot connectors` works before Slack is set up."""
    reddit_user = _get(env, "REDDIT_USERNAME")
    return PlatformSettings(
        x=_x_settings(env),
        meta=MetaSettings(
            graph_url=_http_url(env, "META_GRAPH_URL", MetaSettings.graph_url),
            app_secret=_secret(env, "META_APP_SECRET"),
            verify_token=_secret(env, "META_VERIFY_TOKEN"),
            page_id=_get(env, "META_PAGE_ID"),
            page_token=_header_token(env, "META_PAGE_TOKEN"),
            ig_account_id=_get(env, "META_IG_ACCOUNT_ID"),
            hide_after_move=_flag(env, "META_HIDE_AFTER_MOVE"),
        ),
        reddit=RedditSettings(
            api_url=_http_url(env, "REDDIT_API_URL", RedditSettings.api_url),
            auth_url=_http_url(env, "REDDIT_AUTH_URL", RedditSettings.auth_url),
            client_id=_get(env, "REDDIT_CLIENT_ID"),
            client_secret=_secret(env, "REDDIT_CLIENT_SECRET"),
            username=reddit_user,
            password=_secret(env, "REDDIT_PASSWORD"),
            subreddits=tuple(sub.removeprefix("r/") for sub in _csv(env, "REDDIT_SUBREDDITS")),
            keywords=_csv(env, "REDDIT_KEYWORDS"),
            user_agent=_user_agent(env),
            poll_seconds=_seconds(env, "REDDIT_POLL_SECONDS", RedditSettings.poll_seconds),
        ),
        google=GoogleSettings(
            api_url=_http_url(env, "GOOGLE_API_URL", GoogleSettings.api_url),
            token_url=_google_token_url(env),
            client_id=_get(env, "GOOGLE_CLIENT_ID"),
            client_secret=_secret(env, "GOOGLE_CLIENT_SECRET"),
            refresh_token=_secret(env, "GOOGLE_REFRESH_TOKEN"),
            access_token=_header_token(env, "GOOGLE_ACCESS_TOKEN"),
            locations=_google_locations(env),
            poll_seconds=_seconds(env, "GOOGLE_POLL_SECONDS", GoogleSettings.poll_seconds),
        ),
    )


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _clock_offset(env: Mapping[str, str], slack_api_url: str) -> timedelta | None:
    """CARE_TEST_CLOCK_OFFSET: seconds added to the wall clock, so a test can run the real server at 08:59
    or across a daylight-saving change. It can never shift a real desk's clock: it is refused unless
    SLACK_API_URL is a Slack stand-in on this machine."""
    text = _get(env, "CARE_TEST_CLOCK_OFFSET")
    if text is None:
        return None
    if urlparse(slack_api_url).hostname not in _LOOPBACK_HOSTS:
        raise ConfigError(
            "CARE_TEST_CLOCK_OFFSET shifts the app's clock for tests and is refused unless "
            "SLACK_API_URL is a Slack stand-in on 127.0.0.1: unset it."
        )
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not abs(seconds) < 100 * 365 * 86400:  # also rejects NaN and infinities
        raise ConfigError(f"CARE_TEST_CLOCK_OFFSET must be a number of seconds, got {_quoted(text)}.")
    return timedelta(seconds=seconds)


def triage_paths(env: Mapping[str, str]) -> tuple[Path | None, Path | None]:
    """CARE_TRIAGE_FILE and CARE_TRIAGE_MODEL as paths; the files themselves are read (and refused in one
    sentence) by `bot.services.triage_policy.configured` when the app or `care-bot triage` starts."""
    found = (_get(env, "CARE_TRIAGE_FILE"), _get(env, "CARE_TRIAGE_MODEL"))
    return (Path(found[0]) if found[0] else None, Path(found[1]) if found[1] else None)


def _playbook_file(env: Mapping[str, str]) -> Path | None:
    """CARE_PLAYBOOK_FILE as a path; the file is read (and refused in one sentence) by
    `bot.services.playbook.configured` when `care-bot serve` starts."""
    found = _get(env, "CARE_PLAYBOOK_FILE")
    return Path(found) if found else None


def _wins_channel(env: Mapping[str, str]) -> str | None:
    """CARE_WINS_CHANNEL: the channel "Share win" posts praise to (unset: the button is not offered)."""
    channel = _get(env, "CARE_WINS_CHANNEL")
    if channel is not None and not _CHANNEL_ID.match(channel):
        raise ConfigError(
            f"CARE_WINS_CHANNEL must be a channel ID like C0123456789 (not a name), got {_quoted(channel)}."
        )
    return channel


def _check_token_text(name: str, token: str) -> None:
    """A token goes into an Authorization header: a space or a non-ASCII letter would fail every call. The
    sentence never echoes the value, which may be a real token."""
    if not _TOKEN_TEXT.fullmatch(token):
        raise ConfigError(f"{name} must be a token of visible ASCII characters, without spaces or accents.")


def _host(env: Mapping[str, str]) -> str:
    """HOST: the address `serve` binds (0.0.0.0: every IPv4 interface; :: for IPv6 too; 127.0.0.1: this
    machine only). Whether this machine has that address is found out when `serve` binds it."""
    host = _get(env, "HOST") or Settings.host
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    if len(host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit():
        return host
    raise ConfigError(
        f"HOST must be an IP address like 0.0.0.0 or 127.0.0.1, or a host name like localhost, got {_quoted(host)}."
    )


def load_settings(environ: Mapping[str, str] | None = None, *, env_file: Path | None = None) -> Settings:
    env = read_environment(environ, env_file)

    bot_token = _require(env, "SLACK_BOT_TOKEN", "the bot token of the Slack app (xoxb-…)")
    if not bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")
    _check_token_text("SLACK_BOT_TOKEN", bot_token)

    app_token = _get(env, "SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (or be unset).")
    if app_token is not None:
        _check_token_text("SLACK_APP_TOKEN", app_token)

    signing_secret = _get(env, "SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: expected the app's signing secret "
            "(Basic Information → App Credentials), needed unless SLACK_APP_TOKEN enables Socket Mode."
        )

    channel = _require(env, "CARE_CHANNEL", "the ID of the care channel, like C0123456789")
    if not _CHANNEL_ID.match(channel):
        raise ConfigError(f"CARE_CHANNEL must be a channel ID like C0123456789 (not a name), got {_quoted(channel)}.")

    escalate = tuple(part.strip() for part in (_get(env, "CARE_ESCALATE_TO") or "").split(",") if part.strip())
    for target in escalate:
        if not _ESCALATION_TARGET.match(target):
            raise ConfigError(
                "CARE_ESCALATE_TO must be comma-separated Slack user IDs (U…/W…) or user-group IDs (S…), "
                f"got {_quoted(target)}."
            )

    port_text = _get(env, "PORT") or "3000"
    if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a port number between 1 and 65535, got {_quoted(port_text)}.")

    database_url = read_database_url(env)

    webhook_secret = _get(env, "CARE_WEBHOOK_SECRET")
    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got {_quoted(log_level)}.")

    log_format = (_get(env, "LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {_quoted(log_format)}.")

    timezone = _timezone(env)
    slack_api_url = _slack_api_url(env)
    return Settings(
        slack_bot_token=Secret(bot_token),
        slack_signing_secret=Secret(signing_secret or ""),
        slack_app_token=Secret(app_token) if app_token else None,
        slack_api_url=slack_api_url,
        care_channel=channel,
        care_escalate_to=escalate,
        database_url=database_url,
        host=_host(env),
        port=int(port_text),
        care_webhook_secret=Secret(webhook_secret) if webhook_secret else None,
        care_generic_reply_url=_http_url(env, "CARE_GENERIC_REPLY_URL", None),
        move_to_dm_template=_template(env, "CARE_MOVE_TO_DM_TEMPLATE", DEFAULT_MOVE_TO_DM_TEMPLATE),
        private_template=_template(env, "CARE_PRIVATE_TEMPLATE", DEFAULT_PRIVATE_TEMPLATE),
        contact_route=_get(env, "CARE_CONTACT_ROUTE") or DEFAULT_CONTACT_ROUTE,
        closing_template=_template(env, "CARE_CLOSING_TEMPLATE", DEFAULT_CLOSING_TEMPLATE, CLOSING_TEMPLATE_FIELDS),
        log_level=log_level,
        log_format=log_format,
        sla=_sla_policy(env, timezone),
        sweep_seconds=_seconds(env, "CARE_SWEEP_SECONDS", 30.0),
        timezone=timezone,
        managers=_user_ids(env, "CARE_MANAGERS"),
        care_team=_team(env),
        retention_days=_retention_days(env),
        digest_time=_clock_setting(env, "CARE_DIGEST_TIME", time(9, 0)),
        spike_per_min=_spike_per_min(env),
        platforms=platform_settings(env),
        clock_offset=_clock_offset(env, slack_api_url),
        **dict(zip(("triage_file", "triage_model"), triage_paths(env), strict=True)),
        wins_channel=_wins_channel(env),
        playbook_file=_playbook_file(env),
        ready_slack_failing=_duration(env, "CARE_READY_SLACK_FAILING", Settings.ready_slack_failing),
        ready_queue_age=_duration(env, "CARE_READY_QUEUE_AGE", Settings.ready_queue_age),
    )
