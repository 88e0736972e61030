"""Buttons on a case message, its notes and its reminders. Each is acknowledged at once; the work
(database, Slack) happens after."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import ids, modals
from bot.errors import OwnedByOther
from bot.runtime import Runtime
from bot.services import cases, followups, playbook, reminders, replies, surge, wins
from bot.services.access import NotAllowed
from handlers.gate import TAKE_OVER, team
from handlers.listener import ack_then, clicked_case_id, clicked_message, runtime, user_id


def register(app: App) -> None:
    ack_then(app.action(ids.ACTION_CLAIM), claim)
    ack_then(app.action(ids.ACTION_REPLY), reply)
    ack_then(app.action(ids.ACTION_MOVE_TO_DM), move_to_dm)  # opens the Move to DM modal (handlers/views.py sends)
    ack_then(app.action(ids.ACTION_ESCALATE), escalate)
    ack_then(app.action(ids.ACTION_IGNORE), ignore)
    ack_then(app.action(ids.ACTION_RESOLVE), resolve)
    ack_then(app.action(ids.ACTION_REOPEN), reopen)
    ack_then(app.action(ids.ACTION_FOLLOW_UP), follow_up)
    ack_then(app.action(ids.ACTION_FOLLOW_UP_PICK), follow_up_pick)
    ack_then(app.action(ids.ACTION_SNOOZE), snooze)
    ack_then(app.action(ids.ACTION_REASSIGN), reassign)
    ack_then(app.action(ids.ACTION_OPEN_GATHERED), open_gathered)
    ack_then(app.action(ids.ACTION_THANK), thank)
    ack_then(app.action(ids.ACTION_SHARE_WIN), share_win)


def claim(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt, case_id = runtime(context), clicked_case_id(body)
    try:
        rt.change_case(
            case_id,
            lambda s: cases.claim(s, case_id=case_id, user_id=user_id(body), now=rt.now()),
            clicked_message(body),
        )
    except OwnedByOther as exc:  # only a manager is offered to take it over
        if not team(context).allows(user_id(body), TAKE_OVER[0]):
            raise NotAllowed(f"{exc} Only managers can take over a teammate's case.") from exc
        client.views_open(trigger_id=body["trigger_id"], view=modals.take_over_modal(case_id, exc.owner_id))


def reply(body: dict[str, Any], client: WebClient, context: BoltContext, *, thanks: bool = False) -> None:
    rt, uid = runtime(context), user_id(body)
    agent, book = rt.first_name(uid), playbook.configured(rt.settings.playbook_file)
    with rt.unit() as s:
        draft = cases.open_reply(s, case_id=clicked_case_id(body), user_id=uid, now=rt.now())
        case = draft.case
        # A waiting draft comes first (it is never thrown away); else Thank's warm reply naming both, or the
        # playbook's greeting and sign-off with a line to write in
        start = wins.thank_text(case, agent_first_name=agent) if thanks else book.start(_names(rt, case, agent))
        ways = replies.reply_ways(case, private_problem=rt.private_problem(case))
        warning = (
            f"<@{draft.other_drafter}> is drafting a reply to this customer right now." if draft.other_drafter else None
        )
        view = modals.reply_modal(
            case,
            ways=ways,
            limits_by_way={way: _limit(rt, case, way) for way in (replies.PUBLIC, replies.PRIVATE)},
            draft=case.draft_text or start,
            warning=warning,
            saved=book.replies,
            agent=agent,
            last_note=draft.last_note,
            started=not case.draft_text,
        )
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError:
        with rt.unit() as s:  # no modal, so nobody is drafting
            cases.stop_drafting(s, case_id=case.id, user_id=uid, now=rt.now())
        raise


def _limit(rt: Runtime, case: Any, way: str) -> modals.Limit:
    rule = rt.length_rule(case.connector, case.platform, private=way == replies.PRIVATE)
    return modals.Limit(rule.limit, rule.unit, rule.describe())


def thank(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Praise: the Reply modal, with a thank-you in it to edit; it is sent through the normal Reply path."""
    reply(body, client, context, thanks=True)


def share_win(body: dict[str, Any], context: BoltContext) -> None:
    rt, case_id = runtime(context), clicked_case_id(body)
    channel = rt.settings.wins_channel
    rt.change_case(
        case_id,
        lambda s: wins.share(s, case_id=case_id, user_id=user_id(body), channel=channel, now=rt.now()),
        clicked_message(body),
    )


