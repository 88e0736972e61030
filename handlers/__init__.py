"""Thin Slack listeners: ack, parse into plain values, call one service, render, call Slack."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.runtime import Runtime

logger = logging.getLogger(__name__)

GENERIC_FAILURE = "Sorry, that didn't work because of a problem on our side. Please try again in a moment."


def register_all(app: App, rt: Runtime) -> None:
    from handlers import actions, commands, events, home, views

    for module in (actions, views, commands, events, home):
        module.register(app, rt)


def clicked_case_id(body: dict[str, Any]) -> int:
    return int(body["actions"][0]["value"])


def user_id(body: dict[str, Any]) -> str:
    return str(body["user"]["id"])


def tell_user(rt: Runtime, body: dict[str, Any], error: Exception) -> None:
    """The one place a failed action is reported: the person who clicked sees a sentence, logs get the rest."""
    if isinstance(error, UserError):
        message = str(error)
    else:
        logger.error("listener failed: %s", error, exc_info=error)
        message = GENERIC_FAILURE
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = ((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
               or body.get("channel_id") or rt.settings.care_channel)
    if not user:
        return
    try:
        rt.slack.chat_postEphemeral(channel=channel, user=user, text=message)
    except SlackApiError as exc:
        logger.warning("could not tell %s about the error: %s", user, exc.response.get("error"))


def guarded(rt: Runtime, listener: Callable[..., None]) -> Callable[..., None]:
    """Report a listener's failure to the user ourselves instead of letting it escape into Bolt.

    Every listener declares `body` (Bolt injects arguments by the listener's own parameter names).

    Bolt's thread runner overwrites an already-sent ack with None when a listener raises soon after
    acking, so the HTTP answer can turn into a 404 three seconds later; catching here avoids that.
    """

    @functools.wraps(listener)
    def run(**kwargs: Any) -> None:
        try:
            listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - reported to the user and logged, never swallowed
            ack = kwargs.get("ack")
            if ack is not None and ack.response is None:
                ack()  # Slack gets its answer; the person gets the explanation below
            tell_user(rt, kwargs["body"], error)

    return run


def _ack(ack: Ack) -> None:
    ack()


def ack_then(register: Callable[..., Any], rt: Runtime, work: Callable[..., None]) -> None:
    """Acknowledge in the request thread at once; do `work` afterwards in Bolt's listener pool.

    With `process_before_response=True` the ack never waits for a free pool thread, so a burst of
    clicks while Slack is slow is still acknowledged in milliseconds.
    """
    register(ack=_ack, lazy=[guarded(rt, work)])
