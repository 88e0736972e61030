"""The ASGI app: Slack's request URL, the platform webhooks and a health check.

Nothing here talks to Slack or a platform inside a request. Bolt's sync `App` is dispatched in a
worker thread (never on the event loop: one slow request must not delay another's acknowledgement),
and a webhook only stores the mention and queues its delivery before answering 202.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.errors import BadPayload
from bot.observe import logs, metrics
from bot.runtime import Runtime
from bot.schedule.scheduler import Scheduler
from bot.services import ingest, intake
from bot.web import operations, slack_gate
from bot.web.observed import Observed
from connectors import generic
from connectors.base import WebhookConnector
from connectors.registry import SPECS

logger = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refusing early (by header) or while streaming once it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def refused(request: Request, status: int, why: str, throttle: logs.Throttle) -> None:
    """One WARNING per refused request (never its body), at most ten a minute per route: a flood of bad
    signatures cannot fill the disk, and the line after a quiet spell says how many were left out."""
    route = request.url.path
    metrics.SIGNATURE_REFUSALS.labels(route).inc()
    allowed, suppressed = throttle.allow(route)
    if allowed:
        more = f" ({suppressed} more refused since the last line)" if suppressed else ""
        logger.warning(
            "refused a request to %s (%d): %s%s", route, status, why, more, extra={"route": route, "status": status}
        )


def _error(status: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def build_http_app(
    rt: Runtime, bolt: App | None, *, start_workers: bool = True, start_scheduler: bool | None = None
) -> Starlette:
    """`start_workers` runs the outbox workers and (unless `start_scheduler` says otherwise) the scheduler."""
    run_scheduler = start_workers if start_scheduler is None else start_scheduler
    limiter = anyio.CapacityLimiter(64)  # Slack requests in flight; each holds a thread only until its ack
    refusals = logs.Throttle(per_minute=10)  # the app's own: a test's app starts with a clean allowance

    async def slack_events(request: Request) -> Response:
        if bolt is None:
            return _error(404, "Slack traffic is served over Socket Mode (SLACK_APP_TOKEN is set)")
        try:
            body = await read_limited(request, slack_gate.MAX_BODY_BYTES)
        except BodyTooLarge:
            refusal: slack_gate.Refusal | None = slack_gate.TOO_LARGE
        else:
            secret, now = rt.settings.slack_signing_secret, slack_gate.WALL_CLOCK.now()
            refusal = slack_gate.admit(secret, request.headers, body, now=now)
        if refusal is not None:
            refused(request, refusal.status, refusal.message, refusals)
            return _error(refusal.status, refusal.message)
        bolt_request = to_bolt_request(request, body)
        bolt_response = await anyio.to_thread.run_sync(bolt.dispatch, bolt_request, limiter=limiter)
        return to_starlette_response(bolt_response)

    async def generic_webhook(request: Request) -> Response:
        if not rt.settings.care_webhook_secret:
            return _error(404, "the generic webhook is disabled: set CARE_WEBHOOK_SECRET to enable it")
        try:
            body = await read_limited(request, generic.MAX_BODY_BYTES)
        except BodyTooLarge:
            return _error(413, f"body is larger than {generic.MAX_BODY_BYTES // 1024} KiB")
        connector = rt.connectors[generic.NAME]
        assert isinstance(connector, generic.GenericConnector)
        if not connector.verify(body, request.headers.get(generic.SIGNATURE_HEADER)):
            refused(request, 401, "missing or invalid X-Care-Signature", refusals)
            return _error(401, "missing or invalid X-Care-Signature")
        try:
            mention = generic.parse(body)
        except BadPayload as exc:
            extra = {"field": exc.field} if exc.field else {}
            return _error(exc.status, str(exc), **extra)

        async def store() -> ingest.IngestResult:
            # one writer stores a batch of webhooks per transaction; scored by it before the transaction opens
            return await rt.intake.run(intake.PendingMention(mention, generic.NAME, rt.settings.care_channel, rt.now()))

        try:
            result = await store()
        except Exception:
            logger.exception("could not store webhook mention %s/%s", mention.platform, mention.external_id)
            return _error(503, "the complaint could not be stored right now; please retry")
        logger.info(
            "webhook accepted: %s post %s in case %s%s",
            mention.platform,
            mention.external_id,
            result.case_id,
            " (a repeat delivery)" if result.duplicate else "",
            extra={"case_id": result.case_id, "platform": mention.platform},
        )
        return JSONResponse({"case_id": result.case_id, "duplicate": result.duplicate}, status_code=202)

    def platform_webhook(name: str, label: str, missing_settings: str) -> Route:
        """`GET` answers the platform's subscription check; `POST` verifies, stores, then answers 200."""

        async def endpoint(request: Request) -> Response:
            connector = rt.connectors.get(name)
            if not isinstance(connector, WebhookConnector):
                return _error(404, f"the {label} connector is not enabled: set {missing_settings}")
            if request.method == "GET":
                answer = connector.challenge(dict(request.query_params))
                if answer is None:
                    return _error(403, "subscription check refused: hub.mode or hub.verify_token is wrong")
                return PlainTextResponse(answer)
            try:
                body = await read_limited(request, connector.max_body_bytes)
            except BodyTooLarge:
                return _error(413, f"body is larger than {connector.max_body_bytes // 1024} KiB")
            if not connector.verify(body, request.headers):
                refused(request, 401, "missing or invalid X-Hub-Signature-256", refusals)
                return _error(401, "missing or invalid X-Hub-Signature-256")
            try:
                changes = connector.parse(body)
            except BadPayload as exc:
                return _error(exc.status, str(exc))

            async def store() -> int:
                # the same writer as the generic webhook: scored outside the transaction, stored in a batch
                return await rt.intake.run(intake.PendingChanges(changes, name, rt.settings.care_channel, rt.now()))

            try:
                stored = await store()
            except Exception:
                logger.exception("could not store a %s webhook delivery", name)
                return _error(503, "the delivery could not be stored right now; please retry")
            logger.info("webhook accepted: %d changes, %d stored", len(changes), stored, extra={"connector": name})
            return JSONResponse({"received": len(changes), "stored": stored})

        return Route(f"/webhooks/{name}", endpoint, methods=["GET", "POST"])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        scheduler = Scheduler(rt) if run_scheduler else None
        if start_workers:
            rt.deliverer.start()
            if rt.poller is not None:
                rt.poller.start()
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                await anyio.to_thread.run_sync(scheduler.stop)  # waits for a running job to finish
            if start_workers:
                # the webhooks' writer first: the posts it holds are stored and answered before the outbox stops
                await anyio.to_thread.run_sync(rt.intake.stop)
                if rt.poller is not None:
                    rt.poller.stop()
                # drains: the calls in flight finish, the rest is handed back (off the loop: it may take seconds)
                await anyio.to_thread.run_sync(rt.deliverer.stop)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/webhooks/generic", generic_webhook, methods=["POST"]),
            *operations.routes(rt),
            *(
                platform_webhook(
                    spec.name, spec.label, ", ".join(spec.missing(rt.settings.platforms)) or "its settings"
                )
                for spec in SPECS
                if spec.how == "webhook"
            ),
        ],
        lifespan=lifespan,
        middleware=[Middleware(Observed)],
    )