def _names(rt: Runtime, case: Any, agent: str) -> playbook.Names:
    contact = rt.contact_route(case.connector)
    return replies.names_for(case, agent=agent, contact=contact, policy=rt.settings.sla, now=rt.now())


def move_to_dm(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The Move to DM modal: both texts, first names filled in, to edit and confirm (handlers/views.py sends)."""
    rt, uid = runtime(context), user_id(body)
    agent, settings = rt.first_name(uid), rt.settings
    with rt.unit() as s:
        case = cases.get_case(s, clicked_case_id(body))
        draft = replies.move_to_dm_draft(
            s,
            case_id=case.id,
            names=_names(rt, case, agent),
            template=settings.move_to_dm_template,
            private_template=settings.private_template,
            unavailable=rt.private_problem(case),
            book=playbook.configured(settings.playbook_file),
        )
        rule = rt.length_rule(case.connector, case.platform)
        view = modals.move_to_dm_modal(
            case,
            public=draft.public,
            private=draft.private,
            unavailable=draft.unavailable,
            limit=rule.limit,
            unit=rule.unit,
            limit_note=rule.describe(),
            agent=agent,
        )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def escalate(body: dict[str, Any], context: BoltContext) -> None:
    rt, case_id = runtime(context), clicked_case_id(body)
    targets = rt.settings.care_escalate_to
    rt.change_case(
        case_id,
        lambda s: cases.escalate(s, case_id=case_id, user_id=user_id(body), now=rt.now(), targets=targets),
        clicked_message(body),
    )


def ignore(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    with runtime(context).unit() as s:
        case_id = cases.require_open(s, clicked_case_id(body)).id
    client.views_open(trigger_id=body["trigger_id"], view=modals.ignore_modal(case_id))


def resolve(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    rt = runtime(context)
    with rt.unit() as s:
        case = cases.require_open(s, clicked_case_id(body))
    closing, limit = None, None
    if case.moved_offline_at is not None:  # a public closing reply, so onlookers see the DM conversation ended well
        closing = replies.closing_text(
            case, template=rt.settings.closing_template, agent_first_name=rt.first_name(user_id(body))
        )
        limit = rt.length_rule(case.connector, case.platform).limit
    client.views_open(trigger_id=body["trigger_id"], view=modals.resolve_modal(case, closing=closing, limit=limit))


def reopen(body: dict[str, Any], context: BoltContext) -> None:
    rt, case_id = runtime(context), clicked_case_id(body)
    rt.change_case(
        case_id, lambda s: cases.reopen(s, case_id=case_id, user_id=user_id(body), now=rt.now()), clicked_message(body)
    )


def _open_follow_up_modal(case_id: int, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    with runtime(context).unit() as s:
        view = modals.follow_up_modal(cases.require_open(s, case_id))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def follow_up(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    _open_follow_up_modal(clicked_case_id(body), body, client, context)


def follow_up_pick(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The one-click menu under the move-to-DM note; Custom… opens the Follow up modal."""
    rt = runtime(context)
    case_id, choice = picked(body)
    if choice == followups.CUSTOM:
        _open_follow_up_modal(case_id, body, client, context)
        return
    with rt.unit() as s:
        followups.choose(
            s, case_id=case_id, user_id=user_id(body), choice=choice, custom=None, now=rt.now(), tz=rt.settings.timezone
        )


def snooze(body: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)
    with rt.unit() as s:
        reminders.snooze(s, case_id=clicked_case_id(body), user_id=user_id(body), now=rt.now())


def reassign(body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    with runtime(context).unit() as s:
        view = modals.reassign_modal(cases.require_open(s, clicked_case_id(body)))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def picked(body: dict[str, Any]) -> tuple[int, str]:
    """A follow-up menu choice: its option value is `<case id>:<choice>`."""
    case_id, _, choice = str(body["actions"][0]["selected_option"]["value"]).partition(":")
    return int(case_id), choice


def open_gathered(body: dict[str, Any], context: BoltContext) -> None:
    """The "Open as case" button on a post gathered in a surge's thread: its case message is posted, and the batch
    says so."""
    rt = runtime(context)
    with rt.unit() as s:
        surge.open_gathered(s, case_id=clicked_case_id(body), user_id=user_id(body), now=rt.now())
