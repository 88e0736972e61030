"""Reading an OAuth 2.0 token answer (RFC 6749 §5.1): the access token, and when to renew it.

X and Google both renew a user's access token with a refresh token and cache it until shortly before
it expires; how they ask differs, how they read the answer does not.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.errors import TransientError
from connectors.transport import json_body


def read_grant(
    response: httpx.Response, *, platform: str, now: datetime, default_lifetime: timedelta, margin: timedelta
) -> tuple[dict[str, Any], str, datetime]:
    """The answer's body, its access token, and when to renew it: `margin` before `expires_in` runs out
    (never earlier than half-way), counting `default_lifetime` when the answer does not say."""
    body = json_body(response, platform=platform)
    access = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(access, str) or not access:
        raise TransientError(f"{platform} answered without an access token")
    try:
        lifetime = timedelta(seconds=float(body.get("expires_in")))
    except (TypeError, ValueError):
        lifetime = default_lifetime
    return body, access, now + max(lifetime - margin, lifetime / 2)
