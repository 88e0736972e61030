"""Pollers: one thread per polling connector, asking the platform for news at its configured pace.

The pace and the cursor live in the database (bot/services/polls.py), so a restart neither polls early
(X bills every read) nor skips or repeats posts, and several processes poll each platform once between them.
Failures never lose anything: the cursor only moves when the mentions it covers are stored.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.errors import AuthError, PermanentError, RateLimited, TransientError
from bot.observe import metrics
from bot.services import ingest, polls
from connectors.base import PollingConnector

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=15)
REFUSED_RETRY = timedelta(minutes=5)  # credentials or a refused request: a person must act; check again slowly
CHECK_EVERY = 1.0  # real seconds between "is a poll due?" checks


class Poller:
    def __init__(
        self,
        *,
        connectors: Sequence[PollingConnector],
        unit: Callable[[], AbstractContextManager[Session]],
        clock: Clock,
        channel: str,
    ) -> None:
        self._connectors = {c.name: c for c in connectors}
        self._unit, self._clock, self._channel = unit, clock, channel
        self.owner = f"poll-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._not_before: dict[str, datetime] = {}  # local hint, so idle checks cost no database write

    @property
    def names(self) -> list[str]:
        return sorted(self._connectors)

    def start(self) -> None:
        self._stop.clear()
        for name in self._connectors:
            thread = threading.Thread(target=self._loop, args=(name,), name=f"poll-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _loop(self, name: str) -> None:
        while not self._stop.is_set():
            try:
                hint = self._not_before.get(name)
                if hint is None or self._clock.now() >= hint:
                    self.poll_once(name)
            except Exception:  # a poller must outlive a database blip or a bug in one payload
                logger.exception("poller for %s failed; trying again shortly", name)
            self._stop.wait(CHECK_EVERY)

    def poll_once(self, name: str) -> int | None:
        """Poll `name` if it is due and ours to poll; returns how many changes were stored (None: not polled)."""
        connector = self._connectors[name]
        now = self._clock.now()
        with self._unit() as session:
            held = polls.lease(session, connector=name, owner=self.owner, now=now)
            if held is None:
                self._not_before[name] = polls.next_due(session, connector=name) or now
        if held is None:
            return None
        interval = timedelta(seconds=connector.poll_seconds)
        try:
            result = connector.poll(held.cursor)
        except RateLimited as exc:
            self._failed(
                held, wait=max(timedelta(seconds=exc.retry_after), interval), error=str(exc), kind="rate_limited"
            )
            return None
        except TransientError as exc:
            self._failed(held, wait=_backoff(interval, held.failures), error=str(exc))
            return None
        except (AuthError, PermanentError) as exc:
            logger.error("%s polling refused: %s", name, exc, extra={"connector": name})
            self._failed(held, wait=max(REFUSED_RETRY, interval), error=str(exc), kind="refused")
            return None
        except Exception as exc:
            logger.exception("%s poll failed unexpectedly", name)
            self._failed(held, wait=_backoff(interval, held.failures), error=f"unexpected {type(exc).__name__}")
            return None
        done = self._clock.now()
        ready = ingest.scored(result.changes)  # outside the transaction
        try:
            with self._unit() as session:
                stored = ingest.apply_changes(session, changes=ready, connector=name, channel=self._channel, now=done)
                cursor = result.cursor if result.cursor is not None else held.cursor
                if not polls.advance(session, held, cursor=cursor, next_poll_at=now + interval, now=done):
                    raise _LeaseLost(name)
            self._not_before[name] = now + interval
        except _LeaseLost:
            # Our lease expired and another process took over: rolled back; it stores the same posts.
            logger.warning("%s: lease lost during a slow poll; another process carries on", name)
            return None
        metrics.POLLS.labels(name, "ok").inc()
        if stored:
            logger.info("%s: %d new or changed posts", name, stored, extra={"connector": name})
        return stored

    def _failed(self, held: polls.PollLease, *, wait: timedelta, error: str, kind: str = "failed") -> None:
        metrics.POLLS.labels(held.connector, kind).inc()
        logger.warning(
            "%s poll failed (%s); next try in %.0fs",
            held.connector,
            error,
            wait.total_seconds(),
            extra={"connector": held.connector},
        )
        retry_at = self._clock.now() + wait
        with self._unit() as session:
            polls.failed(session, held, next_poll_at=retry_at, error=error, kind=kind)
        self._not_before[held.connector] = retry_at


def _backoff(interval: timedelta, failures: int) -> timedelta:
    """After a temporary failure: the interval, doubled per failure in a row, at most MAX_BACKOFF."""
    return min(MAX_BACKOFF, interval * (1 << min(failures, 10)))


class _LeaseLost(Exception):
    pass
