"""The modals staff fill in: reply, ignore, resolve, take over, follow up, reassign. Plain data in, view dicts out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.blocks import limits
from bot.blocks.case import customer_label, slack_date, thread_note
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
    PRIVATE_BLOCK,
    PRIVATE_INPUT,
    PUBLIC_BLOCK,
    PUBLIC_INPUT,
    REPLY_BLOCK,
    REPLY_INPUT,
    SEND_AS_BLOCK,
    SEND_AS_INPUT,
    VIEW_FOLLOW_UP,
    VIEW_IGNORE,
    VIEW_MOVE_TO_DM,
    VIEW_REASSIGN,
    VIEW_REPLY,
    VIEW_RESOLVE,
    VIEW_TAKE_OVER,
)
from bot.blocks.mrkdwn import Blocks, escape, inert, option, platform_label, quote
from bot.blocks.playbook import SEND, saved_replies_menu
from bot.models import Case, CaseEvent
from bot.services.cases import IGNORE_REASONS, OUTCOMES
from bot.services.coach import fingerprint
from bot.services.followups import CLEAR, CUSTOM
from bot.services.followups import LABELS as FOLLOW_UP_LABELS
from bot.services.playbook import SavedReply
from bot.services.replies import NO_PRIVATE_MESSAGES, PRIVATE, PUBLIC, ReplyWays


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


def _platform_name(case: Case) -> str:
    """The platform in a sentence ("on X", "on Facebook"): its label without the icon before it."""
    return platform_label(case.platform).split(" ", 1)[-1]


FULL_POST = "\n_The full post is in the case thread._"  # after the start of a post too long for the modal
NOTE_LIMIT = 1000  # the case's last thread note, as the Reply modal shows it


def _post_blocks(case: Case) -> Blocks:
    """The customer's latest post (escaped, fitted), and how many more are in the thread."""
    latest = case.latest_mention
    how = " :lock: privately" if latest.private else ""  # a DM: the Reply modal then starts on a private message
    said, head = inert(latest.text), f"*{customer_label(case)}* wrote{how}:\n"
    room = limits.SECTION_TEXT - limits.size(head) - limits.size(FULL_POST)
    shown = quote(said, room)
    if len(limits.quoted_parts(said, room)) > 1:  # the modal shows the start; the thread has it all
        shown += FULL_POST
    blocks: Blocks = [limits.section(head + shown)]
    earlier = len(case.mentions) - 1
    if earlier > 0:
        blocks.append(limits.context(f"_{earlier} earlier post{'s' if earlier > 1 else ''} in the case thread._"))
    return blocks


