"""The case in Slack: its message in the care channel, the notes in its thread, reminders, and the DMs about it.

Plain data in, (fallback text, blocks) out; no Slack client here. A customer's words go through
`mrkdwn.inert` wherever they appear (blocks and fallback text alike), and every text is fitted to Slack's
limits after escaping and quoting (bot/blocks/limits.py). A post longer than the case message can hold is
never cut: the rest follows in the case thread (`post_continuations`), and a thread note too long for one
message is split into several (`thread_note_messages`), in order.

A customer's private message (a DM) is marked :lock: wherever it shows: its note in the thread, and the case
message of a case it opened; the case message also says the case is in DM and when they last wrote privately,
and names their earlier cases on the desk (bot/services/customers.py), so a returning customer is known.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot import sla
from bot.blocks import limits
from bot.blocks.ids import (
    ACTION_CLAIM,
    ACTION_ESCALATE,
    ACTION_FOLLOW_UP,
    ACTION_FOLLOW_UP_PICK,
    ACTION_IGNORE,
    ACTION_MOVE_TO_DM,
    ACTION_REASSIGN,
    ACTION_REOPEN,
    ACTION_REPLY,
    ACTION_RESOLVE,
    ACTION_SHARE_WIN,
    ACTION_SNOOZE,
    ACTION_THANK,
)
from bot.blocks.mrkdwn import (
    PRIORITY_BADGES,
    SAFE_URL,
    STATUS_LABELS,
    Blocks,
    clip,
    escape,
    inert,
    link,
    option,
    platform_label,
    quote,
    stars,
    verdict,
)
from bot.models import Case, CaseEvent, Mention
from bot.services import wins
from bot.services.cases import IGNORE_REASONS, OUTCOMES
from bot.services.customers import EarlierCases
from bot.services.followups import CLEAR
from bot.services.followups import LABELS as FOLLOW_UP_LABELS
from bot.services.replies import public_target

CLOCK_LABELS = {
    sla.FIRST_RESPONSE: "First response",
    sla.NEXT_RESPONSE: "Next response",
    sla.RESOLUTION: "Resolution",
    sla.OFFLINE: "Follow-through after moving to DM",
    sla.FOLLOW_UP: "Follow-up",
}


Message = tuple[str, Blocks | None]  # (fallback text, blocks): one chat.postMessage
ThreadUrl = Callable[[str, str | None], str | None]  # a case message's link, from its channel and ts
NAME_LIMIT, HANDLE_LIMIT = 600, 300  # a name or handle as rendered (inert), so a headline always fits
BODY_LIMIT = limits.SECTION_TEXT - 200  # the case message's part of the post, with room for its remarks


def author_line(case: Case, room: int = NAME_LIMIT + HANDLE_LIMIT) -> str:
    """*Name* (@handle), inert, within `room` (a long name gives way before the link to the post does)."""
    share = max(room - 10, 20) / (NAME_LIMIT + HANDLE_LIMIT)
    name_room, handle_room = min(NAME_LIMIT, int(NAME_LIMIT * share)), min(HANDLE_LIMIT, int(HANDLE_LIMIT * share))
    name = limits.fit(inert(case.author_name), name_room) if case.author_name else None
    handle = "@" + limits.fit(inert(case.author_handle), handle_room)
    return f"*{name}* ({handle})" if name else f"*{handle}*"


def customer_name(case: Case) -> str:
    """The customer's full name, else @handle: raw, for the caller to pass through `inert` and fit."""
    return case.author_name or "@" + case.author_handle


def customer_label(case: Case) -> str:
    """The customer's name (else @handle) as it may appear in any text we render: inert and fitted."""
    return limits.fit(inert(customer_name(case)), NAME_LIMIT)


def _customer(case: Case) -> str:
    """What staff call the customer in notes and reminders: the first word of their name, else @handle (inert)."""
    first = case.author_name.split()[0] if case.author_name and case.author_name.split() else None
    return limits.fit(inert(first or "@" + case.author_handle), NAME_LIMIT)


def _full_quote(escaped: str) -> str:
    """All of an escaped text as a quote (never cut; a note this long is split into messages by the caller)."""
    return "\n".join(limits.quote_lines(escaped))


def _button(text: str, action_id: str, case_id: int, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": limits.plain(text, limits.BUTTON_TEXT),
        "action_id": action_id,
        "value": str(case_id),
    }
    if style:
        button["style"] = style
    return button


