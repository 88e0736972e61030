"""The platform lane: send a reply, a move-to-DM note or a private message through the case's connector, and
look up who wrote a private message that named its sender only by an id.

A rate limit or an outage is retried a few times, briefly; after that (or at once for a refusal) the staff
member is told in the thread that it was not sent, with their text kept, rather than the customer waiting
on a send that may never happen.

A name lookup (kind "profile", queued by ingest when a Messenger or Instagram message opens a case) is retried
the same few times; then, or at once when the platform refuses (a permission missing), the case keeps showing
the id and one log line says why. What it learns goes to every case of the customer without a name, and their
case messages are re-rendered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.clock import Clock
from bot.db import SessionFactory, session_scope
from bot.errors import AuthError, ConnectorError, PermanentError, RateLimited, TransientError
from bot.models import Case
from bot.observe import logs, metrics
from bot.services import customers, outbox, replies
from bot.services.ingest import PROFILE
from connectors.base import Connector, Outbound, ProfileConnector

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
        if item.kind == PROFILE:
            return self._name(item, connector, case_id=case.id)
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
                if self._retry_transient(item, exc):
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

    def _name(self, item: outbox.Leased, connector: Connector | None, *, case_id: int) -> str:
        """Ask the platform who the customer is, and show their name on their cases; returns the outcome."""
        platform, author_id = item.payload["platform"], item.payload["author_id"]
        if not isinstance(connector, ProfileConnector) or not author_id:  # not configured now, or they were erased
            return self._give_up(item, f"no name to look up for case {case_id}'s customer on {platform}")
        try:
            found = connector.profile(author_id)
        except RateLimited as exc:  # not waited out: a staff reply on this case would wait behind it (case order)
            return self._give_up(item, f"gave up looking up the name of case {case_id}'s customer: {exc}")
        except TransientError as exc:
            if self._retry_transient(item, exc):
                return "retry"
            return self._give_up(item, f"gave up looking up the name of case {case_id}'s customer: {exc}")
        except ConnectorError as exc:  # a refusal: asking again would only be refused again
            return self._give_up(
                item, f"case {case_id}'s customer stays shown by their {platform} id: {exc}", warn=True
            )
        now = self._clock.now()
        with session_scope(self._sessions) as session:
            if not outbox.complete(session, item, now=now, result={"named": found is not None}):
                return "lease_lost"
            if found is not None:
                customers.name_author(
                    session, platform=platform, author_id=author_id, name=found.name, handle=found.handle, now=now
                )
        if found is None:
            logger.info("%s gave no name for case %s's customer", platform, case_id)
            return "delivered"
        self._sent()  # the Slack lane re-renders the case messages
        logger.info("looked up the name of case %s's customer on %s", case_id, platform)
        return "delivered"

    def _give_up(self, item: outbox.Leased, error: str, *, warn: bool = False) -> str:
        with session_scope(self._sessions) as session:
            outbox.give_up(session, item, now=self._clock.now(), error=error)
        logger.log(logging.WARNING if warn else logging.INFO, "%s", error)
        return "gave_up"

    def _retry_transient(self, item: outbox.Leased, exc: TransientError) -> bool:
        """An outage: try again after the next backoff while attempts are left (True), else not (False)."""
        if item.attempts >= PLATFORM_ATTEMPTS:
            return False
        self._retry(item, delay=PLATFORM_BACKOFF[min(item.attempts, len(PLATFORM_BACKOFF)) - 1], error=str(exc))
        return True

    def _retry(self, item: outbox.Leased, *, delay: float, error: str) -> None:
        with session_scope(self._sessions) as session:
            outbox.retry_later(session, item, now=self._clock.now(), delay=delay, error=error)
