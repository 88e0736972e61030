"""The app's Prometheus metrics, in one place so the README's list and the code cannot drift apart.

Counters and histograms count what *this process* did (sum them across replicas); the queue and connector
figures are read from the database when `/metrics` is scraped (bot/web/operations.py), so every replica
reports the same, correct value (take the max across replicas, not the sum).

Domain events are counted from the database's committed-event hook (`bot.db.note`), so a rolled-back or
retried unit of work is never counted twice.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from bot import db
from bot.models import CaseStatus

# Slack waits 3 s for an acknowledgement: the buckets resolve the range that matters around it.
_ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
_API_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WEBHOOKS = Counter(
    "care_webhooks_received_total",
    "Webhook requests received, by route and the HTTP status answered.",
    ["route", "status"],
)
SIGNATURE_REFUSALS = Counter(
    "care_signature_refusals_total", "Requests refused for a missing or invalid signature, by route.", ["route"]
)
MENTIONS = Counter("care_mentions_ingested_total", "Posts stored (duplicates excluded), by platform.", ["platform"])
CASES_OPENED = Counter("care_cases_opened_total", "Cases opened, by platform.", ["platform"])
CASES_CLOSED = Counter("care_cases_closed_total", "Cases closed, by outcome (resolved or ignored).", ["outcome"])
STAFF_ACTIONS = Counter(
    "care_staff_actions_total", "Steps teammates took on cases, by kind (claimed, send, resolved, ...).", ["kind"]
)
SLACK_REQUESTS = Counter(
    "care_slack_requests_total",
    "Requests from Slack handled, by type (block_actions, view_submission, command ...).",
    ["type"],
)
ACK_SECONDS = Histogram(
    "care_slack_ack_seconds", "Time from a Slack request's arrival to its acknowledgement.", buckets=_ACK_BUCKETS
)
DELIVERIES = Counter(
    "care_deliveries_total",
    "Outbox items handled, by kind and outcome (delivered, retry, held_back, outage, gave_up, send_failed).",
    ["kind", "outcome"],
)
SLACK_API_SECONDS = Histogram(
    "care_slack_api_seconds", "Slack Web API call latency, by method.", ["method"], buckets=_API_BUCKETS
)
SLACK_API_ERRORS = Counter(
    "care_slack_api_errors_total",
    "Slack Web API calls that failed, by method, HTTP status (0: unreachable) and Slack's error code.",
    ["method", "status", "error"],
)
PLATFORM_API_SECONDS = Histogram(
    "care_platform_api_seconds",
    "Platform API call latency, by connector and HTTP method.",
    ["connector", "method"],
    buckets=_API_BUCKETS,
)
PLATFORM_API_ERRORS = Counter(
    "care_platform_api_errors_total",
    "Platform API calls that failed, by connector, HTTP method and status (0: unreachable; 429 rate limited).",
    ["connector", "method", "status"],
)
POLLS = Counter(
    "care_polls_total",
    "Polls of a platform, by connector and outcome (ok, rate_limited, failed, refused).",
    ["connector", "outcome"],
)
REMINDERS = Counter("care_reminders_sent_total", "SLA reminders queued, by clock and stage.", ["clock", "stage"])


def _count_committed(event: str, fields: dict[str, Any]) -> None:
    if event == "mention_ingested":
        MENTIONS.labels(fields["platform"]).inc()
    elif event == "case_opened":
        CASES_OPENED.labels(fields["platform"]).inc()
    elif event == "case_event":
        kind, actor = str(fields["kind"]), str(fields.get("actor") or "")
        if actor[:1] in ("U", "W"):  # a teammate's step, not the app's own (reminders, edits)
            STAFF_ACTIONS.labels(kind).inc()
        if kind in CaseStatus.CLOSED:  # a case's closing step is named after its new status
            CASES_CLOSED.labels(kind).inc()


db.on_committed(_count_committed)
