"""Modal submissions. Input is checked before the ack, so problems show inline in the modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.blocks import ids
from bot.errors import UserError
from bot.services import cases, followups, replies
from handlers.errors import guarded, submission
from handlers.listener import runtime, user_id


def register(app: App) -> None:
    app.view_submission(ids.VIEW_REPLY)(guarded(on_reply_submit))
    app.view_closed(ids.VIEW_REPLY)(guarded(on_reply_closed))
    app.view_submission(ids.VIEW_IGNORE)(guarded(on_ignore))
    app.view_submission(ids.VIEW_RESOLVE)(guarded(on_resolve))
    app.view_submission(ids.VIEW_TAKE_OVER)(guarded(on_take_over))
    app.view_submission(ids.VIEW_FOLLOW_UP)(guarded(on_follow_up))
    app.view_submission(ids.VIEW_REASSIGN)(guarded(on_reassign))


STALE_FORM = "This form no longer matches a case. Please open it again from the case message."


def _case_id(view: dict[str, Any]) -> int:
    """The case a modal is about, from the metadata we set; anything else is answered in one sentence."""
    try:
        found = json.loads(view.get("private_metadata") or "{}")["case_id"]
        if isinstance(found, bool) or not isinstance(found, int | str):
            raise TypeError(found)
        return int(found)
    except (ValueError, TypeError, KeyError):
        raise UserError(STALE_FORM) from None


def _state(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    """What Slack sent for one input of the submitted modal ({} if it sent nothing)."""
    found: dict[str, Any] = view.get("state", {}).get("values", {}).get(block, {}).get(action, {})
    return found


def _value(view: dict[str, Any], block: str, action: str) -> str | None:
    state = _state(view, block, action)
    if "selected_option" in state:
        return (state.get("selected_option") or {}).get("value")
    return state.get("value")


def _selected(view: dict[str, Any], block: str, action: str) -> list[str]:
    state = _state(view, block, action)
    return [option.get("value") for option in state.get("selected_options") or []]


def _field_of(error: UserError) -> str | None:
    """The modal input a problem is about, where it is about a particular one."""
    if isinstance(error, followups.FollowUpInvalid):
        return ids.CUSTOM_BLOCK if error.field == "custom" else ids.FOLLOW_UP_BLOCK
    if isinstance(error, replies.ClosingReplyProblem):
        return ids.CLOSING_BLOCK
    return None


def on_reply_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)

    def send() -> None:
        follow_up = followups.due_from_choice(
            _value(view, ids.FOLLOW_UP_BLOCK, ids.FOLLOW_UP_INPUT),
            _value(view, ids.CUSTOM_BLOCK, ids.CUSTOM_INPUT),
            now=rt.now(),
            tz=rt.settings.timezone,
        )
        with rt.unit() as s:
            case = cases.get_case(s, _case_id(view))
            replies.submit_reply(
                s,
                case_id=case.id,
                user_id=user_id(body),
                text=_value(view, ids.REPLY_BLOCK, ids.REPLY_INPUT) or "",
                rule=rt.length_rule(case.connector, case.platform),
                now=rt.now(),
                follow_up=follow_up,
            )

    submission(ack, context=context, work=send, field=ids.REPLY_BLOCK, where=_field_of)


def on_reply_closed(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    ack()
    rt = runtime(context)
    with rt.unit() as s:
        cases.stop_drafting(
            s,
            case_id=_case_id(view),
            user_id=user_id(body),
            now=rt.now(),
            draft=_value(view, ids.REPLY_BLOCK, ids.REPLY_INPUT),
        )


def on_ignore(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)

    def ignore() -> None:
        with rt.unit() as s:
            cases.ignore(
                s,
                case_id=_case_id(view),
                user_id=user_id(body),
                now=rt.now(),
                reason=_value(view, ids.CHOICE_BLOCK, ids.CHOICE_INPUT) or "",
                comment=_value(view, ids.COMMENT_BLOCK, ids.COMMENT_INPUT),
            )

    submission(ack, context=context, work=ignore, field=ids.CHOICE_BLOCK)


def on_resolve(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    """Resolve; the closing reply (offered after a move to DM) goes out only if its box is ticked."""
    rt = runtime(context)
    confirmed = ids.CONFIRM_POST in _selected(view, ids.CONFIRM_BLOCK, ids.CONFIRM_INPUT)
    closing = (_value(view, ids.CLOSING_BLOCK, ids.CLOSING_INPUT) or "") if confirmed else None

    def resolve() -> None:
        with rt.unit() as s:
            case = cases.get_case(s, _case_id(view))
            replies.resolve(
                s,
                case_id=case.id,
                user_id=user_id(body),
                now=rt.now(),
                outcome=_value(view, ids.CHOICE_BLOCK, ids.CHOICE_INPUT) or "",
                comment=_value(view, ids.COMMENT_BLOCK, ids.COMMENT_INPUT),
                closing=closing,
                rule=rt.length_rule(case.connector, case.platform),
            )

    submission(ack, context=context, work=resolve, field=ids.CHOICE_BLOCK, where=_field_of)


def on_follow_up(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)

    def choose() -> None:
        with rt.unit() as s:
            followups.choose(
                s,
                case_id=_case_id(view),
                user_id=user_id(body),
                now=rt.now(),
                choice=_value(view, ids.FOLLOW_UP_BLOCK, ids.FOLLOW_UP_INPUT),
                custom=_value(view, ids.CUSTOM_BLOCK, ids.CUSTOM_INPUT),
                tz=rt.settings.timezone,
            )

    submission(ack, context=context, work=choose, field=ids.FOLLOW_UP_BLOCK, where=_field_of)


def on_reassign(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    rt = runtime(context)
    new_owner = _state(view, ids.ASSIGNEE_BLOCK, ids.ASSIGNEE_INPUT).get("selected_user") or ""

    def reassign() -> None:
        with rt.unit() as s:
            cases.reassign(s, case_id=_case_id(view), user_id=user_id(body), now=rt.now(), new_owner=new_owner)

    submission(ack, context=context, work=reassign, field=ids.ASSIGNEE_BLOCK)


def on_take_over(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
    ack()
    rt = runtime(context)
    with rt.unit() as s:
        cases.claim(s, case_id=_case_id(view), user_id=user_id(body), now=rt.now(), take_over=True)
