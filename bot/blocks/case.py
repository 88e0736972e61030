"""Block Kit rendering: plain data in, Slack message and modal dicts out. No Slack client here."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from bot import sla
from bot.models import Case, CaseEvent, Mention
from bot.services.cases import IGNORE_REASONS, OUTCOMES
from bot.services.followups import CLEAR, CUSTOM
from bot.services.followups import LABELS as FOLLOW_UP_LABELS

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
ACTION_FOLLOW_UP = "case_follow_up"
ACTION_FOLLOW_UP_PICK = "case_follow_up_pick"
ACTION_SNOOZE = "case_snooze"
ACTION_REASSIGN = "case_reassign"

VIEW_REPLY = "reply_modal"
VIEW_IGNORE = "ignore_modal"
VIEW_RESOLVE = "resolve_modal"
VIEW_TAKE_OVER = "take_over_modal"
VIEW_FOLLOW_UP = "follow_up_modal"
VIEW_REASSIGN = "reassign_modal"
REPLY_BLOCK, REPLY_INPUT = "reply", "text"
CHOICE_BLOCK, CHOICE_INPUT = "choice", "value"
COMMENT_BLOCK, COMMENT_INPUT = "comment", "value"
FOLLOW_UP_BLOCK, FOLLOW_UP_INPUT = "follow_up", "choice"
CUSTOM_BLOCK, CUSTOM_INPUT = "follow_up_custom", "duration"
CLOSING_BLOCK, CLOSING_INPUT = "closing", "text"
CONFIRM_BLOCK, CONFIRM_INPUT, CONFIRM_POST = "closing_confirm", "confirm", "post"
ASSIGNEE_BLOCK, ASSIGNEE_INPUT = "assignee", "user"

SECTION_LIMIT = 2900

CLOCK_LABELS = {sla.FIRST_RESPONSE: "First response", sla.NEXT_RESPONSE: "Next response",
                sla.RESOLUTION: "Resolution", sla.OFFLINE: "Follow-through after moving to DM",
                sla.FOLLOW_UP: "Follow-up"}


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


def quote(text: str) -> str:
    return "\n".join("> " + line for line in _clip(text).splitlines() or [""])


_SAFE_URL = re.compile(r"^https?://[^\s|<>]+$", re.IGNORECASE)


def link(url: str | None, label: str) -> str:
    """A Slack link, or nothing: a URL with `|`, `<`, `>` or spaces could forge mrkdwn, so it is dropped."""
    return f" · <{url}|{label}>" if url and _SAFE_URL.match(url) else ""


def escape(text: str) -> str:
    """Slack mrkdwn control characters, so a customer's post cannot ping @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def author_line(case: Case) -> str:
    name = escape(case.author_name) if case.author_name else None
    handle = "@" + escape(case.author_handle)
    return f"*{name}* ({handle})" if name else f"*{handle}*"


def _name(case: Case) -> str:
    """The customer's full name, else @handle (not escaped: also used in plain-text fallbacks)."""
    return case.author_name or "@" + case.author_handle


def _customer(case: Case) -> str:
    """What staff call the customer in notes and reminders: the first word of their name, else @handle (escaped)."""
    return escape(case.author_name.split()[0] if case.author_name else "@" + case.author_handle)


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


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
            _button("Follow up", ACTION_FOLLOW_UP, case.id),
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
    if case.follow_up_at and case.is_open:
        parts.append(f":calendar: follow-up due {slack_date(case.follow_up_at)}")
    # an escalation (twice the target) is a breach too: it may be the first reminder sent, after a restart or a snooze
    breached = [CLOCK_LABELS[r.clock].lower() for r in case.reminders if r.stage in (sla.BREACH, sla.ESCALATION)]
    if breached:
        parts.append(":alarm_clock: *SLA breached:* " + ", ".join(dict.fromkeys(breached)))
    return " · ".join(parts)


def slack_date(at: datetime) -> str:
    """A moment Slack shows in each reader's own time zone (the fallback is UTC)."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def parent_message(case: Case) -> tuple[str, Blocks]:
    """The case's message in the care channel: who, what, how bad, where it stands, and what to do."""
    first: Mention = case.mentions[0]
    latest: Mention = case.mentions[-1]
    post_link = link(first.url, "View post")
    star_text = f" · {stars(first.extra.get('stars'))}" if first.extra.get("stars") else ""
    headline = f"{platform_label(case.platform)} · {author_line(case)}{star_text}{post_link}"
    more = len(case.mentions) - 1
    state = " _(deleted on the platform)_" if first.deleted_at else " _(edited)_" if first.edited_at else ""
    body = quote(escape(first.text)) + state + (f"\n_+{more} more in thread_" if more else "")
    facts = (f"*Priority:* {PRIORITY_BADGES.get(case.priority, case.priority)} · "
             f"*Sentiment:* {sentiment_label(latest.sentiment)} · Case #{case.id}")
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": status_line(case)}]},
        case_buttons(case),
    ]
    fallback = f"[{case.priority}] {platform_label(case.platform)} · {_name(case)}: {_clip(first.text, 200)}"
    return fallback, blocks


