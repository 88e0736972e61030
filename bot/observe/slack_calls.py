"""Every Slack Web API call timed and counted, and Slack's health as this process last saw it.

A `WebClient` whose `api_call` (the one door every method goes through: the outbox's posts and updates, the
listeners' modals, users.info) records its latency and any error, 429s included, and keeps `health`: when Slack
last answered, when it last failed and since when it has been failing. `/readyz` reads that health.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from bot.observe import metrics


@dataclass
class SlackHealth:
    """Slack as seen from here. `failing_since` is set by the first failure of Slack itself (unreachable or a
    5xx) after a success, and cleared by the next success; a refusal of one request (a 4xx) is Slack working."""

    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def succeeded(self, now: datetime) -> None:
        with self._lock:
            self.last_success, self.failing_since = now, None

    def failed(self, now: datetime, error: str) -> None:
        with self._lock:
            self.last_error, self.last_error_at = error, now
            if self.failing_since is None:
                self.failing_since = now


class MeasuredWebClient(WebClient):
    """slack_sdk's WebClient, measured. `now` is the app's clock, so a test's clock decides what "failing for
    five minutes" means."""

    def __init__(self, *args: Any, now: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.health = SlackHealth()
        self._now = now or (lambda: datetime.now(UTC))

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        started = time.perf_counter()
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            metrics.SLACK_API_ERRORS.labels(
                api_method, str(status), error or ("ratelimited" if status == 429 else "")
            ).inc()
            if status >= 500:
                self.health.failed(self._now(), f"HTTP {status} from {api_method}")
            else:
                self.health.succeeded(self._now())
            raise
        except (OSError, TimeoutError) as exc:
            metrics.SLACK_API_ERRORS.labels(api_method, "0", type(exc).__name__).inc()
            self.health.failed(self._now(), f"{api_method}: Slack unreachable ({type(exc).__name__})")
            raise
        finally:
            metrics.SLACK_API_SECONDS.labels(api_method).observe(time.perf_counter() - started)
        self.health.succeeded(self._now())
        return response
