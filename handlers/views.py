"""Modal submissions. Input is checked before the ack, so problems show inline in the modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from bot.blocks import ids
from bot.errors import UserError
from bot.runtime import Runtime
from bot.services import cases, followups, replies
from handlers import guarded


def _case_id(view: dict[str, Any]) -> int:
    return int(json.loads(view.get("private_metadata") or "{}")["case_id"])


def _state(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    """What Slack sent for one input of the submitted modal ({} if it sent nothing)."""
    return view.get("state", {}).get("values", {}).get(block, {}).get(action, {})


def _value(view: dict[str, Any], block: str, action: str) -> str | None:
    state = _state(view, block, action)
    if "selected_option" in state:
        return (state.get("selected_option") or {}).get("value")
    return state.get("value")


def _selected(view: dict[str, Any], block: str, action: str) -> list[str]:
    state = _state(view, block, action)
    return [option.get("value") for option in state.get("selected_options") or []]


def _follow_up_error(exc: followups.FollowUpInvalid) -> dict[str, str]:
    block = ids.CUSTOM_BLOCK if exc.field == "custom" else ids.FOLLOW_UP_BLOCK
    return {block: str(exc)}


def register(app: App, rt: Runtime) -> None:
    def on_reply_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        text = _value(view, ids.REPLY_BLOCK, ids.REPLY_INPUT) or ""
        try:
            follow_up = followups.due_from_choice(
                _value(view, ids.FOLLOW_UP_BLOCK, ids.FOLLOW_UP_INPUT),
                _value(view, ids.CUSTOM_BLOCK, ids.CUSTOM_INPUT), now=rt.now(), tz=rt.settings.timezone)
            with rt.unit() as s:
                case = cases.get_case(s, _case_id(view))
                replies.submit_reply(s, case_id=case.id, user_id=body["user"]["id"], text=text,
                                     rule=rt.length_rule(case.connector, case.platform), now=rt.now(),
                                     follow_up=follow_up)
        except followups.FollowUpInvalid as exc:
            ack(response_action="errors", errors=_follow_up_error(exc))
            return
        except UserError as exc:
            ack(response_action="errors", errors={ids.REPLY_BLOCK: str(exc)})
            return
        ack()

    def on_reply_closed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        with rt.unit() as s:
            cases.stop_drafting(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(),
                                draft=_value(view, ids.REPLY_BLOCK, ids.REPLY_INPUT))

    def on_ignore(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            with rt.unit() as s:
                cases.ignore(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(),
                             reason=_value(view, ids.CHOICE_BLOCK, ids.CHOICE_INPUT) or "",
                             comment=_value(view, ids.COMMENT_BLOCK, ids.COMMENT_INPUT))
        except UserError as exc:
            ack(response_action="errors", errors={ids.CHOICE_BLOCK: str(exc)})
            return
        ack()

    def on_resolve(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Resolve; the closing reply (offered after a move to DM) goes out only if its box is ticked."""
        confirmed = ids.CONFIRM_POST in _selected(view, ids.CONFIRM_BLOCK, ids.CONFIRM_INPUT)
        closing = (_value(view, ids.CLOSING_BLOCK, ids.CLOSING_INPUT) or "") if confirmed else None
        try:
            with rt.unit() as s:
                case = cases.get_case(s, _case_id(view))
                replies.resolve(s, case_id=case.id, user_id=body["user"]["id"], now=rt.now(),
                                outcome=_value(view, ids.CHOICE_BLOCK, ids.CHOICE_INPUT) or "",
                                comment=_value(view, ids.COMMENT_BLOCK, ids.COMMENT_INPUT),
                                closing=closing, rule=rt.length_rule(case.connector, case.platform))
        except replies.ClosingReplyProblem as exc:
            ack(response_action="errors", errors={ids.CLOSING_BLOCK: str(exc)})
            return
        except UserError as exc:
            ack(response_action="errors", errors={ids.CHOICE_BLOCK: str(exc)})
            return
        ack()

    def on_follow_up(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            with rt.unit() as s:
                followups.choose(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(),
                                 choice=_value(view, ids.FOLLOW_UP_BLOCK, ids.FOLLOW_UP_INPUT),
                                 custom=_value(view, ids.CUSTOM_BLOCK, ids.CUSTOM_INPUT),
                                 tz=rt.settings.timezone)
        except followups.FollowUpInvalid as exc:
            ack(response_action="errors", errors=_follow_up_error(exc))
            return
        except UserError as exc:
            ack(response_action="errors", errors={ids.FOLLOW_UP_BLOCK: str(exc)})
            return
        ack()

    def on_reassign(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        new_owner = _state(view, ids.ASSIGNEE_BLOCK, ids.ASSIGNEE_INPUT).get("selected_user") or ""
        try:
            with rt.unit() as s:
                cases.reassign(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(),
                               new_owner=new_owner)
        except UserError as exc:
            ack(response_action="errors", errors={ids.ASSIGNEE_BLOCK: str(exc)})
            return
        ack()

    def on_take_over(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        with rt.unit() as s:
            cases.claim(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(), take_over=True)

    app.view_submission(ids.VIEW_REPLY)(guarded(rt, on_reply_submit))
    app.view_closed(ids.VIEW_REPLY)(guarded(rt, on_reply_closed))
    app.view_submission(ids.VIEW_IGNORE)(guarded(rt, on_ignore))
    app.view_submission(ids.VIEW_RESOLVE)(guarded(rt, on_resolve))
    app.view_submission(ids.VIEW_TAKE_OVER)(guarded(rt, on_take_over))
    app.view_submission(ids.VIEW_FOLLOW_UP)(guarded(rt, on_follow_up))
    app.view_submission(ids.VIEW_REASSIGN)(guarded(rt, on_reassign))