def case_buttons(case: Case) -> dict[str, Any]:
    if case.is_open:
        elements = [
            _button("Claim", ACTION_CLAIM, case.id),
            _button("Reply", ACTION_REPLY, case.id, "primary"),
            *(
                [_button("Thank", ACTION_THANK, case.id), _button("Share win", ACTION_SHARE_WIN, case.id)]
                if wins.is_praise(case)
                else []
            ),
            # a conversation the customer began privately is in DM already
            *([_button("Move to DM", ACTION_MOVE_TO_DM, case.id)] if public_target(case) is not None else []),
            _button("Escalate", ACTION_ESCALATE, case.id, "danger"),
            _button("Ignore", ACTION_IGNORE, case.id),
            _button("Resolve", ACTION_RESOLVE, case.id),
            _button("Follow up", ACTION_FOLLOW_UP, case.id),
        ]
    else:  # praise thanked and resolved is still a win worth sharing
        shared = (
            [_button("Share win", ACTION_SHARE_WIN, case.id)]
            if wins.is_praise(case) and case.status == "resolved"
            else []
        )
        elements = [_button("Reopen", ACTION_REOPEN, case.id), *shared]
    return {"type": "actions", "block_id": f"case_actions_{case.id}", "elements": elements}


def status_line(case: Case) -> str:
    status = STATUS_LABELS.get(case.status, case.status)
    outcome = IGNORE_REASONS.get(case.outcome or "") or OUTCOMES.get(case.outcome or "", case.outcome or "")
    if outcome and outcome != status:
        status += f" ({outcome})"
    owner = f"<@{case.owner_id}>" if case.owner_id else "unclaimed"
    parts = [f"*Status:* {status}", f"*Owner:* {owner}"]
    if case.last_private_at and case.is_open:  # the customer writes to us privately: the conversation is there
        parts.append(f":lock: in DM · last private message {slack_date(case.last_private_at)}")
    elif case.moved_offline_at and case.is_open:
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


def case_verdict(case: Case) -> str:
    """Why the case has its priority: the reason of the latest post that gave it (a later, milder post does not
    lower a case), else of the latest post (staff set the priority by hand)."""
    title = f"{case.priority.capitalize()} · "
    ruling = next((m for m in reversed(case.mentions) if (m.triage_reason or "").startswith(title)), case.mentions[-1])
    return verdict(ruling.triage_reason, ruling.sentiment, needs_reply=ruling.needs_reply)


def _is_private(mention: Mention | None) -> bool:
    return mention is not None and mention.private is True


def _where(mention: Mention) -> str:
    """The link to a post (or to a private message's conversation, where the platform has one), or nothing."""
    return link(mention.url, "View conversation" if _is_private(mention) else "View post")


def returning_line(earlier: EarlierCases, thread_url: ThreadUrl | None = None) -> str:
    """The customer's earlier cases on the desk: how many, how the last one ended, and its thread."""
    status = STATUS_LABELS.get(earlier.last_status, earlier.last_status)
    outcome = IGNORE_REASONS.get(earlier.last_outcome or "") or OUTCOMES.get(
        earlier.last_outcome or "", earlier.last_outcome or ""
    )
    if outcome and outcome != status:
        status += f" ({escape(outcome)})"
    url = thread_url(earlier.last_channel, earlier.last_ts) if thread_url else None
    where = f" · {_thread_link(url, 'Open its thread')}" if url else ""
    cases = "1 earlier case" if earlier.count == 1 else f"{earlier.count} earlier cases"
    return f":leftwards_arrow_with_hook: *Returning customer:* {cases} · the last, #{earlier.last_id}: {status}{where}"


