"""The spike alert: one message in the care channel that says a surge is on, what it is about, and its worst.

Plain data in (bot/services/surge.py `Alert`), (fallback text, blocks) out. The figures come from the surge's
stored `shown`; the worst examples are rendered from their cases as they stand, with the case message's own
buttons (`case.case_buttons`), so the usual listeners act on them. Customer words (the examples, their names,
the common terms) go through `mrkdwn.inert`; every text is fitted, and the whole stays within one message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from bot import sla
from bot.blocks import ids, limits
from bot.blocks.case import _mention_list, author_line, case_buttons, customer_label, slack_date, status_line
from bot.blocks.mrkdwn import (
    PRIORITY_BADGES,
    Blocks,
    clip,
    inert,
    link,
    platform_label,
    quote,
    verdict,
)
from bot.services.surge import Alert, Batch, Entry, Example, Figures

EXCERPT = 280  # characters of a worst example's post: enough to see what it is about, the case has the rest
QUOTE_LIMIT, AUTHOR_ROOM = 700, 400  # as rendered, so five examples and the figures fit one message


def alert_message(alert: Alert, *, notify: Iterable[str] = ()) -> tuple[str, Blocks]:
    """The alert as posted (`notify`: CARE_ESCALATE_TO, mentioned only in the first post) or updated in place."""
    shown = alert.shown
    if alert.ended_at is None:
        headline, fallback = _ongoing(alert)
    else:
        headline, fallback = _ended(alert)
    people = _mention_list(list(notify))
    if people:
        headline += f"\n{people}: a surge has started."
        fallback += f" {people}"
    blocks: Blocks = [limits.section(headline)]
    if alert.ended_at is None:
        blocks.append(
            limits.context(
                f"So far: {shown.get('mentions', 0)} mentions · {shown.get('cases', 0)} new cases · "
                f"{shown.get('answered', 0)} answered · this message is updated while the surge lasts"
            )
        )
    blocks.append(limits.section(_mix(shown)))
    terms = _terms(shown)
    if terms:
        blocks.append(limits.section(terms))
    if alert.examples:
        blocks.append(limits.section(f"*The {len(alert.examples)} most negative:*"))
        for example in alert.examples:
            blocks += _example(example)
    else:
        blocks.append(limits.context("No negative mentions in this surge."))
    return limits.fallback(fallback), limits.cap(blocks)


def _ongoing(alert: Alert) -> tuple[str, str]:
    shown = alert.shown
    rate, peak, backlog = shown.get("rate", 0), shown.get("peak", 0), shown.get("backlog", 0)
    waiting = f" · {backlog} case messages waiting to be posted" if backlog else ""
    headline = (
        f":rotating_light: *Surge in mentions* since {slack_date(alert.started_at)}: "
        f"*{rate}* in the last minute (peak *{peak}* a minute){waiting}"
    )
    return headline, f":rotating_light: Surge: {rate} mentions in the last minute (peak {peak} a minute)"


def _ended(alert: Alert) -> tuple[str, str]:
    shown = alert.shown
    assert alert.ended_at is not None
    lasted = sla.format_duration(alert.ended_at - alert.started_at)
    totals = (
        f"{shown.get('mentions', 0)} mentions, {shown.get('cases', 0)} new cases, "
        f"{shown.get('answered', 0)} answered so far; peak {shown.get('peak', 0)} a minute"
    )
    headline = (
        f":white_check_mark: *The surge is over.* It lasted {lasted} "
        f"({slack_date(alert.started_at)} to {slack_date(alert.ended_at)}): {totals}."
    )
    return headline, f":white_check_mark: The surge is over: it lasted {lasted}, {totals}."


def _mix(shown: dict[str, Any]) -> str:
    negative, neutral, positive = list(shown.get("mix") or [0, 0, 0])
    return (
        f"*Sentiment:* :red_circle: {negative} negative · :white_circle: {neutral} neutral · "
        f":large_green_circle: {positive} positive"
    )


def _terms(shown: dict[str, Any]) -> str:
    """The common words and phrases: customers' words, so inert like any other."""
    terms = " · ".join(f"{inert(str(t))} ({n})" for t, n in shown.get("terms") or [])
    phrases = " · ".join(f"“{inert(str(p))}” ({n})" for p, n in shown.get("phrases") or [])
    lines = [f"*Most common terms:* {terms}" if terms else "", f"*Phrases:* {phrases}" if phrases else ""]
    counted, mentions = shown.get("counted"), shown.get("mentions", 0)
    if (terms or phrases) and isinstance(counted, int) and counted < mentions:
        lines.append(f"_Counted in the latest {counted:,} of {mentions:,} posts._")
    return limits.fit("\n".join(line for line in lines if line))


