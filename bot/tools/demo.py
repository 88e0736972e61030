"""`care-bot demo`: the whole app, no credentials, against a local Slack stand-in; prints the channel.

Everything real runs: the HTTP server, signed webhooks, signed Slack button clicks and modal
submissions, the outbox workers and the reply endpoint. Only Slack itself is stood in for.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.app import build_bolt_app
from bot.config import load_settings
from bot.db import session_scope
from bot.runtime import Runtime, build_runtime
from bot.services import outbox
from bot.tools.slack_standin import Message, SlackStandIn, signed_headers
from bot.web.routes import build_http_app
from bot.web.server import BackgroundServer
from connectors import signing

CHANNEL = "C0CAREDEMO"
STAFF = {"U0ALICE": "Alice Moreau", "U0BOB": "Bob Kimani"}

POSTS: list[tuple[str, str, str, str]] = [
    # platform, handle, name, text
    (
        "twitter",
        "jane_doe",
        "Jane Doe",
        "@AcmeAir my refund for the cancelled flight is 3 weeks late and nobody answers. Unacceptable.",
    ),
    (
        "twitter",
        "mike_travels",
        "Mike Chen",
        "Been on hold with @AcmeAir for 2 hours. Flight AC221 delayed again, no update at the gate.",
    ),
    (
        "facebook",
        "100045",
        "Priya Shah",
        "Your app keeps crashing at checkout and I was charged twice. Please fix this.",
    ),
    (
        "instagram",
        "lena.k",
        "Lena Kowalski",
        "Lost my suitcase on AC88 from Lisbon. 4 days, still nothing. My medication is in there.",
    ),
    ("reddit", "throwaway_fly", "", "Acme Air staff at gate B12 were incredibly rude to an elderly passenger today."),
    (
        "twitter",
        "sam_r",
        "Sam Rivera",
        "@AcmeAir thinking of talking to a lawyer about the injury from the broken seat on AC310.",
    ),
    ("google", "g-7781", "Tom Becker", "Worst check-in experience ever. Waited 50 minutes, one desk open."),
    ("twitter", "trollolol", "Definitely Real", "@AcmeAir lol imagine flying acme, you all deserve to crash"),
    ("facebook", "100077", "Grace Okafor", "Why can't I change my seat online? The page just shows an error."),
    ("twitter", "danny_p", "Danny Park", "@AcmeAir wifi on AC12 never worked and you still charged me. Refund please?"),
    ("instagram", "maria.g", "Maria Garcia", "Booked a wheelchair for my dad and nobody was there when we landed."),
    ("reddit", "budget_flyer", "", "Is it just me or has Acme Air's baggage fee doubled without notice?"),
    (
        "twitter",
        "happy_hannah",
        "Hannah Lee",
        "Shout-out to the @AcmeAir crew on AC44, they found my daughter's teddy bear. Thank you!",
    ),
]
FOLLOW_UP = ("twitter", "jane_doe", "Jane Doe", "@AcmeAir hello?? Still waiting on that refund. 22 days now.")
# Lena answers Bob's DM privately (after Move to DM), and Bob answers her there
LENA_DM = (
    "instagram",
    "lena.k",
    "Lena Kowalski",
    "Hi Bob, my booking reference is QX7P2L. The bag is a blue Samsonite.",
)
BOB_TO_LENA = (
    "Thanks Lena. I've found your blue Samsonite in Lisbon: it's on tonight's AC89 and a courier brings it to your "
    "door by noon tomorrow. I'll message you here once it's on its way. – Bob"
)


def _webhook(
    http: httpx.Client, url: str, secret: str, n: int, post: tuple[str, str, str, str], *, private: bool = False
) -> int:
    platform, handle, name, text = post
    author: dict[str, Any] = {"id": f"user-{handle}", "handle": handle}
    if name:
        author["name"] = name
    body = json.dumps(
        {
            "platform": platform,
            "id": f"{platform}-{1790000000000000000 + n}",
            "author": author,
            "text": text,
            **({"visibility": "private"} if private else {"url": f"https://example.com/{platform}/{handle}/{n}"}),
            "created_at": "2026-11-22T10:00:00Z",
        }
    ).encode()
    response = http.post(
        f"{url}/webhooks/generic",
        content=body,
        headers={"content-type": "application/json", "x-care-signature": signing.sign(secret, body)},
    )
    response.raise_for_status()
    return int(response.json()["case_id"])


class SlackUser:
    """Clicks buttons and submits modals exactly as Slack would deliver them (signed, form-encoded)."""

    def __init__(self, http: httpx.Client, url: str, secret: str, slack: SlackStandIn, user: str) -> None:
        self.http, self.url, self.secret, self.slack, self.user = http, url, secret, slack, user

    def _send(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = urlencode({"payload": json.dumps(payload)})
        response = self.http.post(
            f"{self.url}/slack/events", content=body, headers=signed_headers(body, secret=self.secret)
        )
        response.raise_for_status()
        return response.json() if response.content else {}

    def click(self, action_id: str, case_id: int) -> None:
        self._trigger = f"{time.time()}.{self.user}.{action_id}"
        self._send(
            {
                "type": "block_actions",
                "user": {"id": self.user},
                "team": {"id": "T0STANDIN"},
                "trigger_id": self._trigger,
                "channel": {"id": CHANNEL},
                "container": {"type": "message", "channel_id": CHANNEL, "message_ts": "0"},
                "actions": [
                    {
                        "action_id": action_id,
                        "value": str(case_id),
                        "type": "button",
                        "block_id": "b",
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )

    def confirm(self) -> dict[str, Any]:
        """Submit the modal that the last click opened as it is shown (Move to DM's proposed texts)."""
        view = self._opened()[0]
        values = {
            b["block_id"]: {
                b["element"]["action_id"]: {"type": "plain_text_input", "value": b["element"]["initial_value"]}
            }
            for b in view["blocks"]
            if b["type"] == "input" and b["element"]["type"] == "plain_text_input"
        }
        return self.submit(values)

    def send_as(self) -> dict[str, Any]:
        """The Reply modal's "Send as" choice as Slack submits it: the option it opened on (none without a choice)."""
        view = self._opened()[0]
        return {
            b["block_id"]: {
                b["element"]["action_id"]: {"type": "radio_buttons", "selected_option": b["element"]["initial_option"]}
            }
            for b in view["blocks"]
            if b.get("block_id") == "send_as"
        }

    def _opened(self) -> tuple[dict[str, Any], str]:
        deadline = time.monotonic() + 10
        while True:
            opened = [v for v in self.slack.state.views if v["trigger_id"] == self._trigger]
            if opened or time.monotonic() > deadline:
                break
            time.sleep(0.02)  # the modal opens after the ack, as in Slack
        if not opened:
            raise RuntimeError(f"the modal for {self._trigger} did not open")
        return opened[0]["view"], opened[0]["id"]

    def submit(self, values: dict[str, Any]) -> dict[str, Any]:
        """Fill in and submit the modal that the last click opened."""
        view, view_id = self._opened()
        return self._send(
            {
                "type": "view_submission",
                "user": {"id": self.user},
                "team": {"id": "T0STANDIN"},
                "view": {**view, "id": view_id, "hash": f"1795000000.{view_id}", "state": {"values": values}},
            }
        )


def _settle(rt: Runtime, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        with session_scope(rt.sessions) as session:
            if not outbox.pending_counts(session):
                return


def _await_owner(rt: Runtime, case_id: int, user: str, timeout: float = 10) -> None:
    """Clicks are handled concurrently, as in Slack: wait until a claim has landed before the next one."""
    from bot.models import Case

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(rt.sessions) as session:
            case = session.get(Case, case_id)
            if case is not None and case.owner_id == user:
                return
        time.sleep(0.02)
    raise RuntimeError(f"case {case_id} was not claimed by {user}")


def _plain(text: str, users: dict[str, str]) -> str:
    text = re.sub(r"<@(\w+)>", lambda m: "@" + users.get(m.group(1), m.group(1)).split()[0], text)
    text = re.sub(r"<!subteam\^(\w+)>", r"@\1", text)
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"<!date\^[^|>]*\|([^>]+)>", r"\1", text)  # a date in the reader's time zone: its fallback here
    text = re.sub(r":([a-z0-9_+-]+):", "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("*", "")
    return re.sub(r"(?<=\S)  +", " ", text).strip()


def render_message(message: Message, users: dict[str, str]) -> list[str]:
    """A Slack message as a newcomer would read it: blocks as lines, buttons in [brackets]."""
    lines: list[str] = []
    for block in message.blocks or [{"type": "section", "text": {"text": message.text}}]:
        if block["type"] == "section":
            lines += _plain(block["text"]["text"], users).splitlines()
        elif block["type"] == "context":
            lines.append(" · ".join(_plain(e.get("text", ""), users) for e in block["elements"]))
        elif block["type"] == "actions":
            # buttons show their label, menus their placeholder
            lines.append(
                "  ".join(
                    f"[{(e.get('text') or e.get('placeholder') or {}).get('text', '…')}]" for e in block["elements"]
                )
            )
    return lines


def render_channel(slack: SlackStandIn, channel: str, users: dict[str, str]) -> str:
    out: list[str] = []
    for parent in slack.channel(channel):
        out.append("┌" + "─" * 78)
        out += ["│ " + line for line in render_message(parent, users)]
        for note in slack.thread(channel, parent.ts):
            text = render_message(note, users)
            out.append("│   └ " + text[0])
            out += ["│     " + line for line in text[1:]]
    out.append("└" + "─" * 78)
    return "\n".join(out)


def run_demo(out: Any = None) -> int:
    out = out or sys.stdout
    webhook_secret, signing_secret = secrets.token_hex(16), secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack:
        for uid, name in STAFF.items():
            slack.add_user(uid, name)
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": slack.state.token,
                "SLACK_SIGNING_SECRET": signing_secret,
                "SLACK_API_URL": slack.api_url,
                "CARE_CHANNEL": CHANNEL,
                "CARE_ESCALATE_TO": "U0LEAD,S0MANAGERS",
                # Alice and Bob are the care channel's members, so the care team; Alice leads the shift
                # (a manager), so she may take over a teammate's case.
                "CARE_MANAGERS": "U0ALICE",
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'demo.db'}",
                "CARE_WEBHOOK_SECRET": webhook_secret,
                "CARE_GENERIC_REPLY_URL": slack.reply_url,
                "CARE_ENV_FILE": str(_empty_file(Path(tmp) / "demo.env")),
            }
        )
        # The stand-in has no rate limit, so the demo paces posts faster than Slack's 1/s per channel.
        rt = build_runtime(settings, pace_seconds=0.02, poll_seconds=0.2)
        users = {**STAFF, "U0LEAD": "Lead", "UCAREBOT": "care-bot"}
        try:
            with BackgroundServer(build_http_app(rt, build_bolt_app(rt))) as server, httpx.Client(timeout=10) as http:
                started = time.monotonic()
                print(f"Local Slack stand-in at {slack.api_url}; care-bot at {server.url}\n", file=out)
                ids = [_webhook(http, server.url, webhook_secret, n, post) for n, post in enumerate(POSTS)]
                _webhook(http, server.url, webhook_secret, 99, FOLLOW_UP)
                _settle(rt)
                alice = SlackUser(http, server.url, signing_secret, slack, "U0ALICE")
                bob = SlackUser(http, server.url, signing_secret, slack, "U0BOB")
                jane, mike, priya, lena, rude, lawyer, _, troll, *_rest, praise = ids
                alice.click("case_claim", jane)
                alice.click("case_reply", jane)
                alice.submit(
                    {
                        "reply": {
                            "text": {
                                "type": "plain_text_input",
                                "value": "Hi Jane, I'm Alice. I'm sorry this has taken so long. I've chased your "
                                "refund with our payments team and will update you here today.",
                            }
                        }
                    }
                )
                bob.click("case_move_to_dm", lena)
                bob.confirm()  # the public and the private text, as the Move to DM modal proposes them
                _settle(rt)
                _webhook(http, server.url, webhook_secret, 98, LENA_DM, private=True)  # she answers privately
                _settle(rt)
                bob.click("case_reply", lena)  # the Reply modal starts on "Private message": she wrote privately
                bob.submit({"reply": {"text": {"type": "plain_text_input", "value": BOB_TO_LENA}}, **bob.send_as()})
                alice.click("case_escalate", lawyer)
                bob.click("case_ignore", troll)
                bob.submit(
                    {
                        "choice": {"value": {"type": "radio_buttons", "selected_option": {"value": "troll"}}},
                        "comment": {"value": {"type": "plain_text_input", "value": "Known troll account"}},
                    }
                )
                bob.click("case_claim", priya)
                _await_owner(rt, priya, "U0BOB")
                alice.click("case_claim", priya)  # asks Alice before taking Bob's case...
                alice.submit({})  # ...and she confirms "Take over"
                alice.click("case_reply", praise)
                alice.submit(
                    {
                        "reply": {
                            "text": {
                                "type": "plain_text_input",
                                "value": "Hannah, this made our day! We'll pass your thanks to the AC44 crew. – Alice",
                            }
                        }
                    }
                )
                alice.click("case_resolve", praise)
                alice.submit(
                    {
                        "choice": {"value": {"type": "radio_buttons", "selected_option": {"value": "resolved"}}},
                        "comment": {"value": {"type": "plain_text_input", "value": None}},
                    }
                )
                _settle(rt)
                elapsed = time.monotonic() - started
        finally:
            rt.close()
        print(render_channel(slack, CHANNEL, users), file=out)
        print(f"\nSent to customers through CARE_GENERIC_REPLY_URL ({len(slack.replies)}):", file=out)
        for reply in slack.replies:
            data = reply.json
            print(
                f"  → {data['platform']} {data['visibility']:>7} reply to {data['in_reply_to']}: {data['text']}",
                file=out,
            )
        print(
            f"\n{len(ids) + 2} posts in, {len(slack.channel(CHANNEL))} cases in Slack, "
            f"{len(slack.calls_to('chat.postMessage'))} messages posted, "
            f"{len(slack.calls_to('chat.update'))} updates, in {elapsed:.1f}s.",
            file=out,
        )
    return 0


def _empty_file(path: Path) -> Path:
    """A settings file with nothing in it: the demo sets every variable itself, so an operator's .env stays out."""
    path.write_text("")
    return path
