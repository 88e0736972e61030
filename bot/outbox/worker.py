"""Outbox workers: lease queued items and hand them to their lane, exactly once, in order.

Two lanes, each its own thread, so a slow platform never holds up Slack: bot/outbox/slack_lane.py renders
and posts to Slack, bot/outbox/platform_lane.py sends through a connector. A worker outlives any bad item or
database blip; an accepted complaint is never dropped.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from slack_sdk import WebClient

from bot.clock import Clock
from bot.config import Settings
from bot.db import SessionFactory, session_scope
from bot.outbox.platform_lane import PlatformLane
from bot.outbox.slack_lane import SlackLane, ThreadUrl
from bot.services import outbox
from connectors.base import Connector

logger = logging.getLogger(__name__)


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
        pace_seconds: float = 1.0,
        poll_seconds: float = 1.0,
        settings: Settings | None = None,
        thread_url: ThreadUrl | None = None,
    ) -> None:
        self._sessions, self._clock = session_factory, clock
        self._poll = poll_seconds
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self._wake = {outbox.SLACK: threading.Event(), outbox.PLATFORM: threading.Event()}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.slack = SlackLane(
            sessions=session_factory,
            reads=read_sessions or session_factory,
            slack=slack,
            clock=clock,
            sleep=sleep,
            pace_seconds=pace_seconds,
            settings=settings,
            thread_url=thread_url or (lambda channel, ts: None),
        )
        self.platform = PlatformLane(
            sessions=session_factory, connectors=connectors, clock=clock, sent=self._wake[outbox.SLACK].set
        )

    # -- running ---------------------------------------------------------------------------------
    def start(self) -> None:
        for lane in (outbox.SLACK, outbox.PLATFORM):
            thread = threading.Thread(target=self._loop, args=(lane,), name=f"outbox-{lane}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for event in self._wake.values():
            event.set()
        for thread in self._threads:
            thread.join(timeout)

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    def _loop(self, lane: str) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once(lane)
            except Exception:  # a worker must outlive any one bad item or database blip
                logger.exception("outbox %s worker failed; retrying shortly", lane)
                worked = False
                self._stop.wait(1.0)
            if not worked:
                self._wake[lane].wait(self._poll)
                self._wake[lane].clear()

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

    def run_once(self, lane: str) -> bool:
        now = self._clock.now()
        paused = self.slack.paused_until
        if lane == outbox.SLACK and paused and now < paused:
            return False
        with session_scope(self._sessions) as session:
            leased = outbox.lease_next(session, lane=lane, owner=self.owner, now=now)
        if leased is None:
            return False
        if lane == outbox.SLACK:
            self.slack.deliver(leased)
        else:
            self.platform.deliver(leased)
        return True
