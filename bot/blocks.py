"""Block Kit rendering: plain data in, Slack message and modal dicts out. No Slack client here."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.models import Case, CaseEvent, Mention
from bot.services.cases import IGNORE_REASONS, OUTCOMES

Blocks = list[dict[str, Any]]

PLATFORM_LABELS = {
    "twitter": ":bird: X", "x": ":bird: X", "facebook": ":large_blue_square: Facebook",
    "instagram": ":camera: Instagram", "reddit": ":large_orange_circle: Reddit",
    "google": ":star: Google review", "trustpilot": ":star: Trustpilot",
}
PRIORITY_BADGES = {"urgent": ":red_circle: Urgent", "high": ":large_orange_circle: High",
                   "normal": ":large_yellow_circle: Normal", "low": ":large_green_circle: Low"}
STATUS_LABELS = {"open": "Open", "resolved": "Resolved", "ignored": "Ignored"}

ACTION_CLAIM = "case_claim"
ACTION_REPLY = "case_reply"
ACTION_MOVE_TO_DM = "case_move_to_dm"
ACTION_ESCALATE = "case_escalate"
ACTION_IGNORE = "case_ignore"
ACTION_RESOLVE = "case_resolve"
ACTION_REOPEN = "case_reopen"

VIEW_REPLY = "reply_modal"
VIEW_IGNORE = "ignore_modal"
VIEW_RESOLVE = "resolve_modal"
VIEW_TAKE_OVER = "take_over_modal"
REPLY_BLOCK, REPLY_INPUT = "reply", "text"
CHOICE_BLOCK, CHOICE_INPUT = "choice", "value"
COMMENT_BLOCK, COMMENT_INPUT = "comment", "value"

SECTION_LIMIT = 2900


def platform_label(platform: str) -> str:
    return PLATFORM_LABELS.get(platform, platform.capitalize())


def stars(count: Any) -> str:
    """A review rating as five stars (★★☆☆☆); "no rating" when the platform gave none."""
    if not isinstance(count, int) or not 0 <= count <= 5:
        return "no rating"
    return "★" * count + "☆" * (5 - count)


def sentiment_label(score: float) -> str:
    mood = "negative" if score <= -0.05 else "positive" if score >= 0.05 else "neutral"
    return f"{score:+.2f} ({mood})"


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in _clip(text).splitlines() or [""])


_SAFE_URL = re.compile(r"^https?://[^\s|<>]+$", re.IGNORECASE)


def link(url: str | None, label: str) -> str:
    """A Slack link, or nothing: a URL with `|`, `<`, `>` or spaces could forge mrkdwn, so it is dropped."""
    return f" · <{url}|{label}>" if url and _SAFE_URL.match(url) else ""


def _escape(text: str) -> str:
    """Slack mrkdwn control characters, so a customer's post cannot ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def author_line(case: Case) -> str:
    name = _escape(case.author_name) if case.author_name else None
    handle = "@" + _escape(case.author_handle)
    return f"*{name}* ({handle})" if name else f"*{handle}*"


def _button(text: str, action_id: str, case_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text},
                              "action_id": action_id, "value": str(case_id)}
    if style:
        button["style"] = style
    return button


def case_buttons(case: Case) -> dict[str, Any]:
    if case.is_open:
        elements = [
            _button("Claim", ACTION_CLAIM, case.id),
            _button("Reply", ACTION_REPLY, case.id, "primary"),
            _button("Move to DM", ACTION_MOVE_TO_DM, case.id),
            _button("Escalate", ACTION_ESCALATE, case.id, "danger"),
            _button("Ignore", ACTION_IGNORE, case.id),
            _button("Resolve", ACTION_RESOLVE, case.id),
        ]
    else:
        elements = [_button("Reopen", ACTION_REOPEN, case.id)]
    return {"type": "actions", "block_id": f"case_actions_{case.id}", "elements": elements}


