"""One way to call a platform API: httpx with timeouts, and every failure mapped onto our error tree.

Why one helper: the workers decide by the *kind* of failure (retry, wait, tell the team), so every
connector must classify the same way: network errors and 5xx are transient, 429 waits for as long as
the platform says, 401/403 are credentials, any other 4xx is a refusal carrying the platform's own words.
Each platform reads its own rate-limit headers, so the connector passes `wait_seconds`; a platform whose
error bodies say more than the status (Meta throttles with HTTP 400 and an error code) passes `classify`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from bot.errors import AuthError, ConnectorError, PermanentError, RateLimited, TransientError

logger = logging.getLogger(__name__)

DEFAULT_RATE_LIMIT_WAIT = 60.0


def retry_after_header(response: httpx.Response) -> float | None:
    """The standard `Retry-After: <seconds>` header, if present."""
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def platform_error(response: httpx.Response) -> str:
    """The platform's own error message, from the JSON shapes the platforms use; else the status line."""
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):  # Meta and Google: {"error": {"message": ..., "code": ...}}
            message = error.get("message") or error.get("status")
            if message:
                return str(message)
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):  # X: {"errors": [{"message"}]}
            message = errors[0].get("message") or errors[0].get("detail")
            if message:
                return str(message)
        if isinstance(error, str) and error and isinstance(data.get("error_description"), str):
            return f"{error}: {data['error_description']}"  # OAuth (RFC 6749): the code says more than the prose
        for key in ("detail", "message", "error_description", "title"):
            if isinstance(data.get(key), str) and data[key]:
                return str(data[key])
        if isinstance(error, str) and error:  # Reddit and OAuth: {"error": "invalid_grant"}
            return error
        json_errors = (data.get("json") or {}).get("errors") if isinstance(data.get("json"), dict) else None
        if json_errors:  # Reddit api_type=json: {"json": {"errors": [["CODE", "message", "field"]]}}
            first = json_errors[0]
            return " ".join(str(part) for part in first[:2]) if isinstance(first, list) else str(first)
    return f"HTTP {response.status_code} {response.reason_phrase}".strip()


def call(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    platform: str,
    wait_seconds: Callable[[httpx.Response], float | None] = retry_after_header,
    classify: Callable[[httpx.Response], ConnectorError | None] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Make the request; return a 2xx response or raise TransientError/RateLimited/AuthError/PermanentError."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{platform} did not answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise TransientError(f"{platform} could not be reached ({type(exc).__name__})") from exc
    status = response.status_code
    if 200 <= status < 300:
        return response
    refined = classify(response) if classify is not None else None
    if refined is not None:
        raise refined
    message = platform_error(response)
    if status == 429:
        wait = wait_seconds(response)
        wait = DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        raise RateLimited(f"{platform} is rate limiting us ({message}); waiting {wait:.0f}s", retry_after=wait)
    if status >= 500:
        raise TransientError(f"{platform} answered HTTP {status} ({message})")
    if status in (401, 403):
        raise AuthError(f"{platform} refused our credentials (HTTP {status}: {message})")
    raise PermanentError(f"{platform} refused it (HTTP {status}: {message})")


def json_body(response: httpx.Response, *, platform: str) -> Any:
    """The JSON of a 2xx answer; a body that is not JSON is a platform fault, retried like a 5xx."""
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError(f"{platform} sent a response that is not JSON") from exc
