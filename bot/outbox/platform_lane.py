"""The platform lane: send a reply, a move-to-DM note or a private message through the case's connector.

A rate limit or an outage is retried a few times, briefly; after that (or at once for a refusal) the staff
member is told in the thread that it was not sent, with their text kept, rather than the customer waiting
on a send that may never happen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.clock import Clock
from bot.db import SessionFactory, session_scope
from bot.errors import AuthError, ConnectorError, PermanentError, RateLimited, TransientError
from bot.models import Case
from bot.observe import logs, metrics
from bot.services import outbox, replies
from connectors.base import Connector, Outbound

logger = logging.getLogger(__name__)

# How long a platform send is retried before the staff member is told it failed.
PLATFORM_ATTEMPTS = 3
PLATFORM_BACKOFF = (1.0, 4.0)
MAX_PLATFORM_WAIT = 60.0


class PlatformLane:
    """Delivers the items of the platform lane; `sent` is called after each, so the Slack lane wakes for the note."""

    def __init__(
        self, *, sessions: SessionFactory, connectors: dict[str, Connector], clock: Clock, sent: Callable[[], None]
    ) -> None:
        self._sessions, self._connectors, self._clock, self._sent = sessions, connectors, clock, sent

    def deliver(self, item: outbox.Leased) -> None:
        with logs.context(outbox_id=item.id, case_id=item.case_id, kind=item.kind):
            outcome = self._deliver(item)
        metrics.DELIVERIES.labels(item.kind, outcome).inc()

    def _deliver(self, item: outbox.Leased) -> str:
        """Send one item; returns the outcome the metrics count it under."""
        payload = item.payload
        with session_scope(self._sessions) as session:
            case = session.get(Case, item.case_id)
            connector_name = case.connector if case else None
        connector = self._connectors.get(connector_name or "")
        error: str | None = None
        external_id: str | None = None
        note: str | None = None
        if case is None:
            with session_scope(self._sessions) as session:
                outbox.give_up(session, item, now=self._clock.now(), error="case deleted")
            return "gave_up"
        if connector is None:
            error = f"the {connector_name} connector is not configured"
        else:
            message = Outbound(
                platform=payload["platform"],
                in_reply_to=payload["in_reply_to"],
                author_id=payload["author_id"],
                text=payload["text"],
                visibility=payload["visibility"],
                idempotency_key=f"care-{item.id}",
                context=payload.get("context") or {},
                purpose=payload["purpose"],
            )
            try:
                sent = connector.send(message)
                external_id, note = sent.external_id, sent.note
            except RateLimited as exc:
                if exc.retry_after <= MAX_PLATFORM_WAIT and item.attempts < PLATFORM_ATTEMPTS + 2:
                    self._retry(item, delay=exc.retry_after, error=str(exc))
                    return "rate_limited"
                error = f"{exc}; try again later"
            except TransientError as exc:
                if item.attempts < PLATFORM_ATTEMPTS:
                    self._retry(
                        item, delay=PLATFORM_BACKOFF[min(item.attempts, len(PLATFORM_BACKOFF)) - 1], error=str(exc)
                    )
                    return "retry"
                error = str(exc)
            except (AuthError, PermanentError, ConnectorError) as exc:
                error = str(exc)
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            if not outbox.complete(session, item, now=now, result={"external_id": external_id, "error": error}):
                return "lease_lost"
            if error is None:
                replies.record_sent(
                    session, case_id=case.id, payload=payload, external_id=external_id, now=now, note=note
                )
            else:
                logger.warning("send for case %s failed: %s", case.id, error)
                replies.record_send_failed(session, case_id=case.id, payload=payload, error=error, now=now)
        self._sent()
        if error is None:
            logger.info("sent %s for case %s to %s", item.kind, case.id, payload["platform"])
        return "delivered" if error is None else "send_failed"

    def _retry(self, item: outbox.Leased, *, delay: float, error: str) -> None:
        with session_scope(self._sessions) as session:
            outbox.retry_later(session, item, now=self._clock.now(), delay=delay, error=error)