def _mention_list(targets: list[str]) -> str:
    return " ".join(f"<!subteam^{t}>" if t.startswith("S") else f"<@{t}>" for t in targets)


def thread_note(case: Case, event: CaseEvent, mention: Mention | None = None) -> str:
    """One line (plus the exact text, where something went to the customer) for the case thread."""
    who = f"<@{event.actor}>"
    customer = _customer(case)
    d = event.detail or {}
    sent = quote(event.text_sent or "")
    if d.get("note"):  # the platform connector's remark on a send, e.g. "the comment is now hidden"
        sent += f"\n_{escape(str(d['note']))}_"
    match event.kind:
        case "mention_added":
            assert mention is not None
            return (f":speech_balloon: *{customer}* wrote again{link(mention.url, 'View post')}:\n"
                    f"{quote(escape(mention.text))}")
        case "mention_edited":
            now_text = quote(escape(mention.text if mention else ""))
            rating = ""
            if "previous_stars" in d and mention is not None:  # a review's rating changed
                rating = f"{stars(d['previous_stars'])} → {stars(mention.extra.get('stars'))}"
                if mention.text == d.get("previous_text"):
                    return f":pencil2: *{customer}* changed their rating: {rating}\n{now_text}"
                rating = f"\nRating: {rating}"
            return (f":pencil2: *{customer}* edited their post. Now:\n{now_text}\n"
                    f"Before:\n{quote(escape(d.get('previous_text', '')))}{rating}")
        case "mention_deleted":
            return (f":wastebasket: *{customer}*'s post was deleted on {platform_label(case.platform)}. "
                    "The case and its history are kept here.")
        case "claimed":
            return f":raising_hand: {who} claimed this case."
        case "took_over":
            return f":raising_hand: {who} took this case over from <@{d.get('previous_owner')}>."
        case "replied":
            return f":leftwards_arrow_with_hook: {who} replied publicly to {customer}:\n{sent}"
        case "moved_to_dm":
            return f":lock: {who} moved the conversation offline. Sent publicly:\n{sent}"
        case "private_unavailable":
            return (f":information_source: No private message was sent to {customer}: "
                    f"{escape(d.get('reason', ''))}. Only the public message goes out.")
        case "private_message_sent":
            return f":envelope: {who} sent {customer} a private message:\n{sent}"
        case "send_failed":
            what = {"reply": "reply", "move_to_dm": "move-to-DM message",
                    "private_message": "private message", "closing": "closing reply"}.get(d.get("purpose", ""), "message")
            keep = (" The draft is kept: click *Reply* to try again." if d.get("purpose") == "reply"
                    else " Click *Move to DM* to try again." if d.get("purpose") == "move_to_dm" else "")
            if d.get("private_withheld"):
                keep += " The private message was held back too, so nothing reached the customer."
            return (f":warning: {who}'s {what} to {customer} was *not sent*: {d.get('error')}.{keep}\n"
                    f"{quote(d.get('text', ''))}")
        case "escalated":
            targets = d.get("targets") or []
            to = _mention_list(targets) if targets else "nobody is set in CARE_ESCALATE_TO, so please flag it yourselves"
            return f":rotating_light: {who} escalated this case (now urgent): {to}"
        case "ignored":
            extra = f": {escape(d['comment'])}" if d.get("comment") else ""
            return f":see_no_evil: {who} ignored this case: *{IGNORE_REASONS.get(d.get('reason'), d.get('reason'))}*{extra}. Nothing was sent to the customer."
        case "resolved":
            extra = f": {escape(d['comment'])}" if d.get("comment") else ""
            return f":white_check_mark: {who} resolved this case: *{OUTCOMES.get(d.get('outcome'), d.get('outcome'))}*{extra}."
        case "reopened":
            return f":arrows_counterclockwise: {who} reopened this case."
        case "reassigned":
            before = f" (from <@{d['previous_owner']}>)" if d.get("previous_owner") else ""
            return f":busts_in_silhouette: {who} reassigned this case to <@{d.get('new_owner')}>{before}."
        case "snoozed":
            until = datetime.fromisoformat(d["until"])
            return f":zzz: {who} snoozed reminders on this case for {d.get('minutes')} min, until {slack_date(until)}."
        case "follow_up_set":
            due = datetime.fromisoformat(d["due"])
            return (f":calendar: {who} will follow up with {customer} by {slack_date(due)} "
                    f"(in {sla.format_duration(timedelta(seconds=d.get('in_seconds', 0)))}).")
        case "follow_up_cleared":
            return f":calendar: {who} cleared the follow-up."
        case "closing_reply_sent":
            return f":speech_balloon: {who} posted a public closing reply to {customer}:\n{sent}"
    return f"{who}: {event.kind}"


