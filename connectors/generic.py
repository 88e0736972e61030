"""The generic webhook: any system that can sign a small JSON body can feed complaints in.

Inbound:  POST /webhooks/generic, `X-Care-Signature: sha256=<hex HMAC of the raw body>`. An optional
          `"visibility": "private"` says the post is a private message the customer sent the brand (a DM).
Outbound: replies are POSTed as signed JSON to CARE_GENERIC_REPLY_URL; any non-2xx is a failed send. A reply's
          `visibility` says whether it is to be posted publicly or sent to the customer privately.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx

from bot.errors import BadPayload, PermanentError, RateLimited, TransientError
from connectors import signing
from connectors.base import DM_CONTEXT, Author, InboundMention, LengthRule, Outbound, SendResult, rule_for

logger = logging.getLogger(__name__)

NAME = "generic"
MAX_BODY_BYTES = 64 * 1024
SIGNATURE_HEADER = "x-care-signature"
VISIBILITIES = ("public", "private")
_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
# Characters that are never part of a URL as sent; `<`, `>` and `|` would also break Slack's link markup.
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>|]")


def _string(obj: dict[str, Any], key: str, path: str, *, required: bool = True, max_len: int = 256) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise BadPayload(f"field '{path}' is required", field=path)
        return None
    if not isinstance(value, str):
        raise BadPayload(f"field '{path}' must be a string", field=path)
    if required and not value.strip():
        raise BadPayload(f"field '{path}' must not be empty", field=path)
    if len(value) > max_len:
        raise BadPayload(f"field '{path}' is longer than {max_len} characters", field=path)
    if "\x00" in value:  # PostgreSQL cannot store NUL in text
        raise BadPayload(f"field '{path}' must not contain NUL characters", field=path)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape like "\ud800" cannot be stored
        raise BadPayload(f"field '{path}' is not valid Unicode text", field=path) from None
    return value


def _timestamp(value: str, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(
            f"field '{path}' must be an ISO 8601 timestamp like 2026-11-22T10:00:00Z", field=path
        ) from None
    if parsed.tzinfo is None:
        raise BadPayload(f"field '{path}' must include a time zone (e.g. a trailing Z)", field=path)
    try:
        parsed.astimezone(UTC)  # it is stored in UTC; year 1 at +01:00 has no UTC equivalent
    except OverflowError:
        raise BadPayload(f"field '{path}' is out of range", field=path) from None
    return parsed


def _http_url(value: str, path: str) -> str:
    try:
        parsed = urlparse(value)
        ok = parsed.scheme.lower() in ("http", "https") and bool(parsed.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        ok = False
    if not ok or _URL_FORBIDDEN.search(value):
        raise BadPayload(f"field '{path}' must be an http(s) URL", field=path)
    return value


def parse(body: bytes) -> InboundMention:
    """Validate a webhook body into a mention; BadPayload says which field is wrong and with which status."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadPayload("body is not valid JSON", status=400) from None
    except RecursionError:
        raise BadPayload("body is not valid JSON we can read (nested too deeply)", status=400) from None
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object", field="$")

    platform = _string(data, "platform", "platform", max_len=32) or ""
    if not _PLATFORM.fullmatch(platform.lower()):
        raise BadPayload("field 'platform' must be a short platform name like 'twitter'", field="platform")
    external_id = _string(data, "id", "id") or ""
    author = data.get("author")
    if author is None:
        raise BadPayload("field 'author' is required", field="author")
    if not isinstance(author, dict):
        raise BadPayload("field 'author' must be an object", field="author")
    author_id = _string(author, "id", "author.id", max_len=128) or ""
    handle = _string(author, "handle", "author.handle", max_len=128) or ""
    if not handle.lstrip("@").strip():
        raise BadPayload("field 'author.handle' must not be empty", field="author.handle")
    name = _string(author, "name", "author.name", required=False)
    text = _string(data, "text", "text", max_len=40_000) or ""
    url = _string(data, "url", "url", required=False, max_len=2048)
    if url is not None:
        url = _http_url(url, "url")
    created = _timestamp(_string(data, "created_at", "created_at", max_len=64) or "", "created_at")
    visibility = data.get("visibility", "public")
    if visibility not in VISIBILITIES:
        raise BadPayload('field \'visibility\' must be "public" or "private"', field="visibility")
    return InboundMention(
        platform=platform.lower(),
        external_id=external_id,
        author=Author(id=author_id, handle=handle.lstrip("@"), name=(name or "").strip() or None),
        text=text,
        url=url,
        posted_at=created,
        private=visibility == "private",
        extra={DM_CONTEXT: True} if visibility == "private" else {},
    )


class GenericConnector:
    """Sends replies to the operator's own endpoint, which relays them to the platform."""

    name = NAME

    def __init__(self, *, secret: str | None, reply_url: str | None, client: httpx.Client) -> None:
        self._secret = secret or ""
        self._reply_url = reply_url
        self._client = client

    def verify(self, body: bytes, signature: str | None) -> bool:
        return signing.verify(self._secret, body, signature)

    def length_rule(self, platform: str, private: bool = False) -> LengthRule:
        return rule_for(platform, private)

    def can_message_privately(self, platform: str) -> bool:
        return self._reply_url is not None

    def send(self, message: Outbound) -> SendResult:
        if not self._reply_url:
            raise PermanentError("CARE_GENERIC_REPLY_URL is not set, so replies to these cases have nowhere to go")
        body = json.dumps(
            {
                "in_reply_to": message.in_reply_to,
                "platform": message.platform,
                "text": message.text,
                "visibility": message.visibility,
            }
        ).encode()
        headers = {"content-type": "application/json", "x-care-signature": signing.sign(self._secret, body)}
        if message.idempotency_key:
            headers["x-care-delivery"] = message.idempotency_key
        try:
            response = self._client.post(self._reply_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"the reply endpoint could not be reached ({type(exc).__name__})") from exc
        if response.status_code == 429:
            retry_after = _retry_after(response)
            raise RateLimited(
                f"the reply endpoint is rate limiting (HTTP 429, retry in {retry_after:.0f}s)", retry_after=retry_after
            )
        if response.status_code >= 500:
            raise TransientError(f"the reply endpoint answered HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise PermanentError(f"the reply endpoint refused it with HTTP {response.status_code}")
        external_id = None
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                external_id = str(response.json().get("id")) if response.json().get("id") else None
            except (ValueError, AttributeError):
                external_id = None
        return SendResult(external_id=external_id)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0
