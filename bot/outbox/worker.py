"""Outbox workers: lease queued items and hand them to their lane, exactly once, in order.

Two lanes, each its own thread, so a slow platform never holds up Slack: bot/outbox/slack_lane.py renders
and posts to Slack, bot/outbox/platform_lane.py sends through a connector. A worker outlives any bad item or
database blip; an accepted complaint is never dropped.

Leases are short (bot/services/outbox.py LEASE_SECONDS) and a renewer thread extends those of the items
this process holds, so a killed process's item is taken up within seconds, while a slow call keeps its own.
`stop` drains: no new leases, the calls in flight finish, a post still waiting for its moment is handed back.

The Slack lane runs two workers: one posts (one message at a time, at the channel's pace), the other only
updates messages already posted (chat.update, another rate tier), so a click shows on its case message
while a slow post is in flight.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import SessionFactory, read_scope, session_scope
from bot.outbox import echo, owners
from bot.outbox.platform_lane import PlatformLane
from bot.outbox.slack_lane import SlackLane, ThreadUrl
from bot.services import outbox
from connectors.base import Connector

logger = logging.getLogger(__name__)

POSTS, UPDATES = "slack-posts", "slack-updates"  # the Slack lane's two workers
# chat.update calls in flight at once. Each shows a staff member's click on its case message, and Slack may take
# half a second per call: one at a time, fifty people claiming together waited 25 s for the last. Slack limits
# chat.update per method tier, not per channel (a 429 pauses the lane, see SlackLane); a case's own updates
# still go one after another (bot/services/outbox.py's lease order), so they never land out of order.
UPDATES_IN_FLIGHT = 16


class Deliverer:
    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        slack: WebClient,
        read_sessions: SessionFactory | None = None,
        connectors: dict[str, Connector],
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        pace_seconds: float = 1.1,
        poll_seconds: float = 1.0,
        settings: Settings | None = None,
        thread_url: ThreadUrl | None = None,
    ) -> None:
        self._sessions, self._clock = session_factory, clock
        self._reads = read_sessions or session_factory
        self._poll = poll_seconds
        self.owner = owners.this_process()
        self._wake = {stream: threading.Event() for stream in (POSTS, UPDATES, outbox.PLATFORM)}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: dict[int, outbox.Leased] = {}  # leased by this process and not yet finished
        self._held_lock = threading.Lock()
        self._handoff: queue.SimpleQueue[tuple[outbox.Leased, threading.Semaphore] | None] = queue.SimpleQueue()
        self._senders: list[threading.Thread] = []
        self._dispatcher: threading.Thread | None = None
        if sleep is time.sleep:  # a wait for the channel's next moment ends at once when we stop
            sleep = self._pause
        self.slack = SlackLane(
            sessions=session_factory,
            reads=self._reads,
            slack=slack,
            clock=clock,
            sleep=sleep,
            pace_seconds=pace_seconds,
            settings=settings,
            thread_url=thread_url or (lambda channel, ts: None),
            stopping=self._stop.is_set,
        )
        self.platform = PlatformLane(sessions=session_factory, connectors=connectors, clock=clock, sent=self.wake_slack)

    # -- running ---------------------------------------------------------------------------------
    def start(self, *, updates_in_flight: int = UPDATES_IN_FLIGHT) -> None:
        self.end_orphan_leases()
        for stream in (POSTS, outbox.PLATFORM):
            thread = threading.Thread(target=self._loop, args=(stream,), name=f"outbox-{stream}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._dispatcher = threading.Thread(
            target=self._dispatch_updates, args=(updates_in_flight,), name=f"outbox-{UPDATES}", daemon=True
        )
        self._dispatcher.start()
        self._threads.append(self._dispatcher)
        for n in range(updates_in_flight):
            sender = threading.Thread(target=self._send_updates, name=f"outbox-{UPDATES}-{n}", daemon=True)
            sender.start()
            self._senders.append(sender)
        renewer = threading.Thread(target=self._renew_loop, name="outbox-leases", daemon=True)
        renewer.start()
        self._threads.append(renewer)

    def stop(self, timeout: float = 8.0) -> None:
        """Drain: lease nothing new, let the calls in flight finish (up to `timeout`), hand back the rest."""
        self._stop.set()
        for event in self._wake.values():
            event.set()
        deadline = time.monotonic() + timeout
        if self._dispatcher is not None:  # no more hand-offs once it has ended: then the senders may go
            self._dispatcher.join(max(0.0, deadline - time.monotonic()))
            for _ in self._senders:
                self._handoff.put(None)
        for thread in [*self._threads, *self._senders]:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in [*self._threads, *self._senders] if t.is_alive()]
        if stuck:  # a call still hanging: its lease simply runs out, and another process finds its message
            logger.warning("outbox stopped with calls still in flight in %s", ", ".join(stuck))

    def end_orphan_leases(self) -> int:
        """Items a killed process on this host still holds are taken up within seconds of this start, not
        after their leases run out (bot/outbox/owners.py says how a dead owner is known)."""
        try:
            with session_scope(self._sessions) as session:
                ended = outbox.end_orphan_leases(
                    session, owner_prefix=owners.on_this_host(), gone=owners.gone, now=self._clock.now()
                )
        except Exception:  # a courtesy: the leases run out anyway
            logger.exception("could not end the leases of a dead process")
            return 0
        if ended:
            logger.warning("%d outbox item(s) were held by a process that is gone; taking them up", ended)
        return ended

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    def wake_slack(self) -> None:
        """Only the Slack lane has work (a new post queues a case message, a note and an update, never a send)."""
        self._wake[POSTS].set()
        self._wake[UPDATES].set()

    def _loop(self, stream: str) -> None:
        lane = outbox.PLATFORM if stream == outbox.PLATFORM else outbox.SLACK
        while not self._stop.is_set():
            try:
                worked = self.run_once(lane, stream=stream)
            except Exception:  # a worker must outlive any one bad item or database blip
                logger.exception("outbox %s worker failed; retrying shortly", stream)
                worked = False
                self._stop.wait(1.0)
            if not worked:
                self._wake[stream].wait(self._poll)
                self._wake[stream].clear()

    def _dispatch_updates(self, in_flight: int) -> None:
        """Lease updates while fewer than `in_flight` are under way, each handed to an idle sender thread; as
        many at once as there are idle senders (one transaction for a burst of clicks, not one per click)."""
        slots = threading.BoundedSemaphore(in_flight)
        while not self._stop.is_set():
            if not slots.acquire(timeout=self._poll):
                continue
            free = 1
            while free < in_flight and slots.acquire(blocking=False):
                free += 1
            try:
                leased = self.lease_many(outbox.SLACK, stream=UPDATES, limit=free)
            except Exception:  # a database blip: the dispatcher outlives it
                leased = []
                logger.exception("outbox %s dispatcher failed; retrying shortly", UPDATES)
                self._stop.wait(1.0)
            for _ in range(free - len(leased)):
                slots.release()
            for item in leased:
                self._handoff.put((item, slots))
            if not leased:
                self._wake[UPDATES].wait(self._poll)
                self._wake[UPDATES].clear()

    def _send_updates(self) -> None:
        while (job := self._handoff.get()) is not None:
            leased, slot = job
            try:
                self.deliver(outbox.SLACK, leased)
            except Exception:  # deliver records every failure it knows; this is one it did not expect
                logger.exception("outbox item %s failed unexpectedly", leased.id)
            finally:
                slot.release()

    def _renew_loop(self) -> None:
        while not self._stop.wait(outbox.RENEW_SECONDS):
            try:
                self.renew_leases()
            except Exception:  # the next round tries again; a lease outlives two missed rounds
                logger.exception("renewing outbox leases failed")
        self.renew_leases()  # the calls finishing during a drain keep their items until they are recorded

    def renew_leases(self) -> int:
        """Extend the leases of every item this process holds; returns how many it still holds."""
        with self._held_lock:
            ids = list(self._held)
        if not ids:
            return 0
        with session_scope(self._sessions) as session:
            return outbox.renew(session, ids=ids, owner=self.owner, now=self._clock.now())

    def drain(self, lane: str | None = None, limit: int = 1000) -> int:
        """Deliver everything that is due now (tests and the demo); returns how many items were handled."""
        handled = 0
        lanes = [lane] if lane else [outbox.PLATFORM, outbox.SLACK]
        progress = True
        while progress and handled < limit:
            progress = False
            for name in lanes:
                if self.run_once(name):
                    handled += 1
                    progress = True
        return handled

    def run_once(self, lane: str, *, stream: str | None = None) -> bool:
        leased = self.lease(lane, stream=stream)
        if leased is None:
            return False
        self.deliver(lane, leased)
        return True

    def lease(self, lane: str, *, stream: str | None = None) -> outbox.Leased | None:
        """The next item the lane (or one of the Slack lane's two workers, `stream`) may work on now, held
        (and its lease renewed) until `deliver` ends."""
        found = self.lease_many(lane, stream=stream, limit=1)
        return found[0] if found else None

    def lease_many(self, lane: str, *, stream: str | None = None, limit: int) -> list[outbox.Leased]:
        """Up to `limit` items the lane (or `stream`) may work on now, leased together."""
        if self._stop.is_set() and self._threads:
            return []
        now = self._clock.now()
        kinds = except_kinds = None
        if lane == outbox.SLACK:
            if self.slack.paused(now):
                return []
            kinds = self.slack.only_kinds(now)
            if stream == UPDATES:
                kinds = outbox.UPDATE_KINDS
            elif stream == POSTS:
                if kinds is not None:  # posts are paused, and the updates worker does the updates
                    return []
                except_kinds = outbox.UPDATE_KINDS
        with read_scope(self._reads) as session:  # the scan holds no write lock: ingest's writer never waits on it
            found = outbox.ready(
                session, lane=lane, now=now, kinds=kinds, except_kinds=except_kinds, limit=max(10, limit)
            )
        if not found:
            return []
        with session_scope(self._sessions) as session:
            leased = outbox.claim_many(session, found, owner=self.owner, now=now, limit=limit)
        with self._held_lock:
            for item in leased:
                self._held[item.id] = item
        return leased

    def lease_echo(self, session: Session, case_id: int) -> outbox.Leased | None:
        """In a click's unit of work: lease the case's refresh for `echo` (None if there is none to send now)."""
        if self._stop.is_set():
            return None
        now = self._clock.now()
        found = outbox.echo_refresh(session, case_id=case_id, now=now)
        leased = outbox.claim_many(session, [found], owner=self.owner, now=now, limit=1) if found else []
        return leased[0] if leased else None

    def echo(self, leased: outbox.Leased, *, ts: str, response_url: str) -> bool:
        """Show a click on its case message at once through the click's response_url (bot/outbox/echo.py)."""
        return echo.echo_case_message(
            self._sessions,
            self._reads,
            leased,
            now=self._clock.now,
            ts=ts,
            response_url=response_url,
            render=self.slack.case_message,
        )

    def deliver(self, lane: str, leased: outbox.Leased) -> None:
        try:
            if lane == outbox.SLACK:
                self.slack.deliver(leased)
            else:
                self.platform.deliver(leased)
        finally:
            with self._held_lock:
                self._held.pop(leased.id, None)