def thread_note_blocks(case: Case, event: CaseEvent, text: str) -> Blocks | None:
    """Blocks for the few notes that offer a next step: after a move to DM, a one-click follow-up menu."""
    if event.kind != "moved_to_dm" or not case.is_open:
        return None
    options = [_option(label, f"{case.id}:{key}") for key, label in FOLLOW_UP_LABELS.items() if key != CLEAR]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}},
        {"type": "actions", "block_id": f"follow_up_pick_{case.id}", "elements": [
            {"type": "static_select", "action_id": ACTION_FOLLOW_UP_PICK, "options": options,
             "placeholder": {"type": "plain_text", "text": "Follow up in…"}}]},
    ]


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
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn",
                       "text": f"*{escape(_name(case))}* wrote:\n{quote(escape(case.latest_mention.text))}"}}]
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
    blocks += follow_up_inputs(optional=True)
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


def resolve_modal(case: Case, *, closing: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """How did it end; for a case that moved to DM, also an optional public closing reply (sent only if ticked)."""
    view = _choice_modal(VIEW_RESOLVE, "Resolve case", "How did it end?", OUTCOMES, case.id, "Resolve")
    if closing is not None:
        where = platform_label(case.platform).split(" ", 1)[-1]
        view["blocks"] += [
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                "This case moved to DM, so onlookers of the public post never saw how it ended. "
                "A short public reply shows them it was sorted.")}},
            {"type": "input", "block_id": CLOSING_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": f"Public closing reply on {where}"
                       + (f" (up to {limit} characters)" if limit else "")},
             "element": {"type": "plain_text_input", "action_id": CLOSING_INPUT, "multiline": True,
                         "initial_value": closing}},
            {"type": "input", "block_id": CONFIRM_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "Send it?"},
             "element": {"type": "checkboxes", "action_id": CONFIRM_INPUT, "options": [
                 _option(f"Yes, post this reply publicly on {where}", CONFIRM_POST)]}},
        ]
    return view


def take_over_modal(case_id: int, owner_id: str) -> dict[str, Any]:
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn",
                       "text": f"<@{owner_id}> already owns this case. Take it over? They will see it in the thread."}}]
    return _modal(VIEW_TAKE_OVER, "Take over case?", blocks, submit="Take over", metadata={"case_id": case_id})


def follow_up_inputs(*, optional: bool, current: datetime | None = None) -> Blocks:
    """'Follow up in …' with presets, and a field for a custom duration (`90m`, `2d`)."""
    options = [_option(label, key) for key, label in FOLLOW_UP_LABELS.items() if key != CLEAR or current]
    return [
        {"type": "input", "block_id": FOLLOW_UP_BLOCK, "optional": optional,
         "label": {"type": "plain_text", "text": "Follow up in…" + (" (optional)" if optional else "")},
         "hint": {"type": "plain_text", "text": "When it is due, the case owner is reminded in the thread and by DM."},
         "element": {"type": "static_select", "action_id": FOLLOW_UP_INPUT, "options": options,
                     "placeholder": {"type": "plain_text", "text": "No follow-up" if optional else "Choose"}}},
        {"type": "input", "block_id": CUSTOM_BLOCK, "optional": True,
         "label": {"type": "plain_text", "text": "Custom follow-up"},
         "hint": {"type": "plain_text", "text": f"With “{FOLLOW_UP_LABELS[CUSTOM]}”: a duration like 90m, 4h or 2d."},
         "element": {"type": "plain_text_input", "action_id": CUSTOM_INPUT, "max_length": 20}},
    ]


def follow_up_modal(case: Case) -> dict[str, Any]:
    current = (f"A follow-up is set for {slack_date(case.follow_up_at)} by <@{case.follow_up_by}>."
               if case.follow_up_at else "No follow-up is set for this case.")
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": current}}]
    blocks += follow_up_inputs(optional=False, current=case.follow_up_at)
    return _modal(VIEW_FOLLOW_UP, "Follow up", blocks, submit="Save", metadata={"case_id": case.id})


