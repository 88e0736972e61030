"""The one error path of the listeners: the person who acted gets one sentence, the log gets the rest.

A `UserError` (a closed case, someone else's claim, a reply too long) is shown as it is; anything else
is logged with its traceback and shown as a generic apology. In a modal, a `UserError` is shown inline
under the field it is about (`submission`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from handlers.gate import admit, release

if TYPE_CHECKING:
    from bot.runtime import Runtime

logger = logging.getLogger(__name__)

GENERIC_FAILURE = "Sorry, that didn't work because of a problem on our side. Please try again in a moment."


def report(rt: Runtime, body: dict[str, Any], error: Exception) -> None:
    """Tell the person whose click, command or submission failed; log what they need not see."""
    if isinstance(error, UserError):
        message = str(error)
    else:
        logger.error("listener failed: %s", error, exc_info=error)
        message = GENERIC_FAILURE
    user = _id(body, "user", "id") or _text(body, "user_id")
    channel = (
        _id(body, "channel", "id")
        or _id(body, "container", "channel_id")
        or _text(body, "channel_id")
        or rt.settings.care_channel
    )
    if not user:
        return
    try:
        rt.slack.chat_postEphemeral(channel=channel, user=user, text=message)
    except SlackApiError as exc:
        logger.warning("could not tell %s about the error: %s", user, exc.response.get("error"))


def _text(body: dict[str, Any], key: str) -> str | None:
    found = body.get(key)
    return found if isinstance(found, str) and found else None


def _id(body: dict[str, Any], field: str, key: str) -> str | None:
    """`body[field][key]` when it is a non-empty string: an odd but signed body (Socket Mode is not gated by
    bot/web/slack_gate.py) must not turn the error path itself into a crash."""
    value = body.get(field)
    return _text(value, key) if isinstance(value, dict) else None


def guarded(listener: Callable[..., None]) -> Callable[..., None]:
    """Report a listener's failure ourselves instead of letting it escape into Bolt.

    Every listener declares `body` and `context` (Bolt injects arguments by the listener's own parameter
    names). Bolt's thread runner overwrites an already-sent ack with None when a listener raises soon
    after acking, so the HTTP answer can turn into a 404 three seconds later; catching here avoids that.
    """

    @functools.wraps(listener)
    def run(**kwargs: Any) -> None:
        try:
            admit(kwargs["context"], kwargs["body"])  # only the care team acts: every listener, first
            listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - reported to the user and logged, never swallowed
            ack = kwargs.get("ack")
            if ack is not None and ack.response is None:
                ack()  # Slack gets its answer; the person gets the explanation below
            if kwargs["body"].get("type") == "view_submission":
                release(kwargs["context"])  # nothing was done, so submitting again must be free to act
            report(kwargs["context"]["rt"], kwargs["body"], error)

    return run


def submission(
    ack: Ack,
    work: Callable[[], object],
    *,
    context: BoltContext,
    field: str,
    where: Callable[[UserError], str | None] | None = None,
) -> None:
    """Run a modal's service call and answer Slack: close the modal, or show the problem inline.

    A `UserError` appears under the field `where` names for it, else under `field`. Slack keeps the view's
    id and hash while the person corrects it, so the delivery's key is released: the corrected submit acts.
    """
    try:
        work()
    except UserError as exc:
        release(context)
        block = (where(exc) if where else None) or field
        ack(response_action="errors", errors={block: str(exc)})
        return
    ack()
