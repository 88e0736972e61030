"""The clicker sees their click at once: their case message, re-rendered, through the click's `response_url`.

A click's effect on the case message normally reaches Slack as an outbox `chat.update`, which shares Slack's
Tier 3 budget with every other update and waits its turn when fifty people click together. The button's own
`response_url` (valid for 30 minutes, five uses) is not on that budget. So a click on a case's own message
marks its unit of work (`outbox.answer_in_place`): the refresh it queues waits a few seconds for a worker, the
click's own transaction leases it (bot/runtime.py `change_case`), and right after the commit the listener sends
it through the response_url, in the case's order and once, like any outbox item. If Slack does not take it,
the refresh goes back to the queue at once.

Only a click on the case's own message is echoed (`outbox.answer_in_place` checks): the same buttons on a spike
alert's examples would otherwise have the whole alert replaced by the case's message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from bot.blocks import case as case_blocks
from bot.db import SessionFactory, read_scope, session_scope
from bot.models import Case
from bot.services import outbox

logger = logging.getLogger(__name__)
_SDK_QUIET = logging.getLogger(f"{__name__}.sdk")
_SDK_QUIET.setLevel(logging.CRITICAL + 1)
_SDK_QUIET.propagate = False

TIMEOUT = 2  # seconds, under the refresh's outbox.ECHO_GRACE: a worker sends it by chat.update after that


def echo_case_message(
    sessions: SessionFactory,
    reads: SessionFactory,
    leased: outbox.Leased,
    *,
    now: Callable[[], datetime],
    ts: str,
    response_url: str,
    render: Callable[[Session, Case], case_blocks.Message],
) -> bool:
    """Send the case's refresh, leased in the click's own transaction (so the case's updates keep their order
    and it is sent once; that transaction found message `ts` to be the case's own), through the click's
    response_url, rendered as the case stands (`render`: exactly as a worker would render it); then record it as
    delivered. When Slack does not take it, it goes back to the queue at once for a worker's chat.update."""
    sent = False
    try:
        with read_scope(reads) as session:
            case = session.get(Case, leased.case_id)
            shown = render(session, case) if case is not None else None  # None: erased since
        if shown is not None:
            sent = _send(response_url, *shown, case_id=leased.case_id or 0)
    finally:
        with session_scope(sessions) as session:
            if sent:
                outbox.complete(session, leased, now=now(), result={"ts": ts, "via": "response_url"})
            else:
                outbox.release(session, leased, unsent=True, available_at=now(), error="not shown in place")
    return sent


def _send(url: str, text: str, blocks: Any, *, case_id: int) -> bool:
    """POST the message to the response_url as Slack documents it (`replace_original`); one try: the outbox update
    is the retry. The SDK's own chatter goes to a logger of ours that says nothing (a refused connection is not an
    error here: the outbox delivers the update as usual); what matters is logged below, at INFO."""
    try:
        client = WebhookClient(url, timeout=TIMEOUT, logger=_SDK_QUIET, retry_handlers=[])
        answer = client.send(text=text, blocks=blocks, replace_original=True)
    except OSError as exc:  # unreachable or timed out: a worker sends the update instead
        logger.info("could not update case %s through the click's response_url (%s)", case_id, type(exc).__name__)
        return False
    if answer.status_code != 200:
        logger.info("Slack refused the response_url update of case %s (%s)", case_id, answer.status_code)
        return False
    return True
