"""A staff member at the care desk: drives the served app over HTTP as Slack would, and reads what reached
the fake Slack; `ReminderDesk` also runs the scheduler's SLA sweep by hand and reads the reminders."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.models import Case
from bot.schedule.jobs import sweep_tick
from tests.support.env import CHANNEL
from tests.support.slack_requests import block_action, post_interaction, text_value, view_payload
from tests.support.webhooks import post_webhook, webhook_body


class Desk:
    """Drives the app as Slack and a staff member would, and reads what reached the fake Slack."""

    def __init__(self, app_url: str, rt: Any, slack: Any, listeners: Any) -> None:
        self.url, self.rt, self.slack, self.listeners = app_url, rt, slack, listeners

    def settle(self) -> None:
        self.listeners.wait_idle()
        self.rt.deliverer.drain()

    def new_case(self, **overrides: Any) -> int:
        response = post_webhook(self.url, webhook_body(**overrides))
        assert response.status_code == 202, response.text
        self.settle()
        return int(response.json()["case_id"])

    def click(self, action: str, case_id: int, user: str = "U0ALICE") -> None:
        response = post_interaction(self.url, block_action(action, str(case_id), user=user))
        assert response.status_code == 200, response.text
        self.settle()

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], user: str = "U0ALICE", kind: str = "view_submission"
    ) -> dict[str, Any]:
        response = post_interaction(self.url, view_payload(kind, view, values, user=user))
        assert response.status_code == 200, response.text
        self.settle()
        return response.json() if response.content else {}

    def last_view(self) -> dict[str, Any]:
        return self.slack.state.views[-1]["view"]

    def send_reply(
        self, view: dict[str, Any], text: str, user: str = "U0ALICE", send_as: str | None = None
    ) -> dict[str, Any]:
        """Submit the Reply modal with `text` and, when the reply coach holds it, send it anyway: what these tests
        check is the send (tests/handlers/test_reply_composer.py checks the coach). Where the modal offers public
        or private, Slack sends the option picked: `send_as`, else the one the modal started on."""
        values = text_value("reply", "text", text)
        choice = next((b for b in view["blocks"] if b.get("block_id") == "send_as"), None)
        if choice is not None:
            picked = send_as or choice["element"]["initial_option"]["value"]
            values["send_as"] = {"visibility": {"type": "radio_buttons", "selected_option": {"value": picked}}}
        else:
            assert send_as in (None, json.loads(view["private_metadata"]).get("send_as", "public")), view
        answer = self.submit(view, values, user=user)
        if answer.get("response_action") == "update":
            answer = self.submit(answer["view"], values, user=user)
        return answer

    def reply_privately(self, case_id: int, text: str, user: str = "U0ALICE") -> None:
        """Reply, choosing a private message (or the only way the modal offers, when that is private)."""
        self.click("case_reply", case_id, user=user)
        assert self.send_reply(self.last_view(), text, user=user, send_as="private") == {}

    def move_to_dm(self, case_id: int, user: str = "U0ALICE", **typed: str) -> dict[str, Any]:
        """Move to DM: click, then send the texts the modal proposes, or those `typed` by block id (dm_public,
        dm_private), anyway if the reply coach has advice on them; the answer ({} when the modal closed)."""
        self.click("case_move_to_dm", case_id, user=user)
        view = self.last_view()
        assert view["callback_id"] == "move_to_dm_modal", view
        values = {
            block["block_id"]: {
                block["element"]["action_id"]: {
                    "type": "plain_text_input",
                    "value": typed.get(block["block_id"], block["element"].get("initial_value")),
                }
            }
            for block in view["blocks"]
            if block["type"] == "input"
        }
        answer = self.submit(view, values, user=user)
        if answer.get("response_action") == "update":
            answer = self.submit(answer["view"], values, user=user)
        return answer

    @property
    def parent(self) -> Any:
        parents = self.slack.channel(CHANNEL)
        assert len(parents) == 1
        return parents[0]

    def thread_texts(self) -> list[str]:
        return [m.text for m in self.slack.thread(CHANNEL, self.parent.ts)]

    def button_labels(self) -> list[str]:
        actions = [b for b in self.parent.blocks if b["type"] == "actions"][0]
        return [e["text"]["text"] for e in actions["elements"]]

    def parent_text(self) -> str:
        return json.dumps(self.parent.blocks)

    def case(self, case_id: int) -> Case:
        with self.rt.sessions() as s:
            case = s.get(Case, case_id)
            assert case is not None
            return case


class ReminderDesk(Desk):
    """The desk, with the scheduler's SLA sweep run by hand and the reminders it sent read back."""

    def sweep(self, times: int = 1) -> None:
        for _ in range(times):
            sweep_tick(self.rt)
        self.settle()

    def at(self, minutes: float, start: datetime, *, sweeps: int = 2) -> None:
        """Move the clock to `minutes` after `start` and let the scheduler sweep (twice: the second adds nothing)."""
        self.rt.clock.set(start + timedelta(minutes=minutes))
        self.sweep(sweeps)

    def reminders(self) -> list[Any]:
        return [
            m
            for m in self.slack.thread(CHANNEL, self.parent.ts)
            if m.blocks and any(b.get("block_id", "").startswith("reminder_actions_") for b in m.blocks)
        ]

    def reminder_texts(self) -> list[str]:
        return [m.text for m in self.reminders()]

    @staticmethod
    def buttons(message: Any) -> list[str]:
        actions = next(b for b in message.blocks if b["type"] == "actions")
        return [e["text"]["text"] for e in actions["elements"]]

    def dms(self, user: str) -> list[str]:
        return [m.text for m in self.slack.direct_messages(user)]
