"""Modal submissions. Input is checked before the ack, so problems show inline in the modal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App

from bot import blocks
from bot.errors import UserError
from bot.runtime import Runtime
from handlers import guarded
from bot.services import cases, replies


def _case_id(view: dict[str, Any]) -> int:
    return int(json.loads(view.get("private_metadata") or "{}")["case_id"])


def _value(view: dict[str, Any], block: str, action: str) -> str | None:
    state = view.get("state", {}).get("values", {}).get(block, {}).get(action, {})
    if "selected_option" in state:
        return (state.get("selected_option") or {}).get("value")
    return state.get("value")


def register(app: App, rt: Runtime) -> None:
    def on_reply_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        text = _value(view, blocks.REPLY_BLOCK, blocks.REPLY_INPUT) or ""
        try:
            with rt.unit() as s:
                case = cases.get_case(s, _case_id(view))
                replies.submit_reply(s, case_id=case.id, user_id=body["user"]["id"], text=text,
                                     rule=rt.length_rule(case.connector, case.platform), now=rt.now())
        except UserError as exc:
            ack(response_action="errors", errors={blocks.REPLY_BLOCK: str(exc)})
            return
        ack()

    def on_reply_closed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        with rt.unit() as s:
            cases.stop_drafting(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(),
                                draft=_value(view, blocks.REPLY_BLOCK, blocks.REPLY_INPUT))

    def on_choice(kind: str) -> Any:
        def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            choice = _value(view, blocks.CHOICE_BLOCK, blocks.CHOICE_INPUT)
            comment = _value(view, blocks.COMMENT_BLOCK, blocks.COMMENT_INPUT)
            try:
                with rt.unit() as s:
                    action = cases.ignore if kind == "ignore" else cases.resolve
                    key = "reason" if kind == "ignore" else "outcome"
                    action(s, case_id=_case_id(view), user_id=body["user"]["id"], comment=comment, now=rt.now(),
                           **{key: choice or ""})
            except UserError as exc:
                ack(response_action="errors", errors={blocks.CHOICE_BLOCK: str(exc)})
                return
            ack()

        return submit

    def on_take_over(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        with rt.unit() as s:
            cases.claim(s, case_id=_case_id(view), user_id=body["user"]["id"], now=rt.now(), take_over=True)

    app.view_submission(blocks.VIEW_REPLY)(guarded(rt, on_reply_submit))
    app.view_closed(blocks.VIEW_REPLY)(guarded(rt, on_reply_closed))
    app.view_submission(blocks.VIEW_IGNORE)(guarded(rt, on_choice("ignore")))
    app.view_submission(blocks.VIEW_RESOLVE)(guarded(rt, on_choice("resolve")))
    app.view_submission(blocks.VIEW_TAKE_OVER)(guarded(rt, on_take_over))
