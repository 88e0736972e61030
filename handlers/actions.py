"""Buttons on a case message, its notes and its reminders. Each is acknowledged at once; the work
(database, Slack) happens after."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from bot.blocks import ids
from bot.blocks import modals
from bot.errors import OwnedByOther
from bot.runtime import Runtime
from bot.services import cases, followups, reminders, replies
from handlers import ack_then, clicked_case_id, user_id


def register(app: App, rt: Runtime) -> None:
    def claim(body: dict[str, Any], client: WebClient) -> None:
        case_id = clicked_case_id(body)
        try:
            with rt.unit() as s:
                cases.claim(s, case_id=case_id, user_id=user_id(body), now=rt.now())
        except OwnedByOther as exc:
            client.views_open(trigger_id=body["trigger_id"], view=modals.take_over_modal(case_id, exc.owner_id))

    def reply(body: dict[str, Any], client: WebClient) -> None:
        uid = user_id(body)
        with rt.unit() as s:
            case = cases.get_case(s, clicked_case_id(body))
            other = cases.someone_else_drafting(case, user_id=uid, now=rt.now())
            cases.start_drafting(s, case_id=case.id, user_id=uid, now=rt.now())
            rule = rt.length_rule(case.connector, case.platform)
            note = "Links count as 23 characters." if rule.count("http://x") != len("http://x") else ""
            view = modals.reply_modal(case, limit=rule.limit, limit_note=note, draft=case.draft_text,
                                      warning=f"<@{other}> is drafting a reply to this customer right now."
                                      if other else None)
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError:
            with rt.unit() as s:  # no modal, so nobody is drafting
                cases.stop_drafting(s, case_id=case.id, user_id=uid, now=rt.now())
            raise

    def move_to_dm(body: dict[str, Any]) -> None:
        uid = user_id(body)
        agent = rt.first_name(uid)
        settings = rt.settings
        with rt.unit() as s:
            case = cases.get_case(s, clicked_case_id(body))
            private = settings.private_template if rt.can_message_privately(case.connector, case.platform) else None
            unavailable = rt.private_message_problem(case.connector, case.latest_mention.posted_at) if private else None
            replies.move_to_dm(s, case_id=case.id, user_id=uid, agent_first_name=agent,
                               template=settings.move_to_dm_template,
                               private_template=None if unavailable else private,
                               private_unavailable=unavailable,
                               contact=rt.contact_route(case.connector), now=rt.now())

    def escalate(body: dict[str, Any]) -> None:
        with rt.unit() as s:
            cases.escalate(s, case_id=clicked_case_id(body), user_id=user_id(body), now=rt.now(),
                           targets=rt.settings.care_escalate_to)

    def ignore(body: dict[str, Any], client: WebClient) -> None:
        with rt.unit() as s:
            case_id = cases.require_open(s, clicked_case_id(body)).id
        client.views_open(trigger_id=body["trigger_id"], view=modals.ignore_modal(case_id))

    def resolve(body: dict[str, Any], client: WebClient) -> None:
        with rt.unit() as s:
            case = cases.require_open(s, clicked_case_id(body))
            moved = case.moved_offline_at is not None
        closing, limit = None, None
        if moved:  # offer a public closing reply, so onlookers see the DM conversation ended well
            closing = replies.closing_text(case, template=rt.settings.closing_template,
                                           agent_first_name=rt.first_name(user_id(body)))
            limit = rt.length_rule(case.connector, case.platform).limit
        client.views_open(trigger_id=body["trigger_id"], view=modals.resolve_modal(case, closing=closing, limit=limit))

    def reopen(body: dict[str, Any]) -> None:
        with rt.unit() as s:
            cases.reopen(s, case_id=clicked_case_id(body), user_id=user_id(body), now=rt.now())

    def open_follow_up_modal(case_id: int, body: dict[str, Any], client: WebClient) -> None:
        with rt.unit() as s:
            view = modals.follow_up_modal(cases.require_open(s, case_id))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    def follow_up(body: dict[str, Any], client: WebClient) -> None:
        open_follow_up_modal(clicked_case_id(body), body, client)

    def follow_up_pick(body: dict[str, Any], client: WebClient) -> None:
        """The one-click menu under the move-to-DM note; Custom… opens the Follow up modal."""
        case_id, choice = picked(body)
        if choice == followups.CUSTOM:
            open_follow_up_modal(case_id, body, client)
            return
        with rt.unit() as s:
            followups.choose(s, case_id=case_id, user_id=user_id(body), choice=choice, custom=None, now=rt.now(),
                             tz=rt.settings.timezone)

    def snooze(body: dict[str, Any]) -> None:
        with rt.unit() as s:
            reminders.snooze(s, case_id=clicked_case_id(body), user_id=user_id(body), now=rt.now())

    def reassign(body: dict[str, Any], client: WebClient) -> None:
        with rt.unit() as s:
            view = modals.reassign_modal(cases.require_open(s, clicked_case_id(body)))
        client.views_open(trigger_id=body["trigger_id"], view=view)

    ack_then(app.action(ids.ACTION_CLAIM), rt, claim)
    ack_then(app.action(ids.ACTION_REPLY), rt, reply)
    ack_then(app.action(ids.ACTION_MOVE_TO_DM), rt, move_to_dm)
    ack_then(app.action(ids.ACTION_ESCALATE), rt, escalate)
    ack_then(app.action(ids.ACTION_IGNORE), rt, ignore)
    ack_then(app.action(ids.ACTION_RESOLVE), rt, resolve)
    ack_then(app.action(ids.ACTION_REOPEN), rt, reopen)
    ack_then(app.action(ids.ACTION_FOLLOW_UP), rt, follow_up)
    ack_then(app.action(ids.ACTION_FOLLOW_UP_PICK), rt, follow_up_pick)
    ack_then(app.action(ids.ACTION_SNOOZE), rt, snooze)
    ack_then(app.action(ids.ACTION_REASSIGN), rt, reassign)


def picked(body: dict[str, Any]) -> tuple[int, str]:
    """A follow-up menu choice: its option value is `<case id>:<choice>`."""
    case_id, _, choice = str(body["actions"][0]["selected_option"]["value"]).partition(":")
    return int(case_id), choice
