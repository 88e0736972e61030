"""Block Kit for the managers' daily digest: data in, a list of messages out (the first is the digest,
any further ones continue it in its thread: the digest itself when long names or posts make it too big for
one message, then the breaches past the first twenty, up to the service's BREACHES_LISTED, the rest counted;
no message passes Slack's block and text limits)."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from bot.blocks import limits
from bot.blocks.chart import NO_DATA, no_data
from bot.blocks.figures import (
    CUSTOMER_LIMIT,
    Link,
    attainment,
    case_head,
    case_link,
    case_text,
    day_label,
    duration,
    fields,
    sections,
    sentiment,
)
from bot.blocks.mrkdwn import Blocks, inert, link, platform_label, quote
from bot.blocks.surge import surge_count, surge_lines
from bot.services.digest import COMPARE_DAYS, Breach, DayPoint, Digest, NotYet, Praise
from bot.services.stats import Attainment, ResponseTimes
from bot.sla import format_duration

BREACHES_INLINE = 20  # in the digest itself; the rest follow in its thread
BREACHES_PER_REPLY = 40
PRAISE_QUOTE = 1500  # an excerpt of a praising post, as rendered (the case link leads to all of it)

Message = tuple[str, Blocks]


def _versus(value: float, average: float) -> str:
    if value > average * 1.1:
        return " :arrow_up:"
    if value < average * 0.9:
        return " :arrow_down:"
    return ""


def _times(yesterday: ResponseTimes, week: ResponseTimes | None) -> str:
    # nothing answered is said in words: "— · —" reads as a fault
    shown = (
        f"median {duration(yesterday.median)} · 90th pct {duration(yesterday.p90)}"
        if yesterday.answered
        else "no first responses yet"
    )
    if week is None:
        return shown
    before = f"{duration(week.median)} · {duration(week.p90)}" if week.answered else "no first responses"
    return f"{shown}\n_7 days: {before}_"


def _sla(yesterday: Attainment, week: Attainment | None) -> str:
    return attainment(yesterday) if week is None else f"{attainment(yesterday)}\n_7 days: {attainment(week)}_"


def _mood(yesterday: float | None, week: float | None, *, earlier: bool) -> str:
    shown = "no posts" if yesterday is None else sentiment(yesterday)
    if not earlier:
        return shown
    return f"{shown} · _7 days {'no posts' if week is None else sentiment(week)}_"


def has_earlier(digest: Digest) -> bool:
    """Whether the seven days before held anything to compare with (not so on a new desk's first digest)."""
    w = digest.week
    return bool(
        digest.week_sentiment is not None
        or w.new.total
        or w.resolved.total
        or w.first_response.answered
        or w.sla.counted
        or digest.week_backlog
    )


OTHER_CLOCKS = {  # what missed its target, and what settled it since
    "next_response": ("next response late", "answered"),
    "resolution": ("resolution late", "closed"),
    "offline": ("not resolved after moving to DM", "closed"),
}


def breach_text(breach: Breach, link_for: Link, tz: ZoneInfo) -> str:
    case = breach.case
    owner = f"<@{case.owner_id}>" if case.owner_id else "unclaimed"
    due = breach.due.astimezone(tz)
    if breach.waited is not None:  # the first response
        outcome = (
            f"answered after {format_duration(breach.waited)}"
            if breach.answered
            else f"*still unanswered* after {format_duration(breach.waited)}"
        )
    else:
        what, done = OTHER_CLOCKS.get(breach.clock, (breach.clock, "settled"))
        outcome = f"{what}, {done} since" if breach.answered else f"{what}, *still open*"
    return f"{case_head(case, link_for)} · {owner} · due {due:%H:%M}, {outcome}"


def praise_text(item: Praise, link_for: Link) -> str:
    case = item.case
    return (
        f"{quote(inert(item.text), PRAISE_QUOTE)}\n— *{limits.fit(inert(case.customer), CUSTOMER_LIMIT)}* on "
        f"{platform_label(case.platform)}"
        f"{link(item.post_url, 'View post')}"
        f" · {case_link(case, link_for)}"
    )


QUIET_DAY = "A quiet day: no new posts."


def _figures_blocks(digest: Digest, inline: list[str], breaches: int, link_for: Link) -> Blocks:
    day = day_label(digest.day)
    y, w = digest.yesterday, digest.week
    earlier = has_earlier(digest)
    if earlier:
        new_avg, resolved_avg = w.new.total / COMPARE_DAYS, w.resolved.total / COMPARE_DAYS
        backlog = f"{digest.backlog} open{_versus(digest.backlog, digest.week_backlog)}"
        pairs = [
            ("New cases", f"{y.new.total}{_versus(y.new.total, new_avg)} · _7-day avg {new_avg:.1f}_"),
            ("Resolved", f"{y.resolved.total} · _7-day avg {resolved_avg:.1f}_"),
            ("First response", _times(y.first_response, w.first_response)),
            ("SLA met (first response)", _sla(y.sla, w.sla)),
            ("Backlog at midnight", f"{backlog} · _7-day avg {digest.week_backlog:.1f}_"),
        ]
        scope = f"{day} against the seven days before."
    else:  # a new desk's first digest: averages of zero and up-arrows would compare with days it never saw
        pairs = [
            ("New cases", str(y.new.total)),
            ("Resolved", str(y.resolved.total)),
            ("First response", _times(y.first_response, None)),
            ("SLA met (first response)", _sla(y.sla, None)),
            ("Backlog at midnight", f"{digest.backlog} open"),
        ]
        scope = f"{day}; no earlier period to compare."
    summary = fields([*pairs, ("Sentiment", _mood(digest.sentiment, digest.week_sentiment, earlier=earlier))])
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": scope}]},
        *sections(surge_lines(digest.surges, now=digest.now, link_for=link_for)),
        summary,
        {"type": "divider"},
        *sections(inline or ["None. :tada:"], title=f"SLA breaches ({breaches:,})"),
        *sections(
            [case_text(c, link_for, digest.now, owner=True) for c in digest.oldest_open] or ["None open."],
            title="Oldest open cases",
        ),
        *sections(
            [praise_text(p, link_for) for p in digest.praise] or ["No clear praise yesterday."],
            title="Praise worth sharing",
        ),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "The chart below shows new cases, the mood of posts and first-response times "
                    "against the target, over eight days.",
                }
            ],
        },
    ]


