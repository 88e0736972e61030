"""The modals staff fill in: reply, ignore, resolve, take over, follow up, reassign. Plain data in, view dicts out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.blocks import limits
from bot.blocks.case import customer_label, slack_date
from bot.blocks.ids import (
    ASSIGNEE_BLOCK,
    ASSIGNEE_INPUT,
    CHOICE_BLOCK,
    CHOICE_INPUT,
    CLOSING_BLOCK,
    CLOSING_INPUT,
    COMMENT_BLOCK,
    COMMENT_INPUT,
    CONFIRM_BLOCK,
    CONFIRM_INPUT,
    CONFIRM_POST,
    CUSTOM_BLOCK,
    CUSTOM_INPUT,
    FOLLOW_UP_BLOCK,
    FOLLOW_UP_INPUT,
    REPLY_BLOCK,
    REPLY_INPUT,
    VIEW_FOLLOW_UP,
    VIEW_IGNORE,
    VIEW_REASSIGN,
    VIEW_REPLY,
    VIEW_RESOLVE,
    VIEW_TAKE_OVER,
)
from bot.blocks.mrkdwn import Blocks, inert, option, platform_label, quote
from bot.models import Case
from bot.services.cases import IGNORE_REASONS, OUTCOMES
from bot.services.followups import CLEAR, CUSTOM
from bot.services.followups import LABELS as FOLLOW_UP_LABELS


def _modal(
    callback_id: str,
    title: str,
    blocks: Blocks,
    *,
    submit: str,
    metadata: dict[str, Any],
    notify_on_close: bool = False,
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": limits.plain(title, limits.VIEW_TITLE),
        "submit": limits.plain(submit, limits.VIEW_TITLE),
        "close": limits.plain("Cancel", limits.VIEW_TITLE),
        "private_metadata": json.dumps(metadata),
        "notify_on_close": notify_on_close,
        "blocks": blocks[: limits.VIEW_BLOCKS],
    }


FULL_POST = "\n_The full post is in the case thread._"  # after the start of a post too long for the modal


def reply_modal(case: Case, *, limit: int, limit_note: str, draft: str | None, warning: str | None) -> dict[str, Any]:
    said, head = inert(case.latest_mention.text), f"*{customer_label(case)}* wrote:\n"
    room = limits.SECTION_TEXT - limits.size(head) - limits.size(FULL_POST)
    shown = quote(said, room)
    if len(limits.quoted_parts(said, room)) > 1:  # the modal shows the start; the thread has it all
        shown += FULL_POST
    blocks: Blocks = [limits.section(head + shown)]
    if warning:
        blocks.append(limits.context(f":warning: {warning}"))
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": REPLY_INPUT,
        "multiline": True,
        "focus_on_load": True,
    }
    if draft:
        element["initial_value"] = limits.head(draft, limits.INPUT_VALUE)  # at most what the input holds
    blocks.append(
        {
            "type": "input",
            "block_id": REPLY_BLOCK,
            "element": element,
            "label": limits.plain(
                f"Public reply on {platform_label(case.platform).split(' ', 1)[-1]} (up to {limit} characters)",
                limits.INPUT_LABEL,
            ),
            "hint": limits.plain(f"Sent publicly as a reply to their post. {limit_note}".strip(), limits.INPUT_HINT),
        }
    )
    blocks += follow_up_inputs(optional=True)
    return _modal(VIEW_REPLY, "Reply", blocks, submit="Send", metadata={"case_id": case.id}, notify_on_close=True)


def _choice_modal(
    callback_id: str, title: str, question: str, options: dict[str, str], case_id: int, submit: str
) -> dict[str, Any]:
    blocks: Blocks = [
        {
            "type": "input",
            "block_id": CHOICE_BLOCK,
            "label": {"type": "plain_text", "text": question},
            "element": {
                "type": "radio_buttons",
                "action_id": CHOICE_INPUT,
                "options": [
                    {"text": {"type": "plain_text", "text": label}, "value": value} for value, label in options.items()
                ],
            },
        },
        {
            "type": "input",
            "block_id": COMMENT_BLOCK,
            "optional": True,
            "label": {"type": "plain_text", "text": "Note for the team (optional)"},
            "element": {"type": "plain_text_input", "action_id": COMMENT_INPUT, "max_length": 500},
        },
    ]
    return _modal(callback_id, title, blocks, submit=submit, metadata={"case_id": case_id})


def ignore_modal(case_id: int) -> dict[str, Any]:
    return _choice_modal(
        VIEW_IGNORE, "Ignore case", "Why ignore it? Nothing is sent to the customer.", IGNORE_REASONS, case_id, "Ignore"
    )


def resolve_modal(case: Case, *, closing: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """How did it end; for a case that moved to DM, also an optional public closing reply (sent only if ticked)."""
    view = _choice_modal(VIEW_RESOLVE, "Resolve case", "How did it end?", OUTCOMES, case.id, "Resolve")
    if closing is not None:
        where = platform_label(case.platform).split(" ", 1)[-1]
        view["blocks"] += [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        "This case moved to DM, so onlookers of the public post never saw how it ended. "
                        "A short public reply shows them it was sorted."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": CLOSING_BLOCK,
                "optional": True,
                "label": {
                    "type": "plain_text",
                    "text": f"Public closing reply on {where}" + (f" (up to {limit} characters)" if limit else ""),
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": CLOSING_INPUT,
                    "multiline": True,
                    "initial_value": limits.head(closing, limits.INPUT_VALUE),
                },
            },
            {
                "type": "input",
                "block_id": CONFIRM_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Send it?"},
                "element": {
                    "type": "checkboxes",
                    "action_id": CONFIRM_INPUT,
                    "options": [option(f"Yes, post this reply publicly on {where}", CONFIRM_POST)],
                },
            },
        ]
    return view


def take_over_modal(case_id: int, owner_id: str) -> dict[str, Any]:
    blocks: Blocks = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"<@{owner_id}> already owns this case. Take it over? They will see it in the thread.",
            },
        }
    ]
    return _modal(VIEW_TAKE_OVER, "Take over case?", blocks, submit="Take over", metadata={"case_id": case_id})


def follow_up_inputs(*, optional: bool, current: datetime | None = None) -> Blocks:
    """'Follow up in …' with presets, and a field for a custom duration (`90m`, `2d`)."""
    options = [option(label, key) for key, label in FOLLOW_UP_LABELS.items() if key != CLEAR or current]
    return [
        {
            "type": "input",
            "block_id": FOLLOW_UP_BLOCK,
            "optional": optional,
            "label": {"type": "plain_text", "text": "Follow up in…" + (" (optional)" if optional else "")},
            "hint": {
                "type": "plain_text",
                "text": "When it is due, the case owner is reminded in the thread and by DM.",
            },
            "element": {
                "type": "static_select",
                "action_id": FOLLOW_UP_INPUT,
                "options": options,
                "placeholder": {"type": "plain_text", "text": "No follow-up" if optional else "Choose"},
            },
        },
        {
            "type": "input",
            "block_id": CUSTOM_BLOCK,
            "optional": True,
            "label": {"type": "plain_text", "text": "Custom follow-up"},
            "hint": {
                "type": "plain_text",
                "text": f"With “{FOLLOW_UP_LABELS[CUSTOM]}”: a duration like 90m, 4h or 2d.",
            },
            "element": {"type": "plain_text_input", "action_id": CUSTOM_INPUT, "max_length": 20},
        },
    ]


def follow_up_modal(case: Case) -> dict[str, Any]:
    current = (
        f"A follow-up is set for {slack_date(case.follow_up_at)} by <@{case.follow_up_by}>."
        if case.follow_up_at
        else "No follow-up is set for this case."
    )
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": current}}]
    blocks += follow_up_inputs(optional=False, current=case.follow_up_at)
    return _modal(VIEW_FOLLOW_UP, "Follow up", blocks, submit="Save", metadata={"case_id": case.id})


def reassign_modal(case: Case) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "users_select",
        "action_id": ASSIGNEE_INPUT,
        "placeholder": {"type": "plain_text", "text": "Pick a teammate"},
    }
    owner = f"<@{case.owner_id}> owns it now." if case.owner_id else "Nobody owns it yet."
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"Who should take case #{case.id}? {owner}"}},
        {
            "type": "input",
            "block_id": ASSIGNEE_BLOCK,
            "label": {"type": "plain_text", "text": "New owner"},
            "element": element,
        },
    ]
    return _modal(VIEW_REASSIGN, "Reassign case", blocks, submit="Reassign", metadata={"case_id": case.id})
