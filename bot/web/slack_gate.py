"""The door of `POST /slack/events`: Slack's signature on the raw bytes first, then the shape Bolt will index.

Bolt parses a request's body (and reads the user and channel out of it) when it builds its request
object, before its own signature check runs, so a body nobody signed could crash it (a 500 and a
traceback) or steer the error handler to any user. Here nothing is parsed until the v0 signature and
a fresh timestamp are proven; then the body is parsed exactly as Bolt will parse it and refused (400)
unless every field Bolt and our listeners index has the type they expect. Bolt still verifies the
signature again: two checks of the same rule, so no request depends on either alone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.request.internals import parse_body
from starlette.datastructures import Headers

from bot.clock import Clock, SystemClock

MAX_BODY_BYTES = 1024 * 1024  # a large modal submission is tens of KiB; Slack documents no maximum
TOLERANCE_SECONDS = 5 * 60  # Slack's replay window, the same as Bolt's SignatureVerifier
_TIMESTAMP_DIGITS = 12  # a Unix time in seconds has 10 digits until the year 2286


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away: the HTTP status and one sentence for the caller (never the body)."""

    status: int
    message: str


# Slack signs with its wall clock and Bolt checks against the wall clock, so we do too: the app's own
# clock may be shifted (CARE_TEST_CLOCK_OFFSET) or manual in tests, and would refuse every real request
WALL_CLOCK: Clock = SystemClock()

TOO_LARGE = Refusal(413, f"body is larger than {MAX_BODY_BYTES // 1024} KiB")


def admit(secret: str, headers: Headers, body: bytes, *, now: datetime) -> Refusal | None:
    """None when the request is signed by Slack, fresh and shaped as Bolt expects; else why not."""
    return verify(secret, headers, body, now=now) or check_shape(headers, body)


def verify(secret: str, headers: Headers, body: bytes, *, now: datetime) -> Refusal | None:
    """Slack's v0 scheme: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}`, within five minutes of `now`.

    A header given twice is refused: we read one copy and Bolt would read another.
    """
    timestamps = headers.getlist("x-slack-request-timestamp")
    signatures = headers.getlist("x-slack-signature")
    if len(timestamps) != 1 or len(signatures) != 1 or not secret:
        return Refusal(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
    timestamp, signature = timestamps[0], signatures[0]
    # isascii: str.isdigit also says yes to other scripts' digits and to superscripts, which int() refuses
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _TIMESTAMP_DIGITS):
        return Refusal(401, "X-Slack-Request-Timestamp is not a Unix time in seconds")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        return Refusal(401, "X-Slack-Request-Timestamp is more than five minutes from now")
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = b"v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest().encode("ascii")
    # Starlette decodes header bytes as latin-1, so this encoding gives back exactly what was sent
    if not hmac.compare_digest(expected, signature.encode("latin-1")):
        return Refusal(401, "invalid X-Slack-Signature")
    return None


def check_shape(headers: Headers, body: bytes) -> Refusal | None:
    """Parse the (verified) body as Bolt will and check the fields it and our listeners index."""
    try:
        text = body.decode("utf-8")
        # Bolt's own parser, fed the content type Bolt derives (the last header's value, before any `;`)
        content_types = headers.getlist("content-type")
        content_type = content_types[-1].split(";")[0] if content_types else None
        payload: object = parse_body(text, content_type)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        return _bad("the body is neither UTF-8 JSON nor a form Slack sends")
    except RecursionError:  # JSON nested thousands deep; Slack's are a few levels
        return _bad("the body is JSON nested too deeply to read")
    if not isinstance(payload, dict):
        return _bad("the body (or its payload field) is not a JSON object")
    problem = _problem(payload)
    return _bad(problem) if problem else None


def _bad(message: str) -> Refusal:
    return Refusal(400, message)


# Bolt's context extractors read these from the top level (and from `event`) of any request
_OBJECT_FIELDS = ("user", "channel", "container", "view", "message", "event", "item", "previous_message")
_OBJECT_OR_STRING_FIELDS = ("team", "enterprise")
_LIST_OF_OBJECTS_FIELDS = ("authorizations", "response_urls", "actions")
_COMMAND_FIELDS = ("command", "text", "user_id", "channel_id", "team_id", "response_url", "trigger_id")


def _problem(payload: dict[str, Any]) -> str | None:
    if not payload:
        return "the body names no Slack request"
    if "command" in payload:  # Bolt routes any body with this key to the slash-command listeners
        missing = [field for field in _COMMAND_FIELDS if not isinstance(payload.get(field), str)]
        return f"a slash command needs the text fields {', '.join(missing)}" if missing else None
    if payload.get("ssl_check") == "1":
        return None
    kind = payload.get("type")
    if not isinstance(kind, str):
        return "the request has no string type"
    return _envelope_problem(payload) or _type_problem(kind, payload)


def _envelope_problem(payload: dict[str, Any]) -> str | None:
    for name in _OBJECT_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], dict):
            return f"{name} must be an object"
    for name in _OBJECT_OR_STRING_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], dict | str):
            return f"{name} must be an object or a string"
    for name in _LIST_OF_OBJECTS_FIELDS:
        value = payload.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{name} must be a list of objects"
    for name in ("user", "channel", "team"):
        value = payload.get(name)
        if isinstance(value, dict) and "id" in value and not isinstance(value["id"], str):
            return f"{name}.id must be a string"
    for name in ("response_url", "trigger_id", "user_id", "channel_id", "team_id"):
        if name in payload and not isinstance(payload[name], str):
            return f"{name} must be a string"
    return None


def _type_problem(kind: str, payload: dict[str, Any]) -> str | None:
    if kind == "url_verification":
        return None if isinstance(payload.get("challenge"), str) else "url_verification needs a string challenge"
    if kind == "event_callback":
        return _event_problem(payload.get("event"))
    actor = _get(payload, "user", "id")
    if kind in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action") and not isinstance(
        actor, str
    ):
        return f"{kind} needs user.id"
    if kind == "block_actions":
        actions = payload.get("actions")
        if not actions or not all(isinstance(a.get("action_id"), str) for a in actions):
            return "block_actions needs actions, each with a string action_id"
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not (isinstance(view, dict) and all(isinstance(view.get(k), str) for k in ("callback_id", "type"))):
            return f"{kind} needs a view with a string callback_id and type"
        state = view.get("state")
        if state is not None and not (isinstance(state, dict) and isinstance(state.get("values", {}), dict)):
            return "view.state.values must be an object"
    return None


def _event_problem(event: object) -> str | None:
    if not (isinstance(event, dict) and isinstance(event.get("type"), str)):
        return "event_callback needs an event object with a string type"
    for name in ("user", "channel"):  # a string ID in events; Bolt and our listeners read both
        if event.get(name) is not None and not isinstance(event[name], str | dict):
            return f"event.{name} must be a string or an object"
    if event["type"] == "app_home_opened" and not isinstance(event.get("user"), str):
        return "app_home_opened needs a string event.user"
    return None


def _get(payload: Mapping[str, Any], *path: str) -> object:
    value: object = payload
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value
