"""Build the Bolt app: listeners from handlers/, and the one error handler for all of them."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.middleware.authorization import SingleTeamAuthorization

from bot.runtime import Runtime
from handlers import register_all
from handlers.errors import report

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
        report(rt, body, error)
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