def _quiet_blocks(digest: Digest, inline: list[str], breaches: int, link_for: Link) -> Blocks:
    """No new post all day: one plain line, then only what still needs someone (open cases, breaches)."""
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": QUIET_DAY}}]
    if digest.backlog:
        blocks += sections(
            [case_text(c, link_for, digest.now, owner=True) for c in digest.oldest_open],
            title=_still_open(digest.backlog),
        )
    if inline:
        blocks += sections(inline, title=f"SLA breaches ({breaches:,})")
    return blocks


def _still_open(backlog: int) -> str:
    return f"{backlog} case{'' if backlog == 1 else 's'} still open at midnight."


def digest_messages(digest: Digest, *, link_for: Link, tz: ZoneInfo) -> list[Message]:
    day = day_label(digest.day)
    y = digest.yesterday
    breach_lines = [breach_text(b, link_for, tz) for b in digest.breaches]
    total = digest.breaches_total
    unlisted = total - len(breach_lines)  # past what a digest lists: counted, each still in its case thread
    inline, rest = breach_lines[:BREACHES_INLINE], breach_lines[BREACHES_INLINE:]
    if rest:
        inline.append(f"…and {total - len(inline):,} more: the next {len(rest)} in this message's thread.")
    elif unlisted > 0:
        inline.append(f"…and {unlisted:,} more.")
    title = f"Care digest · {day}"
    header = {"type": "header", "text": limits.plain(title, limits.HEADER_TEXT)}
    if digest.quiet:
        blocks = [header, *_quiet_blocks(digest, inline, total, link_for)]
        fallback = f"{title}: {QUIET_DAY}" + (f" {_still_open(digest.backlog)}" if digest.backlog else "")
    else:
        blocks = [header, *_figures_blocks(digest, inline, total, link_for)]
        fallback = (
            f"{title}: {y.new.total} new, {y.resolved.total} resolved, {digest.backlog} open, "
            f"SLA {attainment(y.sla)}, {total} breaches"
        )
        if digest.surges:
            fallback += f", {surge_count(digest.surges)}"
    # a digest too big for one message (long names and posts) goes on in its thread rather than being cut
    main, *more = limits.group(blocks, room=0)
    messages: list[Message] = [(limits.fallback(fallback), main)]
    messages += [(f"{title}, continued", part) for part in more]
    for first in range(0, len(rest), BREACHES_PER_REPLY):
        chunk = rest[first : first + BREACHES_PER_REPLY]
        start = BREACHES_INLINE + first + 1
        heading = f"SLA breaches on {day}, continued ({start}–{start + len(chunk) - 1} of {total:,})"
        last = first + BREACHES_PER_REPLY >= len(rest)
        if last and unlisted > 0:
            chunk = [*chunk, f"…and {unlisted:,} more, not listed here: each is in its case's thread."]
        for part in limits.group(sections(chunk, title=heading)):  # long names: more messages, none cut
            messages.append((heading, part))
    return messages


def not_yet_text(not_yet: NotYet, *, tz: ZoneInfo, at: time) -> str:
    """Why `/care digest` sends nothing: the desk did not run all of the day asked for."""
    if not_yet.started is None or not_yet.first_day is None:
        return "No digest yet: the desk has not received anything so far."
    started = not_yet.started.astimezone(tz)
    sent = not_yet.first_day + timedelta(days=1)
    return (
        f"No digest yet: the desk started on {day_label(started.date())} at {started:%H:%M}, so the first "
        f"digest covers {day_label(not_yet.first_day)} and reaches managers on {day_label(sent)} at "
        f"{at:%H:%M}. `/care stats` shows today so far."
    )


def chart_title(digest: Digest) -> str:
    return f"Care desk, eight days to {day_label(digest.day)}"


def chart_alt_text(digest: Digest) -> str:
    points = "; ".join(_alt_point(p) for p in digest.daily)
    return f"Daily new cases, mean sentiment and median first-response time. {points}"[:1000]


def _alt_point(point: DayPoint) -> str:
    if no_data(point):
        return f"{day_label(point.day)}: {NO_DATA}"
    mood = "no posts" if point.sentiment is None else sentiment(point.sentiment)
    median = point.median_first_response
    answered = "none answered" if median is None else duration(median)
    return f"{day_label(point.day)}: {point.new} new, sentiment {mood}, median first response {answered}"
