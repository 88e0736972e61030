"""Block Kit for figures and case lists: the `/care stats` answer and `/care mine`. Data in, dicts out.

The digest (bot/blocks/digest.py) and the Home tab (bot/blocks/home.py) reuse these pieces, so a
figure reads the same wherever it appears.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from bot.blocks import limits
from bot.blocks.mrkdwn import PRIORITY_BADGES, Blocks, escape, inert, platform_label
from bot.blocks.surge import surge_count, surge_lines
from bot.services.queues import CaseLine
from bot.services.stats import (
    Attainment,
    Breakdown,
    Figures,
    Period,
    PriorityCounts,
    ResponseTimes,
    SentimentTrend,
    Stats,
)
from bot.services.triage_learning import Agreement
from bot.sla import format_duration

Link = Callable[[str, str | None], str | None]  # (channel, ts) -> the thread's URL

CUSTOMER_LIMIT = 200  # a customer's name in a list, as rendered: enough to recognise them
EXCERPT_LIMIT = 400  # the latest post's excerpt in a list, as rendered

PERIOD_TITLES = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days"}
PREVIOUS = {"today": "yesterday", "7d": "the 7 days before", "30d": "the 30 days before"}


def day_label(moment: date) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def period_title(period: Period) -> str:
    title = PERIOD_TITLES.get(period.name, period.name)
    if period.first_day == period.last_day:
        return f"{title} · {day_label(period.first_day)}"
    return f"{title} · {day_label(period.first_day)} – {day_label(period.last_day)}"


def by_priority(counts: PriorityCounts) -> str:
    parts = [f"{name} {getattr(counts, name)}" for name in ("urgent", "high", "normal", "low") if getattr(counts, name)]
    return f"{counts.total} ({' · '.join(parts)})" if parts else "0"


def duration(value: Any) -> str:
    return "—" if value is None else format_duration(value)


def response_times(times: ResponseTimes) -> str:
    if not times.answered:
        return "no first responses yet"
    return f"median {duration(times.median)} · 90th pct {duration(times.p90)} ({times.answered} answered)"


def attainment(sla: Attainment) -> str:
    if sla.rate is None:
        return "— (nothing due yet)"
    return f"{sla.rate:.0%} met ({sla.met} of {sla.counted})"


def sentiment(score: float | None) -> str:
    return "—" if score is None else f"{score:+.2f}"


def thread_link(url: str | None, label: str) -> str:
    """A link we built ourselves (https or slack://), so no URL check is needed, unlike customer links."""
    return f"<{escape(url)}|{label}>" if url else label


def case_link(line: CaseLine, link: Link) -> str:
    return thread_link(link(line.channel, line.ts), f"Case #{line.case_id}")


def case_head(line: CaseLine, link: Link) -> str:
    """How a case starts its line in every list: priority emoji, linked number, platform, customer."""
    badge = PRIORITY_BADGES.get(line.priority, line.priority).split(" ")[0]
    customer = limits.fit(inert(line.customer), CUSTOMER_LIMIT)
    return f"{badge} {case_link(line, link)} · {platform_label(line.platform)} · *{customer}*"


def case_text(line: CaseLine, link: Link, now: datetime, *, owner: bool = False) -> str:
    age = format_duration(now - line.created_at)
    waiting = f"open {age}" if line.first_response_at else f"*unanswered* {age}"
    who = f" · <@{line.owner_id}>" if owner and line.owner_id else " · unclaimed" if owner else ""
    return f"{case_head(line, link)}{who} · {waiting}\n      _{limits.fit(inert(line.excerpt), EXCERPT_LIMIT)}_"


def listed(lines: Sequence[CaseLine], limit: int, link: Link, now: datetime, *, total: int | None = None) -> list[str]:
    """The first `limit` cases as lines, and how many more there are (of `total`, when only some were loaded)."""
    shown = [case_text(line, link, now) for line in lines[:limit]]
    more = (len(lines) if total is None else total) - len(shown)
    if more > 0:
        shown.append(f"…and {more} more.")
    return shown


def sections(lines: Sequence[str], *, title: str | None = None) -> Blocks:
    """Lines packed into as few section blocks as Slack's 3000-character limit allows (measured as sent)."""
    head = [f"*{title}*"] if title else []
    return [_section(text) for text in limits.pack(head + [limits.fit(line) for line in lines], limits.SECTION_TEXT)]


def _section(text: str) -> dict[str, Any]:
    return limits.section(text)


def fields(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": limits.fit(f"*{k}*\n{v}", limits.FIELD_TEXT)}
            for k, v in pairs[: limits.SECTION_FIELDS]
        ],
    }


def figure_fields(team: Figures) -> dict[str, Any]:
    return fields(
        [
            ("New", by_priority(team.new)),
            ("Resolved", by_priority(team.resolved)),
            ("Open now", by_priority(team.open)),
            ("First response", response_times(team.first_response)),
            ("SLA (first response)", attainment(team.sla)),
        ]
    )


def breakdown_line(label: str, numbers: Figures) -> str:
    return (
        f"{label}: {numbers.new.total} new · {numbers.resolved.total} resolved · {numbers.open.total} open · "
        f"median first response {duration(numbers.first_response.median)} · SLA {attainment(numbers.sla)}"
    )


