"""The door every Slack request passes: a repeated delivery acts once, and only the care team acts.

`once_only` is a global middleware: before any listener it claims the delivery's key in the database
(bot/services/once.py) and acknowledges a repeat without calling `next()`, so a double submit, Slack's
retry (X-Slack-Retry-Num) or a click delivered four times acts once, on whichever replica it lands.

`admit` is called by `guarded` (handlers/errors.py) before every listener's work, so each button and
each modal is covered: it names what the person tried and refuses anyone not on the team for it.
Clicks are checked after their ack (the lookup may ask Slack); submissions before theirs.
`load_team` asks Slack who is on the team; `access.TeamCache` keeps the answer for a minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.blocks import ids
from bot.config import Settings
from bot.services import access, once

logger = logging.getLogger(__name__)

TEAM, MANAGERS = access.TEAM, access.MANAGERS
ONCE_WAIT = 2.5  # seconds for the delivery's key to be stored: past Slack's 3 s, the ack would be late anyway

# What each button and modal needs, and how the refusal names it ("Only the care team can …").
ACTIONS: dict[str, tuple[str, str]] = {
    ids.ACTION_CLAIM: (TEAM, "claim cases"),
    ids.ACTION_REPLY: (TEAM, "reply to customers"),
    ids.ACTION_MOVE_TO_DM: (TEAM, "move a conversation to direct messages"),
    ids.ACTION_ESCALATE: (TEAM, "escalate cases"),
    ids.ACTION_IGNORE: (TEAM, "ignore cases"),
    ids.ACTION_RESOLVE: (TEAM, "resolve cases"),
    ids.ACTION_REOPEN: (TEAM, "reopen cases"),
    ids.ACTION_FOLLOW_UP: (TEAM, "set follow-ups"),
    ids.ACTION_FOLLOW_UP_PICK: (TEAM, "set follow-ups"),
    ids.ACTION_SNOOZE: (TEAM, "snooze reminders"),
    ids.ACTION_REASSIGN: (MANAGERS, "reassign cases"),
    ids.ACTION_OPEN_GATHERED: (TEAM, "open gathered posts as cases"),
    ids.ACTION_THANK: (TEAM, "reply to customers"),
    ids.ACTION_SHARE_WIN: (TEAM, "share wins"),
    ids.ACTION_SAVED_REPLY: (TEAM, "reply to customers"),
    ids.ACTION_SAVED_REPLY_KEEP: (TEAM, "reply to customers"),
}
VIEWS: dict[str, tuple[str, str]] = {
    ids.VIEW_REPLY: (TEAM, "reply to customers"),
    ids.VIEW_IGNORE: (TEAM, "ignore cases"),
    ids.VIEW_RESOLVE: (TEAM, "resolve cases"),
    ids.VIEW_TAKE_OVER: (MANAGERS, "take over a teammate's case"),
    ids.VIEW_FOLLOW_UP: (TEAM, "set follow-ups"),
    ids.VIEW_REASSIGN: (MANAGERS, "reassign cases"),
    ids.VIEW_MOVE_TO_DM: (TEAM, "move a conversation to direct messages"),
}
COMMANDS: dict[str, tuple[str, str]] = {
    "mine": (TEAM, "list their cases with `/care mine`"),
    "digest": (MANAGERS, "ask for the digest with `/care digest`"),
}
TEAM_VIEW = (TEAM, "see the cases")  # the Home tab's queues
ANYTHING = (TEAM, "act on cases")  # a button or modal not listed above still needs the team
TAKE_OVER = VIEWS[ids.VIEW_TAKE_OVER]


def delivery_key(body: dict[str, Any]) -> tuple[str, str] | None:
    """(key, kind) of a delivery that must act once; None for what may repeat (commands, unknown types).

    A click is the same click if its action_ts, user, action and value are. A submission is the same if
    its view id, hash, user and state are: after an inline error Slack keeps the view id and hash while
    the person corrects the input, so the submitted values are part of the key.
    """
    kind = body.get("type")
    user = (body.get("user") or {}).get("id")
    if kind == "block_actions":
        acts = [
            [a.get("action_ts"), a.get("action_id"), a.get("block_id"), a.get("value"), a.get("selected_option")]
            for a in body.get("actions") or []
        ]
        return once.key_of(kind, user, acts), kind
    if kind in ("view_submission", "view_closed"):
        view = body.get("view") or {}
        state = (view.get("state") or {}).get("values")
        return once.key_of(kind, user, view.get("id"), view.get("hash"), view.get("private_metadata"), state), kind
    if kind == "event_callback" and body.get("event_id"):
        return once.key_of(kind, body["event_id"]), kind
    return None


def once_only(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:  # noqa: A002
    """Claim the delivery's key before anything acts; a repeat is acknowledged and goes no further."""
    found = delivery_key(body)
    if found is not None:
        key, kind = found
        rt = context["rt"]
        try:
            first = rt.write(once.Claiming(key=key, kind=kind, now=rt.now()), timeout=ONCE_WAIT)
        except TimeoutError:  # the key is still being stored: act now rather than ack late (a retry finds it)
            logger.warning("storing a %s's delivery key took over %.1f s; acting on it all the same", kind, ONCE_WAIT)
            first = True
        if not first:
            logger.info("a repeated %s was acknowledged without acting again", kind)
            return BoltResponse(status=200, body="")
        context["once_key"] = key
    next()
    return None


