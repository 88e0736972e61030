"""Socket Mode, for real: `care-bot serve` with SLACK_APP_TOKEN connects to a local websocket that plays
Slack's part (hello, envelopes, acks), answers `/care help` and a button click over it, and still
serves the platform webhooks on PORT."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import websockets.sync.server as websockets_sync

from bot.tools.slack_standin import SlackStandIn
from tests.support.env import CHANNEL
from tests.support.serve import start_serve, stop, valid_settings, wait_healthy
from tests.support.slack_requests import block_action
from tests.support.waiting import wait_for
from tests.support.webhooks import post_webhook, webhook_body

APP_TOKEN = "xapp-1-A0SOCKET-1-socketmodetoken"


class SocketSlack:
    """Slack's side of Socket Mode: says hello, sends the envelopes it is given, collects the acks."""

    def __init__(self) -> None:
        self.outgoing: queue.Queue[dict[str, Any]] = queue.Queue()
        self.acks: dict[str, dict[str, Any]] = {}
        self.connected = threading.Event()
        self._server = websockets_sync.serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def __enter__(self) -> SocketSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()

    def _session(self, connection: Any) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0SOCKET"}}))
        self.connected.set()
        while True:
            try:
                envelope = self.outgoing.get(timeout=0.1)
                connection.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                message = connection.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            ack = json.loads(message)
            if "envelope_id" in ack:
                self.acks[ack["envelope_id"]] = ack

    def send(self, envelope_id: str, kind: str, payload: dict[str, Any]) -> None:
        self.outgoing.put(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind == "slash_commands",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )


@pytest.fixture
def socket_slack() -> Iterator[SocketSlack]:
    with SocketSlack() as server:
        yield server


def test_serve_over_socket_mode_acks_commands_and_clicks(tmp_path, socket_slack):
    with SlackStandIn(token="xoxb-socket-test") as slack:
        slack.add_user("U0ALICE", "Alice Moreau")
        slack.state.app_token, slack.state.socket_url = APP_TOKEN, socket_slack.url
        env = valid_settings(
            tmp_path,
            SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN="xoxb-socket-test",
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_SIGNING_SECRET=None,
            CARE_WEBHOOK_SECRET="test-webhook-secret",
            CARE_GENERIC_REPLY_URL=slack.reply_url,
        )
        served = start_serve(tmp_path, env)
        try:
            wait_healthy(served)
            assert socket_slack.connected.wait(10), served.output()

            # the platform webhooks are still served over HTTP
            case_id = post_webhook(served.url, webhook_body()).json()["case_id"]
            parent = wait_for(lambda: slack.channel(CHANNEL), timeout=10)[0]

            socket_slack.send(
                "env-cmd",
                "slash_commands",
                {
                    "command": "/care",
                    "text": "help",
                    "user_id": "U0ALICE",
                    "channel_id": CHANNEL,
                    "team_id": "T0STANDIN",
                    "response_url": f"{slack.base_url}/response/1",
                    "trigger_id": "1.2.3",
                },
            )
            ack = wait_for(lambda: socket_slack.acks.get("env-cmd"), timeout=10)
            assert "/care stats" in json.dumps(ack["payload"])  # the usage, answered in the ack

            click = block_action("case_claim", str(case_id), user="U0ALICE", message_ts=parent.ts)
            socket_slack.send("env-click", "interactive", click)
            assert wait_for(lambda: socket_slack.acks.get("env-click"), timeout=10)
            wait_for(lambda: "<@U0ALICE>" in json.dumps(slack.channel(CHANNEL)[0].blocks), timeout=10)
            # the case message updates first (updates are not paced); the thread note follows at the channel's pace
            wait_for(lambda: any("claimed this case" in m.text for m in slack.thread(CHANNEL, parent.ts)), timeout=10)
        finally:
            code = stop(served)
    output = served.output()
    assert code in (0, -15), output
    assert "Traceback" not in output, output
    assert APP_TOKEN not in output and "xoxb-socket-test" not in output