def status_line(case: Case) -> str:
    status = STATUS_LABELS.get(case.status, case.status)
    outcome = IGNORE_REASONS.get(case.outcome or "") or OUTCOMES.get(case.outcome or "", case.outcome or "")
    if outcome and outcome != status:
        status += f" ({outcome})"
    owner = f"<@{case.owner_id}>" if case.owner_id else "unclaimed"
    parts = [f"*Status:* {status}", f"*Owner:* {owner}"]
    if case.moved_offline_at and case.is_open:
        parts.append(":lock: moved to DM")
    if case.drafting_by and case.is_open:
        parts.append(f":pencil2: <@{case.drafting_by}> is drafting a reply")
    return " · ".join(parts)


def parent_message(case: Case) -> tuple[str, Blocks]:
    """The case's message in the care channel: who, what, how bad, where it stands, and what to do."""
    first: Mention = case.mentions[0]
    latest: Mention = case.mentions[-1]
    post_link = link(first.url, "View post")
    star_text = f" · {stars(first.extra.get('stars'))}" if first.extra.get("stars") else ""
    headline = f"{platform_label(case.platform)} · {author_line(case)}{star_text}{post_link}"
    more = len(case.mentions) - 1
    state = " _(deleted on the platform)_" if first.deleted_at else " _(edited)_" if first.edited_at else ""
    body = _quote(_escape(first.text)) + state + (f"\n_+{more} more in thread_" if more else "")
    facts = (f"*Priority:* {PRIORITY_BADGES.get(case.priority, case.priority)} · "
             f"*Sentiment:* {sentiment_label(latest.sentiment)} · Case #{case.id}")
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": status_line(case)}]},
        case_buttons(case),
    ]
    who = case.author_name or "@" + case.author_handle
    fallback = f"[{case.priority}] {platform_label(case.platform)} · {who}: {_clip(first.text, 200)}"
    return fallback, blocks


def _mention_list(targets: list[str]) -> str:
    return " ".join(f"<!subteam^{t}>" if t.startswith("S") else f"<@{t}>" for t in targets)


def thread_note(case: Case, event: CaseEvent, mention: Mention | None = None) -> str:
    """One line (plus the exact text, where something went to the customer) for the case thread."""
    who = f"<@{event.actor}>"
    customer = case.author_name.split()[0] if case.author_name else "@" + case.author_handle
    d = event.detail or {}
    sent = _quote(event.text_sent or "")
    if d.get("note"):  # the platform connector's remark on a send, e.g. "the comment is now hidden"
        sent += f"\n_{_escape(str(d['note']))}_"
    match event.kind:
        case "mention_added":
            assert mention is not None
            return (f":speech_balloon: *{_escape(customer)}* wrote again{link(mention.url, 'View post')}:\n"
                    f"{_quote(_escape(mention.text))}")
        case "mention_edited":
            now_text = _quote(_escape(mention.text if mention else ""))
            rating = ""
            if "previous_stars" in d and mention is not None:  # a review's rating changed
                rating = f"{stars(d['previous_stars'])} → {stars(mention.extra.get('stars'))}"
                if mention.text == d.get("previous_text"):
                    return f":pencil2: *{_escape(customer)}* changed their rating: {rating}\n{now_text}"
                rating = f"\nRating: {rating}"
            return (f":pencil2: *{_escape(customer)}* edited their post. Now:\n{now_text}\n"
                    f"Before:\n{_quote(_escape(d.get('previous_text', '')))}{rating}")
        case "mention_deleted":
            return (f":wastebasket: *{_escape(customer)}*'s post was deleted on {platform_label(case.platform)}. "
                    "The case and its history are kept here.")
        case "claimed":
            return f":raising_hand: {who} claimed this case."
        case "took_over":
            return f":raising_hand: {who} took this case over from <@{d.get('previous_owner')}>."
        case "replied":
            return f":leftwards_arrow_with_hook: {who} replied publicly to {_escape(customer)}:\n{sent}"
        case "moved_to_dm":
            return f":lock: {who} moved the conversation offline. Sent publicly:\n{sent}"
        case "private_unavailable":
            return (f":information_source: No private message was sent to {_escape(customer)}: "
                    f"{_escape(d.get('reason', ''))}. Only the public message goes out.")
        case "private_message_sent":
            return f":envelope: {who} sent {_escape(customer)} a private message:\n{sent}"
        case "send_failed":
            what = {"reply": "reply", "move_to_dm": "move-to-DM message",
                    "private_message": "private message"}.get(d.get("purpose", ""), "message")
            keep = (" The draft is kept: click *Reply* to try again." if d.get("purpose") == "reply"
                    else " Click *Move to DM* to try again." if d.get("purpose") == "move_to_dm" else "")
            return (f":warning: {who}'s {what} to {_escape(customer)} was *not sent*: {d.get('error')}.{keep}\n"
                    f"{_quote(d.get('text', ''))}")
        case "escalated":
            targets = d.get("targets") or []
            to = _mention_list(targets) if targets else "nobody is set in CARE_ESCALATE_TO, so please flag it yourselves"
            return f":rotating_light: {who} escalated this case (now urgent): {to}"
        case "ignored":
            extra = f": {_escape(d['comment'])}" if d.get("comment") else ""
            return f":see_no_evil: {who} ignored this case: *{IGNORE_REASONS.get(d.get('reason'), d.get('reason'))}*{extra}. Nothing was sent to the customer."
        case "resolved":
            extra = f": {_escape(d['comment'])}" if d.get("comment") else ""
            return f":white_check_mark: {who} resolved this case: *{OUTCOMES.get(d.get('outcome'), d.get('outcome'))}*{extra}."
        case "reopened":
            return f":arrows_counterclockwise: {who} reopened this case."
    return f"{who}: {event.kind}"


