"""Driving the Reply and Move to DM modals as Slack does: a control clicked inside a modal (block_actions with the
view's state), a modal submitted as it is shown, and Move to DM confirmed as proposed."""

from __future__ import annotations

import time
from typing import Any

from tests.support.desk import Desk
from tests.support.slack_requests import post_interaction

KEEP = {"text": {"type": "plain_text", "text": "Keep what I've written"}, "value": "keep"}


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A modal's input blocks by block id."""
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def as_shown(view: dict[str, Any], **typed: str) -> dict[str, Any]:
    """The state Slack sends for a modal submitted as shown: each text input's initial value, unless `typed` gives
    another for its block id."""
    values: dict[str, Any] = {}
    for block_id, block in inputs(view).items():
        element = block["element"]
        if element["type"] == "plain_text_input":
            value = typed.get(block_id, element.get("initial_value"))
            values[block_id] = {element["action_id"]: {"type": "plain_text_input", "value": value}}
    return values


def reply_block(view: dict[str, Any]) -> str:
    return next(block_id for block_id in inputs(view) if block_id.split("~")[0] == "reply")


def menu_block(view: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b["type"] == "actions" and b["block_id"].startswith("saved_reply"))


def pick_saved_reply(
    desk: Desk,
    view: dict[str, Any],
    reply_id: str,
    *,
    text: str | None,
    keep: bool = True,
    user: str = "U0ALICE",
    view_id: str = "V0REPLY",
    view_hash: str = "1795000000.abc",
) -> None:
    """The person picks a saved reply in the open Reply modal, with `text` in the reply and the keep box as given."""
    menu = menu_block(view)
    values = {
        reply_block(view): {"text": {"type": "plain_text_input", "value": text}},
        menu["block_id"]: {
            "reply_saved_pick": {"type": "static_select", "selected_option": {"value": reply_id}},
            "reply_saved_keep": {"type": "checkboxes", "selected_options": [KEEP] if keep else []},
        },
    }
    payload = {
        "type": "block_actions",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "api_app_id": "A0CARE",
        "trigger_id": f"{int(time.time())}.{user}.trigger",
        "container": {"type": "view", "view_id": view_id},
        "view": {**view, "id": view_id, "hash": view_hash, "state": {"values": values}},
        "actions": [
            {
                "action_id": "reply_saved_pick",
                "block_id": menu["block_id"],
                "type": "static_select",
                "selected_option": {"value": reply_id, "text": {"type": "plain_text", "text": reply_id}},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    response = post_interaction(desk.url, payload)
    assert response.status_code == 200, response.text
    desk.settle()


def move_to_dm(desk: Desk, case_id: int, user: str = "U0ALICE", **typed: str) -> dict[str, Any]:
    """Move to DM: click, then send the two texts as the modal proposes them (or as `typed` by block id); the
    answer to the submission ({} when the modal closed)."""
    desk.click("case_move_to_dm", case_id, user=user)
    view = desk.last_view()
    assert view["callback_id"] == "move_to_dm_modal"
    return desk.submit(view, as_shown(view, **typed), user=user)
