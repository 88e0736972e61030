"""The /care slash command. Answers are ephemeral: visible only to the person who asked."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.runtime import Runtime
from handlers import guarded

USAGE = (
    "*/care* — the social care desk\n"
    "• `/care help` — this message\n"
    "Cases arrive in <#{channel}> with buttons: *Claim*, *Reply*, *Move to DM*, *Escalate*, *Ignore*, *Resolve*."
)


def register(app: App, rt: Runtime) -> None:
    def on_care(ack: Ack, body: dict[str, Any], command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        prefix = "" if sub == "help" else f"I don't know `/care {sub}`.\n"
        ack(response_type="ephemeral", text=prefix + USAGE.format(channel=rt.settings.care_channel))

    app.command("/care")(guarded(rt, on_care))
