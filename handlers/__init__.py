"""Thin Slack listeners: ack, parse into plain values, call one service, render, call Slack.

`register_all` is the whole routing table: one middleware puts the runtime in Bolt's context as
`context["rt"]`, and each surface module lists its action ids and callback ids in its own `register`.
Listeners are module-level functions, so a unit test can call one with a context of its own.

Every listener takes its runtime, the clicked case and the ack-then-work pattern from handlers/listener.py.
Two more things happen before any listener (handlers/gate.py): a repeated delivery from Slack is
acknowledged without acting (`once_only`), and `guarded` refuses anyone not on the care team for what they
tried; the team, looked up in Slack, is cached for a minute (`context["team"]`).
Errors take one path: `report` (in handlers.errors) tells the person who acted in one sentence and logs
the rest. Listeners are wrapped by `guarded`, which calls it; `@app.error` (bot/app.py) calls it too for
anything Bolt catches before a listener runs.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext

from bot.runtime import Runtime
from bot.services.access import TeamCache
from handlers import actions, commands, events, gate, home, traffic, views


def register_all(app: App, rt: Runtime) -> None:
    team = TeamCache(lambda: gate.load_team(rt.slack, rt.settings), rt.clock)

    @app.middleware
    def with_runtime(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 - Bolt's name
        context["rt"] = rt
        context["team"] = team
        next()

    app.middleware(traffic.log_request)
    app.middleware(gate.once_only)

    for module in (actions, views, commands, events, home):
        module.register(app)