def parent_message(
    case: Case, earlier: EarlierCases | None = None, thread_url: ThreadUrl | None = None
) -> tuple[str, Blocks]:
    """The case's message in the care channel: who, what, how bad, where it stands, and what to do.

    `earlier` (bot/services/customers.py) names the customer's earlier cases, linked with `thread_url`."""
    first: Mention = case.mentions[0]
    post_link = _where(first)
    if limits.size(post_link) > limits.SECTION_TEXT - 400:
        post_link = ""  # a URL this long once its & are escaped would leave no room to say who wrote
    star_text = f" · {stars(first.extra.get('stars'))}" if first.extra.get("stars") else ""
    label = platform_label(case.platform) + (" · :lock: *Private message*" if _is_private(first) else "")
    room = limits.SECTION_TEXT - limits.size(f"{label} · {star_text}{post_link}")
    headline = f"{label} · {author_line(case, room)}{star_text}{post_link}"
    more = len(case.mentions) - 1
    state = " _(deleted on the platform)_" if first.deleted_at else " _(edited)_" if first.edited_at else ""
    parts = _post_parts(first.text)
    continued = len(limits.messages_of_sections(parts[1:]))  # as many as post_continuations posts
    rest = (
        f"\n_The post continues in this thread ({continued} message{'s' if continued > 1 else ''})._"
        if continued
        else ""
    )
    body = parts[0] + rest + state + (f"\n_+{more} more in thread_" if more else "")
    facts = f"*Priority:* {PRIORITY_BADGES.get(case.priority, case.priority)} · {case_verdict(case)} · Case #{case.id}"
    blocks: Blocks = [
        limits.section(headline),
        limits.section(body),
        limits.context(facts),
        limits.context(status_line(case)),
        *([limits.context(limits.fit(returning_line(earlier, thread_url)))] if earlier else []),
        case_buttons(case),
    ]
    # the fallback is what notifications show: the customer's words are as inert here as in the blocks
    said = inert(clip(first.text, 200))
    privately = " (private message)" if _is_private(first) else ""
    fallback = f"[{case.priority}] {platform_label(case.platform)}{privately} · {customer_label(case)}: {said}"
    return limits.fallback(fallback), blocks


def _post_parts(text: str) -> list[str]:
    """The whole post, quoted and inert, in parts: the first for the case message, the rest for its thread."""
    return limits.quoted_parts(inert(text), BODY_LIMIT)


def post_continuations(case: Case) -> list[Message]:
    """The rest of a post too long for the case message, as thread messages within Slack's limits, in order.

    Empty for a post that fits. Rendered from the stored post at delivery, so a retry renders the same parts
    and the lane can recognise the ones Slack already took (by their part number in the message metadata).
    """
    rest = _post_parts(case.mentions[0].text)[1:]
    messages = limits.messages_of_sections(rest)
    total = len(messages)
    return [
        (limits.fallback(f"Case #{case.id}: the post, continued ({n} of {total})"), blocks)
        for n, blocks in enumerate(messages, start=1)
    ]


def _mention_list(targets: list[str]) -> str:
    return " ".join(f"<!subteam^{t}>" if t.startswith("S") else f"<@{t}>" for t in targets)


