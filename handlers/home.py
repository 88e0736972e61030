"""The App Home tab: published afresh each time someone opens it, so it always shows where things stand."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.blocks import home as home_blocks
from bot.runtime import Runtime
from bot.services import access, queues, stats
from handlers.gate import TEAM_VIEW, check
from handlers.listener import ack_then, runtime


def register(app: App) -> None:
    ack_then(app.event("app_home_opened"), publish)


def publish(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab") != "home":
        return  # the Messages tab (where the digest arrives) needs nothing from us
    rt = runtime(context)
    settings, now, user = rt.settings, rt.now(), event["user"]
    if not _on_the_team(context, user):
        figures_only = _today(rt)
        client.views_publish(
            user_id=user,
            view=home_blocks.outsider_view(
                today=figures_only, channel=settings.care_channel, now=now, tz=settings.timezone
            ),
        )
        return
    with rt.read() as s:
        mine = queues.my_queue(s, user_id=user, per_priority=home_blocks.MINE_LIMIT)
        waiting = queues.unclaimed_queue(s, per_priority=home_blocks.PER_PRIORITY_LIMIT)
    today = _today(rt)
    view = home_blocks.home_view(
        mine=mine, unclaimed=waiting, today=today, link=rt.thread_url, now=now, tz=settings.timezone
    )
    client.views_publish(user_id=user, view=view)


def _on_the_team(context: BoltContext, user: str) -> bool:
    """Cases quote customers: only the care team sees them. When Slack cannot say who is on it, nobody does."""
    try:
        check(context, user, TEAM_VIEW)
    except (access.NotAllowed, access.TeamUnknown):
        return False
    return True


def _today(rt: Runtime) -> stats.Stats:
    settings, now = rt.settings, rt.now()
    period = stats.period("today", now=now, tz=settings.timezone)
    with rt.read() as s:
        return stats.compute(s, period=period, now=now, policy=settings.sla, tz=settings.timezone)
