"""Is this process fit to take traffic? `/readyz` (bot/web/operations.py) answers with `assess`'s verdict.

Not ready (503) when the database cannot be reached, when Slack has been failing for longer than
CARE_READY_SLACK_FAILING, or when the oldest Slack delivery has waited longer than CARE_READY_QUEUE_AGE: in each
case complaints are accepted but nobody sees them, which is what an operator's alert must catch. Each
connector's state is reported too, but a platform refusing our credentials does not make the desk unready:
the other platforms and the desk's own work go on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.observe.slack_calls import SlackHealth


@dataclass(frozen=True)
class ConnectorState:
    name: str
    how: str  # "polling" or "webhook"
    last_success: datetime | None = None
    error_kind: str | None = None  # rate_limited, refused, failed (None: the last poll worked)
    error: str | None = None
    next_try: datetime | None = None

    def describe(self) -> dict[str, Any]:
        state = {
            None: "ok",
            "refused": "credentials refused",
            "rate_limited": "rate-limited",
            "failed": "failing",
        }.get(self.error_kind, "failing")
        if self.how == "polling" and self.error_kind is None and self.last_success is None:
            state = "not polled yet"
        body: dict[str, Any] = {"state": state, "how": self.how}
        if self.error_kind == "rate_limited" and self.next_try is not None:
            body["until"] = _iso(self.next_try)
        if self.last_success is not None:
            body["last_success"] = _iso(self.last_success)
        if self.error:
            body["last_error"] = self.error[:300]
        if self.error_kind is not None and self.next_try is not None:
            body["next_try"] = _iso(self.next_try)
        return body


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def assess(
    *,
    now: datetime,
    database_ok: bool,
    slack: SlackHealth | None,
    oldest_slack_item: datetime | None,
    pending: Mapping[str, int],
    connectors: list[ConnectorState],
    slack_failing_limit: timedelta,
    queue_age_limit: timedelta,
) -> tuple[bool, dict[str, Any]]:
    """(ready?, the JSON body): every reason it is not ready, and what an operator needs to see either way."""
    reasons: list[str] = []
    body: dict[str, Any] = {"database": "ok" if database_ok else "unreachable"}
    if not database_ok:
        reasons.append("the database is unreachable")
    if slack is not None:
        body["slack"] = {
            "state": "failing" if slack.failing_since is not None else "ok",
            "last_success": _iso(slack.last_success) if slack.last_success else None,
            "last_error": slack.last_error,
            "last_error_at": _iso(slack.last_error_at) if slack.last_error_at else None,
        }
        if slack.failing_since is not None and now - slack.failing_since >= slack_failing_limit:
            minutes = int((now - slack.failing_since).total_seconds() // 60)
            reasons.append(f"Slack has been failing for {minutes} min ({slack.last_error})")
    if database_ok:
        age = (now - oldest_slack_item) if oldest_slack_item is not None else None
        body["outbox"] = {
            "pending": dict(pending),
            "oldest_slack_item_seconds": round(age.total_seconds()) if age is not None else None,
        }
        if age is not None and age >= queue_age_limit:
            reasons.append(f"the oldest Slack delivery has waited {int(age.total_seconds() // 60)} min")
    body["connectors"] = {state.name: state.describe() for state in connectors}
    ready = not reasons
    return ready, {"ready": ready, **({"reasons": reasons} if reasons else {}), **body}