def thread_note(case: Case, event: CaseEvent, mention: Mention | None = None) -> str:
    """One line (plus the exact text, where something went to the customer) for the case thread."""
    who = f"<@{event.actor}>"
    customer = _customer(case)
    d = event.detail or {}
    sent = _full_quote(escape(event.text_sent or ""))  # word for word, whatever its length
    if d.get("note"):  # the platform connector's remark on a send, e.g. "the comment is now hidden"
        sent += f"\n_{escape(str(d['note']))}_"
    match event.kind:
        case "mention_added":
            assert mention is not None
            if _is_private(mention):
                return f":lock: Private message from *{customer}*{_where(mention)}:\n{_full_quote(inert(mention.text))}"
            return (
                f":speech_balloon: *{customer}* wrote again{link(mention.url, 'View post')}:\n"
                f"{_full_quote(inert(mention.text))}"
            )
        case "mention_edited":
            now_text = _full_quote(inert(mention.text if mention else ""))
            rating = ""
            if "previous_stars" in d and mention is not None:  # a review's rating changed
                rating = f"{stars(d['previous_stars'])} → {stars(mention.extra.get('stars'))}"
                if mention.text == d.get("previous_text"):
                    return f":pencil2: *{customer}* changed their rating: {rating}\n{now_text}"
                rating = f"\nRating: {rating}"
            what = "private message" if _is_private(mention) else "post"
            return (
                f":pencil2: *{customer}* edited their {what}. Now:\n{now_text}\n"
                f"Before:\n{_full_quote(inert(d.get('previous_text', '')))}{rating}"
            )
        case "mention_deleted":
            return (
                f":wastebasket: *{customer}*'s post was deleted on {platform_label(case.platform)}. "
                "The case and its history are kept here."
            )
        case "claimed":
            return f":raising_hand: {who} claimed this case."
        case "took_over":
            return f":raising_hand: {who} took this case over from <@{d.get('previous_owner')}>."
        case "replied" if d.get("visibility") == "private":
            return f":lock: {who} replied privately to {customer}:\n{sent}"
        case "replied":
            return f":leftwards_arrow_with_hook: {who} replied publicly to {customer}:\n{sent}"
        case "moved_to_dm":
            return f":lock: {who} moved the conversation offline. Sent publicly:\n{sent}"
        case "private_unavailable":
            return (
                f":information_source: No private message was sent to {customer}: "
                f"{escape(d.get('reason', ''))}. Only the public message goes out."
            )
        case "private_message_sent":
            return f":envelope: {who} sent {customer} a private message:\n{sent}"
        case "send_failed":
            private = d.get("visibility") == "private"
            what = {
                "reply": "private reply" if private else "reply",
                "move_to_dm": "move-to-DM message",
                "private_message": "private message",
                "closing": "closing reply",
            }.get(d.get("purpose", ""), "message")
            keep = {
                "reply": " The draft is kept: click *Reply* to try again.",
                "move_to_dm": " Click *Move to DM* to try again.",
                "private_message": " It is kept: click *Reply* and send it as a private message to try again.",
            }.get(d.get("purpose", ""), "")
            if d.get("private_withheld"):
                keep += " The private message was held back too, so nothing reached the customer."
            return (
                f":warning: {who}'s {what} to {customer} was *not sent*: {escape(str(d.get('error')))}.{keep}\n"
                f"{_full_quote(escape(d.get('text', '')))}"
            )
        case "escalated":
            targets = d.get("targets") or []
            to = (
                _mention_list(targets) if targets else "nobody is set in CARE_ESCALATE_TO, so please flag it yourselves"
            )
            return f":rotating_light: {who} escalated this case (now urgent): {to}"
        case "ignored":
            extra = f": {escape(d['comment'])}" if d.get("comment") else ""
            reason = IGNORE_REASONS.get(str(d.get("reason")), d.get("reason"))
            return f":see_no_evil: {who} ignored this case: *{reason}*{extra}. Nothing was sent to the customer."
        case "resolved":
            extra = f": {escape(d['comment'])}" if d.get("comment") else ""
            outcome = OUTCOMES.get(str(d.get("outcome")), d.get("outcome"))
            return f":white_check_mark: {who} resolved this case: *{outcome}*{extra}."
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
            return (
                f":calendar: {who} will follow up with {customer} by {slack_date(due)} "
                f"(in {sla.format_duration(timedelta(seconds=d.get('in_seconds', 0)))})."
            )
        case "follow_up_cleared":
            return f":calendar: {who} cleared the follow-up."
        case wins.SHARED:
            return f":trophy: {who} shared this win in <#{d.get('channel')}>."
        case "closing_reply_sent":
            return f":speech_balloon: {who} posted a public closing reply to {customer}:\n{sent}"
    return f"{who}: {event.kind}"


def win_message(case: Case, mention: Mention, sharer: str) -> Message:
    """The win as the wider team sees it in CARE_WINS_CHANNEL: the customer's words (inert), who and where."""
    said = quote(inert(clip(mention.text, 1500)))
    where = link(mention.url, "View post") if mention.url and limits.size(link(mention.url, "View post")) < 600 else ""
    head = f":trophy: *A customer win*, shared by <@{sharer}>"
    how = " in a :lock: private message" if mention.private else ""  # the team shares it; it was said to us alone
    who = f"— {author_line(case, 400)}{how} on {platform_label(case.platform)}" + (f" · {where}" if where else "")
    text = f"{head}\n{said}\n{who}"
    return limits.fallback(f"A customer win: {inert(clip(mention.text, 200))}"), [limits.section(text)]


def thread_note_messages(case: Case, event: CaseEvent, mention: Mention | None = None) -> list[Message]:
    """A thread note as one message, or, when its quoted text is too long for one, as several in order.

    A short note is plain text (no blocks), as it always was; a longer one is packed into sections, each
    message within the block count and size limits, its fallback naming the part.
    """
    text = thread_note(case, event, mention)
    menu = _follow_up_menu(case) if event.kind == "moved_to_dm" and case.is_open else None
    if limits.size(text) <= limits.SECTION_TEXT:
        return [(text, [limits.section(text), menu] if menu else None)]
    groups = limits.messages_of_sections(limits.pack(text.splitlines(), limits.SECTION_TEXT))
    if menu:
        groups[-1].append(menu)
    first_line = limits.fit(text.splitlines()[0], 200)
    total = len(groups)
    return [
        (limits.fallback(first_line if n == 1 else f"Case #{case.id}: {first_line} (continued, {n} of {total})"), g)
        for n, g in enumerate(groups, start=1)
    ]


