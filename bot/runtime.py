"""The composition root: the running app's parts, wired once (`build_runtime`) and handed to listeners and routes.

Listeners get this one object (Bolt's `context["rt"]`) instead of reaching for globals, so tests build it
with a manual clock and a fake Slack and drive exactly the same code. `serve`, the demo and the tests all
build it here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot import db
from bot.clock import Clock, ShiftedClock, SystemClock
from bot.config import Settings
from bot.credentials import DatabaseCredentials
from bot.db import SessionFactory, read_scope, session_scope
from bot.group_commit import GroupCommit, Unit
from bot.models import Case
from bot.observe import logs as _logs  # noqa: F401  (registers the committed-event log lines)
from bot.observe.platform_calls import MeasuredTransport, connector_hosts
from bot.observe.slack_calls import MeasuredWebClient, SlackHealth
from bot.outbox.worker import Deliverer
from bot.schedule.polling import Poller
from bot.services import desk, outbox, replies, staff
from bot.workspace import WorkspaceLinks
from connectors.base import Connector, LengthRule, PollingConnector, rule_for
from connectors.registry import build_connectors, make_http_client

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clicked = tuple[str, str, str]  # a click on a channel message: (channel, message ts, response_url)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: SessionFactory
    reads: SessionFactory
    slack: WebClient
    connectors: dict[str, Connector]
    deliverer: Deliverer
    clock: Clock
    http: httpx.Client
    links: WorkspaceLinks
    intake: GroupCommit  # the webhooks' one writer: a batch of posts per transaction (bot/group_commit.py)
    poller: Poller | None = None
    # set when the process is shutting down: a long paged job (the first sweep of a big desk, a storm's gathering)
    # stops after its current page, so SIGTERM is not held up by it; the next run takes up what is left
    stopping: threading.Event = field(default_factory=threading.Event)
    checkpointer: db.Checkpointer | None = None  # SQLite's WAL kept short outside the commits (bot/db.py)

    def __deepcopy__(self, memo: dict[int, Any]) -> Runtime:
        """Shared, never copied: Bolt deep-copies a request's context for its lazy listeners, `rt` included."""
        return self

    def close(self) -> None:
        """Stop the workers and release connections (the tests and the demo build many runtimes)."""
        if self.poller is not None:
            self.poller.stop()
        self.intake.stop()  # writes what is queued: each of those requests is waiting for its answer
        self.deliverer.stop()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.http.close()
        self.engine.dispose()

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def slack_health(self) -> SlackHealth | None:
        """Slack as this process last saw it (None with a client that is not measured)."""
        health = getattr(self.slack, "health", None)
        return health if isinstance(health, SlackHealth) else None

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One unit of work; outbox workers are woken once it has committed."""
        with session_scope(self.sessions) as session:
            yield session
        self.deliverer.wake()

    def write(self, unit: Unit[T], *, timeout: float | None = None) -> T:
        """Write a small unit of work from a listener through the group-commit writer: fifty clicks at once are a
        few transactions, not fifty queueing for SQLite's write lock before their acks. On PostgreSQL too: run in
        the listeners' own threads there, fifty clicks' acks took p50 1.4 s, p99 2.8 s (the server shares the
        cores), against 0.5 s through the writer."""
        return self.intake.submit(unit).result(timeout=timeout)

    def change_case(self, case_id: int, work: Callable[[Session], T], clicked: Clicked | None = None) -> T:
        """Run a button's change to a case (`work`, database only: it may run again if its batch fails) as one
        `write`. `clicked` (channel, message ts, response_url): when the click was on the case's own message,
        the refresh it queues is leased in the same transaction and, once committed, sent through the click's
        response_url (bot/outbox/echo.py): the clicker sees the change at once, not after its turn in the outbox.
        Returns what `work` returned; raises what it raised."""
        result, leased = self.write(_CaseChange(work, case_id, clicked, self.deliverer))
        if leased is not None and clicked is not None:
            self.deliverer.echo(leased, ts=clicked[1], response_url=clicked[2])
        return result

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read that never waits for a writer (a snapshot on SQLite); nothing it does is kept."""
        with read_scope(self.reads) as session:
            yield session

    def length_rule(self, connector: str, platform: str, *, private: bool = False) -> LengthRule:
        found = self.connectors.get(connector)
        return found.length_rule(platform, private) if found else rule_for(platform, private)

    def can_message_privately(self, connector: str, platform: str) -> bool:
        found = self.connectors.get(connector)
        return bool(found and found.can_message_privately(platform))

    def thread_url(self, channel: str, ts: str | None) -> str | None:
        return self.links.thread_url(channel, ts)

    def contact_route(self, connector: str) -> str:
        """How the move-to-DM message invites the customer; a connector may insist (X: no links, they cost)."""
        found = self.connectors.get(connector)
        route = getattr(found, "contact_route", None)
        return route(self.settings.contact_route) if callable(route) else self.settings.contact_route

    def private_problem(self, case: Case) -> str | None:
        """Why the platform would not take a private message to this customer now (None if it would): none go
        there at all; into the conversation they opened, Meta's 24 hours since their last message; about their
        post, Meta's 7 days and one message per comment."""
        found = self.connectors.get(case.connector)
        if found is None or not found.can_message_privately(case.platform):
            return replies.NO_PRIVATE_MESSAGES
        check = getattr(found, "private_message_problem", None)
        if check is None:
            return None
        if case.last_private_at is not None:
            return cast(str | None, check(case.last_private_at, self.now(), dm=True))
        post = replies.public_target(case) or case.latest_mention
        already = replies.sent_privately_about(case, post)
        return cast(str | None, check(post.posted_at, self.now(), already_sent=already))

    def first_name(self, user_id: str) -> str:
        """A teammate's first name for customer-facing text (cached; Slack's users.info on a miss)."""
        with self.read() as session:
            cached = staff.cached_first_name(session, user_id=user_id, now=self.now())
        if cached:
            return cached
        try:
            user = self.slack.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return "the care team"
        profile = user.get("profile") or {}
        display = profile.get("real_name") or user.get("real_name") or user.get("name") or user_id
        first = (profile.get("first_name") or display.split()[0] if display else "") or "the care team"
        with session_scope(self.sessions) as session:
            staff.remember(session, user_id=user_id, first_name=first, display_name=display, now=self.now())
        return first