def _modal(callback_id: str, title: str, blocks: Blocks, *, submit: str, metadata: dict[str, Any],
           notify_on_close: bool = False) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "notify_on_close": notify_on_close,
        "blocks": blocks,
    }


def reply_modal(case: Case, *, limit: int, limit_note: str, draft: str | None, warning: str | None) -> dict[str, Any]:
    customer = case.author_name or "@" + case.author_handle
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn",
                       "text": f"*{_escape(customer)}* wrote:\n{_quote(_escape(case.latest_mention.text))}"}}]
    if warning:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f":warning: {warning}"}]})
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": REPLY_INPUT, "multiline": True,
                               "focus_on_load": True}
    if draft:
        element["initial_value"] = draft
    blocks.append({
        "type": "input", "block_id": REPLY_BLOCK, "element": element,
        "label": {"type": "plain_text", "text": f"Public reply on {platform_label(case.platform).split(' ', 1)[-1]} "
                  f"(up to {limit} characters)"},
        "hint": {"type": "plain_text", "text": f"Sent publicly as a reply to their post. {limit_note}".strip()},
    })
    return _modal(VIEW_REPLY, "Reply", blocks, submit="Send", metadata={"case_id": case.id}, notify_on_close=True)


def _choice_modal(callback_id: str, title: str, question: str, options: dict[str, str], case_id: int,
                  submit: str) -> dict[str, Any]:
    blocks: Blocks = [
        {"type": "input", "block_id": CHOICE_BLOCK, "label": {"type": "plain_text", "text": question},
         "element": {"type": "radio_buttons", "action_id": CHOICE_INPUT,
                     "options": [{"text": {"type": "plain_text", "text": label}, "value": value}
                                 for value, label in options.items()]}},
        {"type": "input", "block_id": COMMENT_BLOCK, "optional": True,
         "label": {"type": "plain_text", "text": "Note for the team (optional)"},
         "element": {"type": "plain_text_input", "action_id": COMMENT_INPUT, "max_length": 500}},
    ]
    return _modal(callback_id, title, blocks, submit=submit, metadata={"case_id": case_id})


def ignore_modal(case_id: int) -> dict[str, Any]:
    return _choice_modal(VIEW_IGNORE, "Ignore case", "Why ignore it? Nothing is sent to the customer.",
                         IGNORE_REASONS, case_id, "Ignore")


def resolve_modal(case_id: int) -> dict[str, Any]:
    return _choice_modal(VIEW_RESOLVE, "Resolve case", "How did it end?", OUTCOMES, case_id, "Resolve")


def take_over_modal(case_id: int, owner_id: str) -> dict[str, Any]:
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn",
                       "text": f"<@{owner_id}> already owns this case. Take it over? They will see it in the thread."}}]
    return _modal(VIEW_TAKE_OVER, "Take over case?", blocks, submit="Take over", metadata={"case_id": case_id})
