"""Block Kit for the App Home tab: the viewer's cases, the unclaimed queue by priority, today's figures.

Someone outside the care team sees today's figures only (like `/care stats`, they quote no customer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks import limits
from bot.blocks.figures import Link, figure_fields, listed, sections
from bot.blocks.mrkdwn import PRIORITY_BADGES, Blocks
from bot.blocks.surge import surge_lines
from bot.services.queues import Queue
from bot.services.stats import Stats
from bot.services.triage import PRIORITIES

MINE_LIMIT = 15
PER_PRIORITY_LIMIT = 10  # keeps the tab far below Slack's 100 blocks, however long the queue
# Slack documents no size limit for a view beyond 100 blocks; long names and excerpts are fitted per line, and
# the tab as a whole is kept to a size Slack is known to take in one message
HOME_CHARS = 4 * limits.MESSAGE_BLOCK_CHARS


def home_view(
    *, mine: Queue, unclaimed: Queue, today: Stats, link: Link, now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    blocks: Blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Care desk"}}]
    blocks += _surge_on(today, now, link)
    blocks += sections(
        listed(mine.lines, MINE_LIMIT, link, now, total=mine.total) or ["Nothing claimed by you is open. :tada:"],
        title=f"Your open cases ({mine.total})",
    )
    blocks.append({"type": "divider"})
    blocks += sections(
        [] if unclaimed.total else ["Nobody is waiting for a claim. :tada:"],
        title=f"Unclaimed queue ({unclaimed.total})",
    )
    for priority in PRIORITIES:
        group, count = unclaimed.of(priority), unclaimed.counts.get(priority, 0)
        if count:
            blocks += sections(
                listed(group, PER_PRIORITY_LIMIT, link, now, total=count),
                title=f"{PRIORITY_BADGES[priority]} ({count})",
            )
    blocks += [
        {"type": "divider"},
        *_figures(today, now, tz, "`/care stats 7d` for the week, `/care mine` for your cases."),
    ]
    return {"type": "home", "blocks": limits.cap(blocks, max_blocks=limits.VIEW_BLOCKS, max_chars=HOME_CHARS)}


def outsider_view(*, today: Stats, channel: str, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The tab for someone not on the care team: what the desk is and today's figures, no case and no customer."""
    about = (
        f"The care team answers customers' public posts in <#{channel}>. Cases and the queue are shown here "
        "to the care team only; ask a manager if you should be on it."
    )
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Care desk"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": about}},
        *_surge_on(today, now, None),
        *_figures(today, now, tz, "`/care stats 7d` for the week."),
    ]
    return {"type": "home", "blocks": blocks}


def _surge_on(today: Stats, now: datetime, link: Link | None) -> Blocks:
    """A surge going on heads the tab while it lasts (today's figures hold it: it is on now). Its figures quote
    no customer, so the outsider's tab shows it too, without the link to the alert in the care channel."""
    return sections(surge_lines([f for f in today.surges if f.ended_at is None], now=now, link_for=link))


def _figures(today: Stats, now: datetime, tz: ZoneInfo, hint: str) -> Blocks:
    when = f"Updated {now.astimezone(tz):%H:%M} ({tz.key}) when you opened this tab. {hint}"
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Today's team figures*"}},
        figure_fields(today.team),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": when}]},
    ]
