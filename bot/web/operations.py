"""The operator's routes: `/healthz` (alive), `/readyz` (fit to take traffic) and `/metrics` (Prometheus).

`/healthz` stays cheap (the process answers and the database does) for a container's HEALTHCHECK and a
liveness probe; `/readyz` is what a load balancer or an alert asks (bot/observe/readiness.py says when it is
503). The queue and connector figures of `/metrics` are read from the database at each scrape, so every
replica reports the same true values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import anyio
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.db import ping
from bot.models import PollCursor
from bot.observe.readiness import ConnectorState, assess
from bot.runtime import Runtime
from bot.services import outbox, polls
from connectors.registry import SPECS

logger = logging.getLogger(__name__)

# The text format every Prometheus server reads (2.x and 3.x); what generate_latest writes for our names
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class DeskFigures:
    """What the database says about the queues and the pollers, read in one snapshot."""

    queues: dict[str, outbox.LaneQueue]
    connectors: list[ConnectorState]


def read_figures(rt: Runtime) -> DeskFigures:
    ping(rt.engine)
    with rt.read() as session:  # the rows are read inside the snapshot: it expires them when it ends
        queues = outbox.queues(session)
        cursors = polls.status(session)
        states = [
            _connector_state(spec.name, spec.how, cursors.get(spec.name))
            for spec in SPECS
            if spec.name in rt.connectors
        ]
    return DeskFigures(queues, states)


def _connector_state(name: str, how: str, row: PollCursor | None) -> ConnectorState:
    if row is None:  # a webhook connector, or a poller that has not polled yet
        return ConnectorState(name=name, how=how)
    failing = row.last_error is not None
    return ConnectorState(
        name=name,
        how=how,
        last_success=row.last_success_at,
        error_kind=(row.last_error_kind or "failed") if failing else None,
        error=row.last_error,
        next_try=row.next_poll_at if failing else None,
    )


class _DeskCollector:
    """The per-scrape gauges (queues, connectors, Slack as this process sees it)."""

    def __init__(self, rt: Runtime, figures: DeskFigures, now: datetime) -> None:
        self._rt, self._figures, self._now = rt, figures, now

    def collect(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily("care_outbox_pending", "Outbox items waiting, by lane.", labels=["lane"])
        oldest = GaugeMetricFamily(
            "care_outbox_oldest_pending_seconds",
            "How long the oldest waiting item has waited, by lane.",
            labels=["lane"],
        )
        for lane, queue in sorted(self._figures.queues.items()):
            pending.add_metric([lane], queue.pending)
            waited = (self._now - queue.oldest_since).total_seconds() if queue.oldest_since else 0.0
            oldest.add_metric([lane], max(0.0, waited))
        yield pending
        yield oldest
        lag = GaugeMetricFamily(
            "care_connector_lag_seconds",
            "Seconds since a polling connector last polled successfully.",
            labels=["connector"],
        )
        state = GaugeMetricFamily(
            "care_connector_state",
            "1 for each connector's current state (ok, not polled yet, rate-limited, failing, credentials refused).",
            labels=["connector", "state"],
        )
        for connector in self._figures.connectors:
            if connector.how == "polling" and connector.last_success is not None:
                lag.add_metric([connector.name], max(0.0, (self._now - connector.last_success).total_seconds()))
            state.add_metric([connector.name, connector.describe()["state"]], 1)
        yield lag
        yield state
        health = self._rt.slack_health
        if health is not None:
            failing = GaugeMetricFamily(
                "care_slack_failing_seconds", "How long Slack has been failing for this process (0: it is not)."
            )
            since = health.failing_since
            failing.add_metric([], (self._now - since).total_seconds() if since else 0.0)
            yield failing


def routes(rt: Runtime) -> list[Route]:
    async def healthz(request: Request) -> Response:
        def check() -> dict[str, int]:
            ping(rt.engine)
            with rt.read() as session:
                return outbox.pending_counts(session)

        try:
            pending = await anyio.to_thread.run_sync(check)
        except Exception as exc:
            logger.warning("health check failed: %s", type(exc).__name__)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok", "outbox_pending": pending})

    async def readyz(request: Request) -> Response:
        try:
            figures: DeskFigures | None = await anyio.to_thread.run_sync(read_figures, rt)
        except Exception as exc:
            logger.warning("readiness check: the database is unreachable (%s)", type(exc).__name__)
            figures = None
        slack_queue = figures.queues.get(outbox.SLACK) if figures else None
        ready, body = assess(
            now=rt.now(),
            database_ok=figures is not None,
            slack=rt.slack_health,
            oldest_slack_item=slack_queue.oldest_since if slack_queue else None,
            pending={lane: q.pending for lane, q in figures.queues.items()} if figures else {},
            connectors=figures.connectors if figures else [],
            slack_failing_limit=rt.settings.ready_slack_failing,
            queue_age_limit=rt.settings.ready_queue_age,
        )
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        output = generate_latest(REGISTRY)
        try:
            figures = await anyio.to_thread.run_sync(read_figures, rt)
        except Exception as exc:  # the process's own counters are still worth scraping
            logger.warning("metrics: the database is unreachable (%s)", type(exc).__name__)
        else:
            scrape = CollectorRegistry(auto_describe=False)
            scrape.register(_DeskCollector(rt, figures, rt.now()))
            output += generate_latest(scrape)
        return Response(output, media_type=PROMETHEUS_TEXT)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