def _follow_up_menu(case: Case) -> dict[str, Any]:
    """The next step offered after a move to DM: a one-click follow-up menu."""
    options = [option(label, f"{case.id}:{key}") for key, label in FOLLOW_UP_LABELS.items() if key != CLEAR]
    return {
        "type": "actions",
        "block_id": f"follow_up_pick_{case.id}",
        "elements": [
            {
                "type": "static_select",
                "action_id": ACTION_FOLLOW_UP_PICK,
                "options": options,
                "placeholder": {"type": "plain_text", "text": "Follow up in…"},
            }
        ],
    }


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
    waited = (
        f"the case has been open {span['waited']}"
        if clock == sla.RESOLUTION
        else f"{customer} has been waiting {span['waited']}"
    )
    if clock == sla.FOLLOW_UP:
        promised = f"<@{facts['set_by']}> promised" if facts.get("set_by") else "Someone promised"
        return f":calendar: {who} *Follow-up due:* {promised} to follow up with {customer} now."
    if clock == sla.OFFLINE:
        moved = case.moved_offline_at is not None and facts.get("clock_start") == case.moved_offline_at.isoformat()
        since = (
            f"this case moved to DM {span['waited']} ago and is still open"
            if moved
            else f"{customer} last wrote {span['waited']} ago and this case (in DM) is still open"
        )
        return (
            f":lock: {who} *Follow through:* {since}. "
            f"Finish with {customer} privately, then *Resolve* it (you can post a public closing reply)."
        )
    if stage == sla.NEAR:
        return (
            f":hourglass_flowing_sand: {who} *{label} due in {span['remaining']}* (target {span['limit']}): {waited}."
        )
    if stage == sla.BREACH:
        return f":rotating_light: {who} *{label} overdue:* the {span['limit']} target has passed; {waited}."
    managers = facts.get("managers") or []
    told = (
        f"escalated to {_mention_list(managers)} by direct message"
        if managers
        else "no CARE_MANAGERS are set, so nobody outside this channel was told"
    )
    return f":sos: {who} *{label} at twice its target* ({span['limit']}): {told}."


def reminder_message(case: Case, facts: dict[str, Any]) -> tuple[str, Blocks]:
    """A reminder in the case thread, with buttons to act on the spot."""
    text = reminder_text(case, facts)
    elements = [_button("Claim", ACTION_CLAIM, case.id, "primary")] if not case.owner_id else []
    elements += [_button("Snooze 15 min", ACTION_SNOOZE, case.id), _button("Reassign", ACTION_REASSIGN, case.id)]
    return limits.fallback(text), [
        limits.section(text),
        {"type": "actions", "block_id": f"reminder_actions_{case.id}", "elements": elements},
    ]


def _thread_link(url: str | None, label: str = "Open the thread") -> str:
    if url and (url.startswith("slack://") or SAFE_URL.match(url)):
        return f"<{escape(url)}|{label}>"
    return "(the case message is not posted yet)"


def _case_title(case: Case) -> str:
    return f"case #{case.id} ({platform_label(case.platform)} · {customer_label(case)})"


def escalation_dm(case: Case, clock: str, limit: timedelta, link_url: str | None) -> tuple[str, Blocks]:
    """The managers' DM when a clock reaches twice its target."""
    owner = f"<@{case.owner_id}>" if case.owner_id else "nobody (unclaimed)"
    text = (
        f":sos: {CLOCK_LABELS.get(clock, clock)} on {_case_title(case)} is at twice its "
        f"{sla.format_duration(limit)} target. Owner: {owner}. {_thread_link(link_url)}"
    )
    return limits.fallback(text), [limits.section(text)]


def follow_up_dm(case: Case, set_by: str | None, link_url: str | None) -> tuple[str, Blocks]:
    """The owner's DM when a follow-up promise is due."""
    promised = f"<@{set_by}> promised" if set_by else "A follow-up was promised"
    text = (
        f":calendar: Follow-up due on {_case_title(case)}: {promised} to get back to "
        f"{_customer(case)} now. {_thread_link(link_url)}"
    )
    return limits.fallback(text), [limits.section(text)]