def reassign_modal(case: Case) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "users_select", "action_id": ASSIGNEE_INPUT,
                               "placeholder": {"type": "plain_text", "text": "Pick a teammate"}}
    owner = f"<@{case.owner_id}> owns it now." if case.owner_id else "Nobody owns it yet."
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"Who should take case #{case.id}? {owner}"}},
        {"type": "input", "block_id": ASSIGNEE_BLOCK, "label": {"type": "plain_text", "text": "New owner"},
         "element": element},
    ]
    return _modal(VIEW_REASSIGN, "Reassign case", blocks, submit="Reassign", metadata={"case_id": case.id})


def _who(case: Case, targets: list[str]) -> str:
    if case.owner_id:
        return f"<@{case.owner_id}>"
    return _mention_list(targets) if targets else "Nobody owns this case and CARE_ESCALATE_TO is empty:"


def reminder_text(case: Case, facts: dict[str, Any]) -> str:
    """The reminder in words; `facts` are what the sweep measured (durations in seconds)."""
    clock, stage = facts["clock"], facts["stage"]
    who, customer = _who(case, facts.get("targets") or []), _customer(case)
    label = CLOCK_LABELS.get(clock, clock)
    span = {k: sla.format_duration(timedelta(seconds=facts.get(k, 0))) for k in ("limit", "waited", "remaining")}
    waited = (f"the case has been open {span['waited']}" if clock == sla.RESOLUTION
              else f"{customer} has been waiting {span['waited']}")
    if clock == sla.FOLLOW_UP:
        promised = f"<@{facts['set_by']}> promised" if facts.get("set_by") else "Someone promised"
        return f":calendar: {who} *Follow-up due:* {promised} to follow up with {customer} now."
    if clock == sla.OFFLINE:
        return (f":lock: {who} *Follow through:* this case moved to DM {span['waited']} ago and is still open. "
                f"Finish with {customer} privately, then *Resolve* it (you can post a public closing reply).")
    if stage == sla.NEAR:
        return f":hourglass_flowing_sand: {who} *{label} due in {span['remaining']}* (target {span['limit']}): {waited}."
    if stage == sla.BREACH:
        return f":rotating_light: {who} *{label} overdue:* the {span['limit']} target has passed; {waited}."
    managers = facts.get("managers") or []
    told = (f"escalated to {_mention_list(managers)} by direct message" if managers
            else "no CARE_MANAGERS are set, so nobody outside this channel was told")
    return f":sos: {who} *{label} at twice its target* ({span['limit']}): {told}."


def reminder_message(case: Case, facts: dict[str, Any]) -> tuple[str, Blocks]:
    """A reminder in the case thread, with buttons to act on the spot."""
    text = reminder_text(case, facts)
    elements = [_button("Claim", ACTION_CLAIM, case.id, "primary")] if not case.owner_id else []
    elements += [_button("Snooze 15 min", ACTION_SNOOZE, case.id), _button("Reassign", ACTION_REASSIGN, case.id)]
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
                  {"type": "actions", "block_id": f"reminder_actions_{case.id}", "elements": elements}]


def _thread_link(url: str | None) -> str:
    if url and (url.startswith("slack://") or _SAFE_URL.match(url)):
        return f"<{url}|Open the thread>"
    return "(the case message is not posted yet)"


def _case_title(case: Case) -> str:
    return f"case #{case.id} ({platform_label(case.platform)} · {escape(_name(case))})"


def escalation_dm(case: Case, clock: str, limit: timedelta, link_url: str | None) -> tuple[str, Blocks]:
    """The managers' DM when a clock reaches twice its target."""
    owner = f"<@{case.owner_id}>" if case.owner_id else "nobody (unclaimed)"
    text = (f":sos: {CLOCK_LABELS.get(clock, clock)} on {_case_title(case)} is at twice its "
            f"{sla.format_duration(limit)} target. Owner: {owner}. {_thread_link(link_url)}")
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def follow_up_dm(case: Case, set_by: str | None, link_url: str | None) -> tuple[str, Blocks]:
    """The owner's DM when a follow-up promise is due."""
    promised = f"<@{set_by}> promised" if set_by else "A follow-up was promised"
    text = (f":calendar: Follow-up due on {_case_title(case)}: {promised} to get back to "
            f"{_customer(case)} now. {_thread_link(link_url)}")
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