def release(context: BoltContext) -> None:
    """The submission did not act (a problem shown in the modal): the corrected submit must be free to."""
    key = context.get("once_key")
    if not key:
        return
    rt = context["rt"]
    with rt.unit() as s:
        once.release(s, key=key)


def need_of(body: dict[str, Any]) -> tuple[str, str] | None:
    """What a button or modal payload needs; None for what anyone may do (events, commands' acks)."""
    kind = body.get("type")
    if kind == "block_actions":
        action = ((body.get("actions") or [{}])[0] or {}).get("action_id", "")
        return ACTIONS.get(action, ANYTHING)
    if kind in ("view_submission", "view_closed"):
        return VIEWS.get((body.get("view") or {}).get("callback_id", ""), ANYTHING)
    return None


def team(context: BoltContext) -> access.Team:
    """The team as cached for this app; raises `access.TeamUnknown` when Slack cannot say."""
    cache: access.TeamCache = context["team"]
    return cache.get()


def check(context: BoltContext, user_id: str, need: tuple[str, str]) -> None:
    access.check(team(context), user_id=user_id, need=need[0], what=need[1])


def admit(context: BoltContext, body: dict[str, Any]) -> None:
    """Raise a `UserError` (shown to the person) unless they may do what this payload asks."""
    need = need_of(body)
    if need is None:
        return
    try:
        check(context, str((body.get("user") or {}).get("id") or ""), need)
    except access.NotAllowed as refused:
        raise access.NotAllowed(f"{refused} Nothing was changed.") from None


def load_team(slack: WebClient, settings: Settings) -> access.Team:
    """Ask Slack who is on the team: CARE_TEAM's groups, or the care channel's members (every page)."""
    try:
        groups = {group: _group_members(slack, group) for group in settings.care_team if group.startswith("S")}
        channel = _channel_members(slack, settings.care_channel) if not settings.care_team else []
    except (SlackClientError, OSError, KeyError, TypeError) as exc:
        logger.warning("could not look up the care team: %s", _why(exc))
        raise access.TeamUnknown() from exc
    return access.team_from(
        configured=settings.care_team, managers=settings.managers, channel_members=channel, group_members=groups
    )


def _channel_members(slack: WebClient, channel: str) -> list[str]:
    members: list[str] = []
    cursor: str | None = None
    while True:
        page = slack.conversations_members(channel=channel, limit=200, cursor=cursor)
        members += page["members"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return members


def _group_members(slack: WebClient, group: str) -> list[str]:
    return list(slack.usergroups_users_list(usergroup=group)["users"])


def _why(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("error")) if response is not None else type(exc).__name__