@dataclass(frozen=True)
class _CaseChange(Generic[T]):
    """`Runtime.change_case`'s unit for the group-commit writer (bot/group_commit.py)."""

    work: Callable[[Session], T]
    case_id: int
    clicked: Clicked | None
    deliverer: Deliverer

    def prepare(self) -> None:
        return None

    def write(self, session: Session) -> tuple[T, outbox.Leased | None]:
        clicked = self.clicked
        in_place = clicked is not None and outbox.answer_in_place(
            session, case_id=self.case_id, channel=clicked[0], ts=clicked[1]
        )
        result = self.work(session)
        session.flush()
        leased = self.deliverer.lease_echo(session, self.case_id) if in_place else None
        return result, leased


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    slack: WebClient | None = None,
    http_client: httpx.Client | None = None,
    upgrade: bool = True,
    **deliverer_options: Any,
) -> Runtime:
    """Wire the parts once. `serve`, the demo and the tests all go through here."""
    if clock is None:
        clock = ShiftedClock(settings.clock_offset) if settings.clock_offset is not None else SystemClock()
    engine = db.make_engine(settings.database_url)
    if upgrade:
        db.upgrade(engine)
    sessions, reads = db.make_session_factory(engine), db.make_read_factory(engine)
    with db.session_scope(sessions) as session:
        desk.record_start(session, now=clock.now())
    slack = slack or MeasuredWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15, now=clock.now
    )
    http = http_client or make_http_client(
        MeasuredTransport(httpx.HTTPTransport(), connector_hosts(settings.platforms, settings.care_generic_reply_url))
    )
    connectors = build_connectors(settings, http, credentials=DatabaseCredentials(sessions, clock), clock=clock)
    links = WorkspaceLinks(slack)
    deliverer = Deliverer(
        session_factory=sessions,
        read_sessions=reads,
        slack=slack,
        connectors=connectors,
        clock=clock,
        settings=settings,
        thread_url=links.thread_url,
        **deliverer_options,
    )
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        reads=reads,
        slack=slack,
        connectors=connectors,
        deliverer=deliverer,
        clock=clock,
        http=http,
        links=links,
        # wakes the Slack lane (all a post queues) at once after a quiet spell, at most five times a second in a
        # storm (Slack takes one post a second anyway, and each wake costs each worker a look at the queue)
        intake=GroupCommit(sessions, on_commit=deliverer.wake_slack, name="webhook-writer", wake_every=0.2),
        checkpointer=db.Checkpointer(engine).start(),
    )
    polling = [c for c in connectors.values() if isinstance(c, PollingConnector)]
    if polling:
        rt.poller = Poller(connectors=polling, unit=rt.unit, clock=clock, channel=settings.care_channel)
    return rt