def _example(example: Example) -> Blocks:
    """One of the worst: who, where, how bad, the post's opening, the case's state and its buttons."""
    case, mention = example.case, example.mention
    said = quote(inert(clip(mention.text, EXCERPT)), QUOTE_LIMIT)
    head = (
        f"{author_line(case, AUTHOR_ROOM)} · {platform_label(case.platform)} · "
        f"{verdict(mention.triage_reason, mention.sentiment, needs_reply=mention.needs_reply)} · Case #{case.id}"
    )
    return [limits.section(f"{head}\n{said}"), limits.context(status_line(case)), case_buttons(case)]


# -- a batch of gathered posts, in the alert's thread ----------------------------------------------------------
BATCH_EXCERPT = 240  # characters of a gathered post: enough to judge it; "Open as case" shows all of it
BATCH_QUOTE, BATCH_AUTHOR, BATCH_LINK = 420, 160, 200  # as rendered: BATCH_SIZE entries fit one message's 11,000


def batch_message(batch: Batch) -> tuple[str, Blocks]:
    """Several low- and normal-priority posts of a surge, each with who, where, the post (inert), its priority, a
    link, and "Open as case" (or who opened it). Updated in place when one is opened."""
    count = len(batch.entries)
    heading = (
        f":inbox_tray: *{count} post{'s' if count != 1 else ''} gathered during the surge* (normal and low "
        "priority). Each can be opened as a case with the usual buttons."
    )
    blocks: Blocks = [limits.section(heading)]
    for entry in batch.entries:
        blocks.append(_entry(entry))
    names = ", ".join(customer_label(entry.case) for entry in batch.entries[:5])
    fallback = f":inbox_tray: {count} posts gathered during the surge: {names}"
    return limits.fallback(fallback), blocks


def _entry(entry: Entry) -> dict[str, Any]:
    case, mention = entry.case, entry.mention
    said = quote(inert(clip(mention.text, BATCH_EXCERPT)), BATCH_QUOTE)
    post_link = link(mention.url, "View post")
    if limits.size(post_link) > BATCH_LINK:
        post_link = ""  # an absurdly long URL would leave no room for the post
    again = " · _wrote again_" if entry.again else ""
    head = (
        f"{author_line(case, BATCH_AUTHOR)} · {platform_label(case.platform)} · "
        f"{PRIORITY_BADGES.get(case.priority, case.priority)} · Case #{case.id}{again}{post_link}"
    )
    if entry.opened:
        who = f" by <@{entry.opened_by}>" if entry.opened_by and entry.opened_by[:1] in ("U", "W") else ""
        return limits.section(limits.fit(f"{head}\n{said}\n:white_check_mark: _Opened as a case{who}._"))
    block = limits.section(limits.fit(f"{head}\n{said}"))
    block["accessory"] = {
        "type": "button",
        "text": limits.plain("Open as case", limits.BUTTON_TEXT),
        "action_id": ids.ACTION_OPEN_GATHERED,
        "value": str(case.id),
    }
    return block


# -- the surges in the figures ------------------------------------------------------------------------
SurgeLink = Callable[[str, str | None], str | None]  # (channel, ts) -> the alert's URL, as figures.Link
SURGES_LISTED = 5  # a stormy month names its latest few; the figures below still count every case


def surge_lines(found: Iterable[Figures], *, now: datetime, link_for: SurgeLink | None = None) -> list[str]:
    """The period's surges, latest first, at most SURGES_LISTED of them and a count of the rest."""
    latest = sorted(found, key=lambda f: f.started_at, reverse=True)
    lines = [surge_line(f, now=now, link_for=link_for) for f in latest[:SURGES_LISTED]]
    if len(latest) > SURGES_LISTED:
        rest = len(latest) - SURGES_LISTED
        lines.append(f"…and {rest} earlier surge{'' if rest == 1 else 's'} in this period.")
    return lines


def surge_count(found: Sequence[Figures]) -> str:
    """How many surges, for a message's fallback text: "1 surge in mentions"."""
    return f"{len(found)} surge{'' if len(found) == 1 else 's'} in mentions"


def surge_line(found: Figures, *, now: datetime, link_for: SurgeLink | None = None) -> str:
    """One surge as `/care stats`, the digest and the Home tab name it: when, how many, how many answered so far,
    and a link to its alert (whose thread holds what was gathered)."""
    answered = f"{found.answered} answered" if found.cases else "none needed an answer"
    counts = f"{found.mentions:,} mentions, {found.cases:,} new cases, {answered}; peak {found.peak_per_min:,} a minute"
    if found.ended_at is None:
        text = (
            f":rotating_light: *A surge is on* since {slack_date(found.started_at)} "
            f"({sla.format_duration(now - found.started_at)}): so far {counts}"
        )
    else:
        text = (
            f":rotating_light: *Surge* {slack_date(found.started_at)} to {slack_date(found.ended_at)} "
            f"({sla.format_duration(found.ended_at - found.started_at)}): {counts}"
        )
    url = link_for(found.channel, found.ts) if link_for is not None and found.ts else None
    return text + link(url, "the alert")
