"""Block Kit for the team's playbook: the Reply modal's saved replies (the menu, and the modal refilled when one is
picked), the reply coach's advice with "Send anyway", and `/care replies`. Data in, dicts out.

The refilled and coached modals are built from the modal Slack sent (as the person sees it), not from the case
again: what they chose or typed elsewhere in it stays as it was.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.blocks import limits
from bot.blocks.ids import (
    ACTION_SAVED_REPLY,
    ACTION_SAVED_REPLY_KEEP,
    ADVICE_BLOCK,
    KEEP_TEXT,
    REPLY_BLOCK,
    SAVED_REPLY_BLOCK,
    unversioned,
    versioned,
)
from bot.blocks.mrkdwn import Blocks, escape, option, quote
from bot.services.coach import Advice, fingerprint
from bot.services.playbook import Playbook, SavedReply

TEXT_LIMIT = 900  # one saved reply's text as `/care replies` shows it (the file has all of it)
SEND, SEND_ANYWAY = "Send", "Send anyway"
KEEP_OPTION = {
    **option("Keep what I've written", KEEP_TEXT),
    "description": {"type": "plain_text", "text": "A saved reply then goes below your text, not instead of it."},
}
# What Slack lets a modal's update carry (a submitted view also has its id, hash, state and the app's ids)
_WRITABLE = ("type", "callback_id", "title", "submit", "close", "private_metadata", "notify_on_close", "blocks")


def saved_replies_menu(saved: Sequence[SavedReply], *, keep: bool = True, version: int = 0) -> dict[str, Any]:
    """The menu of saved replies, and the box that keeps what was written when one is picked (ticked at first:
    nothing typed is replaced unless the writer says so)."""
    checkbox: dict[str, Any] = {"type": "checkboxes", "action_id": ACTION_SAVED_REPLY_KEEP, "options": [KEEP_OPTION]}
    if keep:
        checkbox["initial_options"] = [KEEP_OPTION]
    return {
        "type": "actions",
        "block_id": versioned(SAVED_REPLY_BLOCK, version),
        "elements": [
            {
                "type": "static_select",
                "action_id": ACTION_SAVED_REPLY,
                "placeholder": limits.plain("Use a saved reply…", limits.PLACEHOLDER),
                "options": [option(limits.fit(r.title, limits.OPTION_TEXT), r.id) for r in saved[:100]],
            },
            checkbox,
        ],
    }


def metadata_of(view: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata a modal of ours carries ({} when it is not an object)."""
    try:
        found = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _again(view: Mapping[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    """A copy of a submitted modal that Slack takes back (views.update, response_action update)."""
    again = {key: view[key] for key in _WRITABLE if key in view}
    again["blocks"] = [dict(block) for block in view.get("blocks") or [] if block.get("block_id") != ADVICE_BLOCK]
    again["private_metadata"] = limits.head(json.dumps(metadata), limits.PRIVATE_METADATA)
    return again


def _with_text(block: dict[str, Any], text: str, block_id: str | None = None) -> dict[str, Any]:
    element = {**block["element"]}
    element["initial_value"] = limits.head(text, limits.INPUT_VALUE)
    return {**block, "element": element, "block_id": block_id or block["block_id"]}


def advice_block(advice: Sequence[Advice]) -> dict[str, Any]:
    """The coach's advice on a draft, each rule with its reason, and what Send anyway does."""
    lines = [":warning: *Before you send:* the reply coach noticed"]
    for found in advice:
        about = f"{found.about} · " if found.about else ""
        lines.append(f"• *{escape(about + found.title)}*: {escape(found.reason)}")
    lines.append("Edit the text to have it checked again, or press *Send anyway* to send it exactly as it is.")
    return {**limits.section("\n".join(lines)), "block_id": ADVICE_BLOCK}


def _with_choice(block: dict[str, Any], value: str) -> dict[str, Any]:
    """An input of options (radio buttons, a select) showing `value` as picked, if it is one of its options."""
    element = {**block["element"]}
    picked = next((o for o in element.get("options") or [] if o.get("value") == value), None)
    if picked is not None:
        element["initial_option"] = picked
    return {**block, "element": element}


def coached(
    view: Mapping[str, Any],
    *,
    advice: Sequence[Advice],
    seen: str,
    texts: Mapping[str, str],
    chosen: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The submitted modal again, with the coach's advice above its first text and its button saying "Send anyway".

    `texts` are the submitted texts by block id, kept as typed, and `chosen` the options picked (public or
    private); `seen` (the draft's fingerprint) rides in the metadata, so submitting that very draft again sends
    it."""
    again = _again(view, {**metadata_of(view), "fp": seen})
    blocks: Blocks = []
    for block in again["blocks"]:
        if block.get("block_id") in texts:
            if not any(b.get("block_id") == ADVICE_BLOCK for b in blocks):
                blocks.append(advice_block(advice))
            block = _with_text(block, texts[block["block_id"]])
        elif chosen and block.get("block_id") in chosen and "element" in block:
            block = _with_choice(block, chosen[block["block_id"]])
        blocks.append(block)
    if not any(b.get("block_id") == ADVICE_BLOCK for b in blocks):  # never "Send anyway" without the reasons
        blocks.insert(0, advice_block(advice))
    again["blocks"] = blocks[: limits.VIEW_BLOCKS]
    again["submit"] = limits.plain(SEND_ANYWAY, limits.VIEW_TITLE)
    return again


def refilled(
    view: Mapping[str, Any], *, text: str, keep: bool, saved: Sequence[SavedReply], ours: bool
) -> dict[str, Any]:
    """The Reply modal with a new text in its input (a saved reply was picked). The input and the menu get new
    block ids, so Slack shows the new text and an unpicked menu; the other inputs keep what was chosen in them.
    Any advice goes (the text changed), and so does "Send anyway". `ours`: the text holds nothing the writer typed,
    so the next saved reply picked may replace it."""
    metadata = {k: v for k, v in metadata_of(view).items() if k not in ("fp", "filled")}
    before = metadata.get("v")
    version = (before if isinstance(before, int) and not isinstance(before, bool) else 0) + 1
    metadata["v"] = version
    if ours:
        metadata["filled"] = fingerprint(text)
    again = _again(view, metadata)
    blocks: Blocks = []
    for block in again["blocks"]:
        base = unversioned(str(block.get("block_id", "")))
        if base == SAVED_REPLY_BLOCK:
            block = saved_replies_menu(saved, keep=keep, version=version)
        elif base == REPLY_BLOCK:
            block = _with_text(block, text, versioned(REPLY_BLOCK, version))
        blocks.append(block)
    again["blocks"] = blocks
    again["submit"] = limits.plain(SEND, limits.VIEW_TITLE)
    return again


def replies_message(book: Playbook, *, where: str) -> tuple[str, Blocks]:
    """Every saved reply: title, id and text with its placeholders, and its per-platform variants. `where` names
    the file they come from (CARE_PLAYBOOK_FILE, or the shipped default)."""
    if not book.replies:
        text = f"There are no saved replies: add `[[replies]]` to {escape(where)}."
        return text, [limits.section(text)]
    head = (
        f"*Saved replies* ({len(book.replies)}) from {escape(where)}. Pick one at the top of the *Reply* modal. "
        "`{customer}`, `{agent}`, `{case}`, `{due}` and `{contact}` are filled in there, between the greeting "
        f"`{escape(book.greeting)}` and the sign-off `{escape(book.sign_off)}`."
    )
    blocks: Blocks = [limits.section(head)]
    for reply in book.replies:
        lines = [f"*{escape(reply.title)}* · `{reply.id}`", quote(escape(limits.fit(reply.text, TEXT_LIMIT)))]
        for platform, variant in reply.variants.items():
            lines += [f"_On {escape(platform)}:_", quote(escape(limits.fit(variant, TEXT_LIMIT)))]
        blocks.append(limits.section("\n".join(lines)))
    shown = limits.cap(blocks, note="…and more: the rest are in the playbook file.")
    return limits.fallback(f"Saved replies ({len(book.replies)})"), shown
