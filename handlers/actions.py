"""Buttons on a case message. Each is acknowledged at once; the work (database, Slack) happens after."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.errors import OwnedByOther
from bot.runtime import Runtime
from bot.services import cases, replies
from handlers import ack_then, clicked_case_id, user_id


def register(app: App, rt: Runtime) -> None:
    def claim(body: dict[str, Any], client: WebClient) -> None:
        case_id = clicked_case_id(body)
        try:
            with rt.unit() as s:
                cases.claim(s, case_id=case_id, user_id=user_id(body), now=rt.now())
        except OwnedByOther as exc:
            client.views_open(trigger_id=body["trigger_id"], view=blocks.take_over_modal(case_id, exc.owner_id))

    def reply(body: dict[str, Any], client: WebClient) -> None:
        uid = user_id(body)
        with rt.unit() as s:
            case = cases.get_case(s, clicked_case_id(body))
            other = cases.someone_else_drafting(case, user_id=uid, now=rt.now())
            cases.start_drafting(s, case_id=case.id, user_id=uid, now=rt.now())
            rule = rt.length_rule(case.connector, case.platform)
            note = "Links count as 23 characters." if rule.count("http://x") != len("http://x") else ""
            view = blocks.reply_modal(case, limit=rule.limit, limit_note=note, draft=case.draft_text,
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
        client.views_open(trigger_id=body["trigger_id"], view=blocks.ignore_modal(case_id))

    def resolve(body: dict[str, Any], client: WebClient) -> None:
        with rt.unit() as s:
            case_id = cases.require_open(s, clicked_case_id(body)).id
        client.views_open(trigger_id=body["trigger_id"], view=blocks.resolve_modal(case_id))

    def reopen(body: dict[str, Any]) -> None:
        with rt.unit() as s:
            cases.reopen(s, case_id=clicked_case_id(body), user_id=user_id(body), now=rt.now())

    ack_then(app.action(blocks.ACTION_CLAIM), rt, claim)
    ack_then(app.action(blocks.ACTION_REPLY), rt, reply)
    ack_then(app.action(blocks.ACTION_MOVE_TO_DM), rt, move_to_dm)
    ack_then(app.action(blocks.ACTION_ESCALATE), rt, escalate)
    ack_then(app.action(blocks.ACTION_IGNORE), rt, ignore)
    ack_then(app.action(blocks.ACTION_RESOLVE), rt, resolve)
    ack_then(app.action(blocks.ACTION_REOPEN), rt, reopen)
