"""The App Home tab: published afresh each time someone opens it, so it always shows where things stand."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.blocks import home as home_blocks
from bot.services import queues, stats
from handlers.listener import ack_then, runtime


def register(app: App) -> None:
    ack_then(app.event("app_home_opened"), publish)


def publish(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab") != "home":
        return  # the Messages tab (where the digest arrives) needs nothing from us
    rt = runtime(context)
    settings, now, user = rt.settings, rt.now(), event["user"]
    with rt.read() as s:
        mine = queues.my_queue(s, user_id=user, per_priority=home_blocks.MINE_LIMIT)
        waiting = queues.unclaimed_queue(s, per_priority=home_blocks.PER_PRIORITY_LIMIT)
        today = stats.compute(
            s,
            period=stats.period("today", now=now, tz=settings.timezone),
            now=now,
            policy=settings.sla,
            tz=settings.timezone,
        )
    view = home_blocks.home_view(
        mine=mine, unclaimed=waiting, today=today, link=rt.thread_url, now=now, tz=settings.timezone
    )
    client.views_publish(user_id=user, view=view)