def _platform_lines(rows: Sequence[Breakdown]) -> list[str]:
    return [breakdown_line(platform_label(r.key), r.figures) for r in rows] or ["No cases."]


def _staff_lines(rows: Sequence[Breakdown]) -> list[str]:
    return [breakdown_line(f"<@{r.key}>", r.figures) for r in rows] or ["No claimed cases."]


def sentiment_line(trend: SentimentTrend, period: str) -> str:
    """The period's mean sentiment against the one before; a missing side is said in words, never "unknown
    against —"."""
    before = PREVIOUS.get(period, "before")
    if trend.average is None:
        earlier = "" if trend.previous is None else f" ({sentiment(trend.previous)} {before})"
        return f"*Sentiment:* no posts to score{earlier}."
    if trend.previous is None:
        return f"*Sentiment:* {sentiment(trend.average)} on average; no earlier period to compare."
    return (
        f"*Sentiment:* {sentiment(trend.average)} on average, *{trend.direction}* against "
        f"{sentiment(trend.previous)} {before}"
    )


def _day_mood(score: float | None) -> str:
    return "no posts" if score is None else sentiment(score)


def stats_message(stats: Stats, *, now: datetime, link: Link | None = None) -> tuple[str, Blocks]:
    """The ephemeral answer to `/care stats [today|7d|30d]`; a surge in the period is named first."""
    period, team, trend = stats.period, stats.team, stats.sentiment
    title = f"Care stats · {period_title(period)}"
    mood = sentiment_line(trend, period.name)
    if len(trend.days) > 1:
        mood += "\n" + " · ".join(f"{d.day:%a} {d.day.day}: {_day_mood(d.average)}" for d in trend.days)
    blocks: Blocks = [
        {"type": "header", "text": limits.plain(title, limits.HEADER_TEXT)},
        *sections(surge_lines(stats.surges, now=now, link_for=link)),
        figure_fields(team),
        *sections(_platform_lines(stats.platforms), title="By platform"),
        *sections(_staff_lines(stats.staff), title="By staff member (owner)"),
        *sections([mood]),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "First response: from the post to the first public reply or move to DM. SLA counts working "
                    "time only; unanswered cases already past their target count as missed. "
                    "`/care stats today`, `7d` or `30d`.",
                }
            ],
        },
    ]
    fallback = (
        f"{title}: {team.new.total} new, {team.resolved.total} resolved, {team.open.total} open; "
        f"first response {response_times(team.first_response)}; SLA {attainment(team.sla)}"
    )
    if stats.surges:
        fallback += f"; {surge_count(stats.surges)}"
    return limits.fallback(fallback), blocks[: limits.MESSAGE_BLOCKS]


MINE_LIMIT = 40


def mine_message(lines: Sequence[CaseLine], *, link: Link, now: datetime) -> tuple[str, Blocks]:
    """The ephemeral answer to `/care mine`: the asker's open cases, most urgent first, each linked."""
    if not lines:
        text = "You have no open cases. :tada: Claim one from the care channel or the Home tab."
        return text, [_section(text)]
    title = f"Your open cases ({len(lines)})"
    blocks = limits.cap(sections(listed(lines, MINE_LIMIT, link, now), title=title), note=MORE_ON_HOME)
    return title, blocks


MORE_ON_HOME = "…and more: the Home tab lists every case."


def triage_message(found: Agreement, period: Period) -> tuple[str, Blocks]:
    """`/care triage`: how often the policy's "needs a reply" agreed with what the team did, and when to re-learn."""
    title = f"*Triage agreement · {period_title(period)}*"
    if not found.decided:
        text = (
            f"{title}\nNo decided cases yet: a case counts once the team has answered it (a reply or a move to DM) "
            "or ignored it as spam, a troll or not for us."
        )
        return limits.fallback(text), [limits.section(text)]
    flagged = found.agreed_needed + found.flagged_not_needed
    lines = [
        title,
        f"The team decided on {found.decided} case{'s' * (found.decided != 1)} created in this period.",
        f"• Said *needs a reply*: {flagged} — the team answered {found.agreed_needed}, "
        f"ignored {found.flagged_not_needed}",
        f"• Said *no reply needed*: {found.missed + found.agreed_not_needed} — the team answered {found.missed}, "
        f"ignored {found.agreed_not_needed}",
        f"*Precision* {_share(found.precision)} (of what it flagged, the team answered) · "
        f"*Recall* {_share(found.recall)} (of what the team answered, it had flagged)",
    ]
    if found.unjudged:
        lines.append(f"_{found.unjudged} decided case{'s' * (found.unjudged != 1)} came before verdicts were kept._")
    if found.recall is not None and found.recall < RELEARN_BELOW:
        lines.append(
            f":warning: Recall is below {RELEARN_BELOW:.0%}: time to re-learn from the team's decisions "
            "(`care-bot triage learn --out model.json`, then set CARE_TRIAGE_MODEL to it)."
        )
    text = "\n".join(lines)
    return limits.fallback(text), [limits.section(text)]


RELEARN_BELOW = 0.9  # recall under this: complaints are slipping past as "no reply needed"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