def _text_input(block_id: str, action_id: str, text: str | None, label: str, hint: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": True}
    if text:
        element["initial_value"] = limits.head(text, limits.INPUT_VALUE)  # at most what the input holds
    return {
        "type": "input",
        "block_id": block_id,
        "element": element,
        "label": limits.plain(label, limits.INPUT_LABEL),
        "hint": limits.plain(hint, limits.INPUT_HINT),
    }


def _send_as(where: str, ways: ReplyWays) -> Blocks:
    """How the reply goes: a choice where both ways are open, else a line saying which one and why."""
    if ways.both:
        options = {
            PUBLIC: option(f"Public reply on {where}", PUBLIC),
            PRIVATE: option(f"Private message on {where}", PRIVATE),
        }
        options[PUBLIC]["description"] = limits.plain("Under their post, for everyone to see", limits.OPTION_TEXT)
        options[PRIVATE]["description"] = limits.plain("Only they see it", limits.OPTION_TEXT)
        element = {
            "type": "radio_buttons",
            "action_id": SEND_AS_INPUT,
            "options": list(options.values()),
            "initial_option": options[ways.offered],
        }
        return [{"type": "input", "block_id": SEND_AS_BLOCK, "label": limits.plain("Send as", 50), "element": element}]
    if ways.public is not None and ways.private is None:
        return [limits.context(f":lock: They wrote to us privately: your reply goes to them privately on {where}.")]
    if ways.public is not None:  # neither: the modal still opens, so what is written here is kept as a draft
        why = escape(ways.private or "")
        return [limits.context(f":warning: They wrote to us privately, and no private message can go now: {why}.")]
    if ways.private != NO_PRIVATE_MESSAGES:  # a platform with private messages, not open now: say why
        return [limits.context(f":lock: Only a public reply is possible: {escape(ways.private or '')}.")]
    return []


@dataclass(frozen=True)
class Limit:
    """A platform's length limit as the Reply modal states it (from connectors' LengthRule)."""

    size: int
    unit: str = "characters"
    note: str = ""  # how the platform counts, when it is not plain characters


def _length_label(limits_by_way: Mapping[str, Limit], ways: ReplyWays) -> tuple[str, str]:
    """The reply input's label and hint: the limit of the way it goes, or of both where the writer chooses."""
    public, private = limits_by_way[PUBLIC], limits_by_way[PRIVATE]
    if ways.both:
        label = f"Your reply (public up to {public.size} {public.unit}, private up to {private.size})"
        return label, f"Public: {public.note} Private: {private.note}".strip()
    if ways.public is not None:
        return f"Private message (up to {private.size} {private.unit})", private.note
    return f"Public reply (up to {public.size} {public.unit})", public.note


def reply_modal(
    case: Case,
    *,
    ways: ReplyWays,
    limits_by_way: Mapping[str, Limit],
    draft: str | None,
    warning: str | None,
    saved: Sequence[SavedReply] = (),
    agent: str = "",
    last_note: CaseEvent | None = None,
    started: bool = False,
) -> dict[str, Any]:
    """The Reply modal: saved replies at the top, the customer's post and the thread's last note, how the reply
    goes (public or private, `ways`), then the reply; `limits_by_way` holds each way's length limit.

    `draft` is what the input starts with; `started` says it is the playbook's start (greeting and sign-off) rather
    than words someone wrote, so a saved reply picked next may replace it. `agent` (the writer's first name) rides
    in the metadata for the coach and the saved replies; so does the one way a reply can go, when there is no
    choice to make."""
    blocks: Blocks = [saved_replies_menu(saved)] if saved else []
    blocks += _post_blocks(case)
    if last_note is not None:
        note = limits.fit(thread_note(case, last_note), NOTE_LIMIT)
        blocks.append(limits.context(f"*Last in the thread:* {note}"))
    if warning:
        blocks.append(limits.context(f":warning: {warning}"))
    where = _platform_name(case)
    blocks += _send_as(where, ways)
    label, hint = _length_label(limits_by_way, ways)
    reply = _text_input(REPLY_BLOCK, REPLY_INPUT, draft, label, hint)
    reply["element"]["focus_on_load"] = True
    blocks.append(reply)
    blocks += follow_up_inputs(optional=True)
    metadata: dict[str, Any] = {"case_id": case.id, "agent": agent}
    if not ways.both:
        metadata["send_as"] = ways.offered
    if started and draft:
        metadata["filled"] = fingerprint(draft)
    return _modal(VIEW_REPLY, "Reply", blocks, submit=SEND, metadata=metadata, notify_on_close=True)


def move_to_dm_modal(
    case: Case,
    *,
    public: str,
    private: str | None,
    unavailable: str | None,
    limit: int,
    agent: str,
    unit: str = "characters",
    limit_note: str = "",
) -> dict[str, Any]:
    """Move to DM, previewed: both texts to edit (or only the public one, saying why), nothing sent until Send."""
    where = _platform_name(case)
    customer = inert(customer_label(case))
    if private is None:
        why = f": {escape(unavailable)}" if unavailable else ""
        what = f":information_source: No private message can go to *{customer}* on {where}{why}. Only the public reply"
        what += " below goes out."
    else:
        what = (
            f":information_source: Two messages go to *{customer}*: a public reply under their post, and a private "
            "message. Edit either; nothing is sent until you press Send."
        )
    blocks: Blocks = [*_post_blocks(case), limits.context(what)]
    blocks.append(
        _text_input(
            PUBLIC_BLOCK,
            PUBLIC_INPUT,
            public,
            f"Public reply on {where} (up to {limit} {unit})",
            f"Posted publicly under their post, so onlookers see the conversation moved. {limit_note}".strip(),
        )
    )
    if private is not None:
        blocks.append(
            _text_input(
                PRIVATE_BLOCK,
                PRIVATE_INPUT,
                private,
                f"Private message on {where}",
                "Sent to them privately: ask for the one thing you need, not for their story again.",
            )
        )
    metadata = {"case_id": case.id, "agent": agent, "private": private is not None}
    return _modal(VIEW_MOVE_TO_DM, "Move to DM", blocks, submit=SEND, metadata=metadata)


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
        where = _platform_name(case)
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
