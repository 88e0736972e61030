"""Build the Bolt app: listeners from handlers/, and the one error handler for all of them."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import httpx
from slack_bolt import App, BoltResponse
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from slack_sdk import WebClient

from bot import db
from bot.clock import Clock, ShiftedClock, SystemClock
from bot.config import Settings
from bot.outbox.worker import Deliverer
from bot.blocks.links import WorkspaceLinks
from bot.schedule.polling import Poller
from bot.runtime import Runtime
from bot.services import desk
from connectors.base import PollingConnector
from connectors.registry import build_connectors, make_http_client
from handlers import register_all, tell_user

logger = logging.getLogger(__name__)


class _TokenFromEnvironment(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning, which every `serve` logged at start-up.

    Bolt reads SLACK_BOT_TOKEN from the environment by itself even when handed a ready `client` (ours,
    built from the same setting), then warns that the token is ignored: true, harmless, and it reads to
    an operator like a misconfiguration.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_TOKEN_FROM_ENVIRONMENT = _TokenFromEnvironment()


def build_bolt_app(rt: Runtime, *, listener_executor: Executor | None = None) -> App:
    """A sync Bolt `App` that answers Slack as soon as a listener acks.

    `process_before_response=True` runs each ack in the request's own worker thread, and `ack_then`
    moves the slow part into lazy listeners on `listener_executor`, so acks never queue behind work.
    """
    bolt_logger = logging.getLogger("slack_bolt")
    bolt_logger.addFilter(_TOKEN_FROM_ENVIRONMENT)  # once: addFilter ignores a filter it already has
    app = App(
        process_before_response=True,
        client=rt.slack,
        signing_secret=rt.settings.slack_signing_secret or None,
        token_verification_enabled=False,
        request_verification_enabled=not rt.settings.socket_mode,
        listener_executor=listener_executor or ThreadPoolExecutor(max_workers=32, thread_name_prefix="bolt"),
        logger=bolt_logger,
    )
    _reuse_identity(app, rt)
    register_all(app, rt)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        tell_user(rt, body, error)
        return None

    return app


def _reuse_identity(app: App, rt: Runtime) -> None:
    """Hand Bolt the `auth.test` answer `serve` already has.

    Otherwise Bolt asks for it inside the first request from Slack, before that request's ack, and a
    slow or briefly unreachable Slack API would delay or fail the first click after every start.
    """
    known = rt.links.known_identity
    if known is None:
        return
    for middleware in app._middleware_list:  # Bolt has no public setter for this
        if isinstance(middleware, SingleTeamAuthorization):
            middleware.auth_test_result = known


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
    sessions = db.make_session_factory(engine)
    with db.session_scope(sessions) as session:
        desk.record_start(session, now=clock.now())
    slack = slack or WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    http = http_client or make_http_client()
    connectors = build_connectors(settings, http, sessions=sessions, clock=clock)
    links = WorkspaceLinks(slack)
    deliverer = Deliverer(session_factory=sessions, slack=slack, connectors=connectors, clock=clock,
                          settings=settings, thread_url=links.thread_url, **deliverer_options)
    rt = Runtime(settings=settings, engine=engine, sessions=sessions, slack=slack, connectors=connectors,
                 deliverer=deliverer, clock=clock, http=http, links=links)
    polling = [c for c in connectors.values() if isinstance(c, PollingConnector)]
    if polling:
        rt.poller = Poller(connectors=polling, unit=rt.unit, clock=clock, channel=settings.care_channel)
    return rt
