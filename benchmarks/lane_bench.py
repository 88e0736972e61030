"""The Slack lane under load: the real `care-bot serve` against the local Slack stand-in, with Slack's per-channel
posting limit switched on (one post a second per channel, no burst: stricter than Slack) and a slow API.

    python benchmarks/lane_bench.py [--only claims,storm,outage,kill,replicas,sigterm] [--outage-seconds 60]
                                    [--api-delay 0.1] [--keep DIR]

Rows (issue 16, "The engine under load": a Slack lane that stays responsive):
  claims    50 cases already in the channel; 50 signed Claim clicks at once with Slack at 500 ms a call: the ack,
            and for each click the time until its case message in the stand-in names the clicker (chat.update).
  storm     1,000 mentions in 60 s through the signed generic webhook (tweets from ../shared/data/Tweets.csv
            where present), storm mode on (issue 17): when each of the 10 most negative reached the channel after
            it was sent (as a case message or in a batch); case messages and batch messages in the first 60 s and
            in all; the alert and its in-place updates; the 429s the stand-in answered chat.postMessage in the
            channel (self-caused: nothing else posts there); a Claim clicked at t=30 s on a posted case; then,
            once the queue has drained and the surge has ended, that every mention is in the channel exactly once.
  outage    Slack answers 503 to everything for --outage-seconds while 30 mentions of mixed priority arrive:
            after recovery, the first post's priority and how many pairs of posts are out of priority order.
  kill      kill -9 of serve while its chat.postMessage is in flight (Slack takes 4 s), restarted at once: the
            time until that item is delivered, and that it reached the channel exactly once (by the outbox id
            in message metadata).
  replicas  two `care-bot serve` on one database (one SQLite file; PostgreSQL when DATABASE_URL points there)
            posting 20 cases into one channel: posts per second into it, 429s, exactly once.
  sigterm   SIGTERM with 55 items pending and Slack slow (3 s a post): time to exit and its status, the call in
            flight finished and recorded, nothing left leased; after a restart every item delivered exactly once.

Each row starts from an empty database: a new SQLite file, or, with DATABASE_URL=postgresql://..., that database
EMPTIED (its public schema dropped and recreated): point it at a database made for the benchmark. Timing lives
here, never in the tests. `run_lane(workdir, database_url)` returns the rows for another script to print.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, SECRET, TWEETS, free_port, generic_bodies, wait_port  # noqa: E402

sys.path.insert(0, str(ROOT))
from bot.tools.slack_standin import Message, SlackStandIn, signed_headers  # noqa: E402

# CARE_ENV_FILE for the app under test: a settings file with nothing in it (a missing one is refused)
EMPTY_ENV = Path(__file__).resolve().parent.parent / "tests" / "support" / "empty.env"

ROWS = ("claims", "storm", "outage", "kill", "replicas", "sigterm")
CHANNEL = "C0LANE"
TOKEN = "xoxb-lane-bench"
SIGNING_SECRET = "lane-bench-signing-secret"
STAFF = tuple(f"U0STAFF{n:02d}" for n in range(60))
POST_LIMIT = 1.0  # Slack: about one chat.postMessage a second per channel
# Texts the default triage policy scores urgent / normal / low (checked when the outage row builds them)
URGENT = "I am calling my lawyer about this fraud, order {n}"
NORMAL = "Is my parcel on its way? Order {n}"
LOW = "Thanks, lovely service today! Order {n}"
RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass
class Row:
    """One line of the table: what was measured, what came out, the issue's target and whether it was met."""

    measure: str
    result: str
    target: str
    met: bool | None = None
    note: str = ""


# -- helpers --------------------------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): with 50 clicks the p99 is the slowest but one, not an interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def sign_generic(body: bytes) -> str:
    """X-Care-Signature as the README documents it (the key engine_bench's serve runs with)."""
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def mention(n: int, text: str, prefix: str = "lane") -> tuple[bytes, str]:
    body = json.dumps(
        {
            "platform": "twitter",
            "id": f"{prefix}-{n}-{random.randint(0, 1 << 30)}",
            "author": {"id": f"{prefix}-a{n}", "handle": f"{prefix}{n}", "name": f"Customer {n}"},
            "text": text,
            "created_at": "2026-11-26T10:00:00Z",
        }
    ).encode()
    return body, sign_generic(body)


def post_mention(client: httpx.Client, url: str, signed: tuple[bytes, str]) -> int:
    body, signature = signed
    try:
        response = client.post(
            f"{url}/webhooks/generic",
            content=body,
            headers={"content-type": "application/json", "x-care-signature": signature},
            timeout=30,
        )
    except httpx.HTTPError:
        return 0
    return response.status_code


def claim_click(case_id: int, user: str, message_ts: str, response_url: str) -> tuple[str, dict[str, str]]:
    """A Claim button's block_actions exactly as Slack sends it: form-encoded `payload=`, v0-signed, with the
    response_url of the message clicked (the stand-in's, which replaces that message as Slack's does)."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "api_app_id": "A0CARE",
        "trigger_id": f"{int(time.time())}.{user}.trigger",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL, "is_ephemeral": False},
        "channel": {"id": CHANNEL, "name": "care"},
        "message": {"ts": message_ts, "type": "message"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": "case_claim",  # bot/blocks/ids.py ACTION_CLAIM
                "block_id": "case_actions",
                "type": "button",
                "value": str(case_id),
                "text": {"type": "plain_text", "text": "Claim"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return body, signed_headers(body, secret=SIGNING_SECRET)


def claim_value(message: Message) -> int | None:
    """The case id on a case message's Claim button (what a person clicks)."""
    for block in message.blocks or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == "case_claim":
                return int(element["value"])
    return None


def shows_owner(slack: SlackStandIn, ts: str, user: str) -> bool:
    message = next((m for m in slack.channel(CHANNEL) if m.ts == ts), None)
    return message is not None and f"<@{user}>" in json.dumps(message.blocks or [])


def outbox_ids(slack: SlackStandIn) -> Counter[int]:
    """How many messages in the channel (threads included) carry each outbox id in their metadata."""
    found: Counter[int] = Counter()
    for m in slack.history(CHANNEL):
        marker = (m.metadata or {}).get("event_payload") or {}
        if "outbox_id" in marker and not marker.get("part"):
            found[int(marker["outbox_id"])] += 1
    return found


def refusals(slack: SlackStandIn) -> str:
    """The 429s the channel's limit answered, with how long after the previous accepted post each came: a 429 at
    0.95 s is a post sent 0.05 s too early by Slack's clock, which is what the app's pace margin is for."""
    accepted, refused = slack.post_times(CHANNEL), slack.refused_times(CHANNEL)
    if not refused:
        return "0 self-caused 429s"
    after = [t - max((a for a in accepted if a <= t), default=t) for t in refused]
    return f"{len(refused)} self-caused 429s ({min(after):.2f}–{max(after):.2f} s after the previous accepted post)"


def priority_of(message: Message) -> str:
    return message.text.split("]")[0].strip("[")


def wait_for(condition: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(step)


# -- the database ----------------------------------------------------------------------------------------------------
def fresh_database(workdir: Path, database_url: str | None, name: str) -> str:
    """A new SQLite file per row, or the PostgreSQL database at `database_url` emptied."""
    if not database_url or database_url.startswith("sqlite"):
        for stale in workdir.glob(f"{name}.db*"):  # a kept directory from an earlier run: start empty all the same
            stale.unlink()
        return f"sqlite:///{workdir / f'{name}.db'}"
    from sqlalchemy import text

    from bot import db

    engine = db.make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return database_url


def outbox_items(url: str, kind: str | None = None) -> list[Any]:
    """The Slack lane's outbox items as rows (id, kind, case_id, state, lease_until, lease_owner, attempts, result);
    the last lease owner stays on a delivered item, which tells which replica delivered it."""
    from sqlalchemy import select

    from bot import db
    from bot.models import OutboxItem

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            query = select(
                OutboxItem.id,
                OutboxItem.kind,
                OutboxItem.case_id,
                OutboxItem.state,
                OutboxItem.lease_until,
                OutboxItem.lease_owner,
                OutboxItem.attempts,
                OutboxItem.result,
            ).where(OutboxItem.lane == "slack")
            if kind:
                query = query.where(OutboxItem.kind == kind)
            return list(conn.execute(query.order_by(OutboxItem.id)).all())
    finally:
        engine.dispose()


def seed_posted_cases(url: str, slack: SlackStandIn, count: int) -> dict[int, str]:
    """`count` open, unclaimed cases whose messages are already in the channel (case id -> message ts): the desk
    as it stands before the clicks, without waiting ~1 s a case for the app to post them at Slack's pace."""
    from sqlalchemy import insert

    from bot import db
    from bot.models import Case, Mention

    engine = db.make_engine(url)
    db.upgrade(engine)
    now = datetime.now(UTC)
    posted: dict[int, str] = {}
    cases, mentions = [], []
    for n in range(1, count + 1):
        text = f"Where is my parcel? Order {n}"
        message = slack.seed_message(
            CHANNEL,
            f"[normal] X · Customer {n}: {text}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Status:* Open · *Owner:* unclaimed"}]},
            ],
        )
        posted[n] = message.ts
        author = f"seed-{n}"
        cases.append(
            {
                "id": n,
                "platform": "twitter",
                "connector": "generic",
                "author_id": author,
                "author_handle": author,
                "author_name": f"Customer {n}",
                "status": "open",
                "priority": "normal",
                "slack_channel": CHANNEL,
                "slack_ts": message.ts,
                "created_at": now,
                "updated_at": now,
            }
        )
        mentions.append(
            {
                "id": n,
                "case_id": n,
                "platform": "twitter",
                "external_id": f"seed-{n}",
                "author_id": author,
                "author_handle": author,
                "author_name": f"Customer {n}",
                "text": text,
                "posted_at": now,
                "received_at": now,
                "sentiment": 0.0,
                "extra": {},
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(Case), cases)
        conn.execute(insert(Mention), mentions)
    engine.dispose()
    return posted


# -- care-bot serve --------------------------------------------------------------------------------------------------
class Serve:
    """One `care-bot serve` subprocess, configured as the README documents, logging to a file in the workdir."""

    def __init__(
        self, workdir: Path, slack: SlackStandIn, database_url: str, name: str, extra: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "CARE_")) and k not in ("DATABASE_URL", "PORT", "LOG_LEVEL")
            },
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "CARE_CHANNEL": CHANNEL,
            "CARE_TEAM": ",".join(STAFF),  # who may act, without a members lookup at a slow Slack
            # each row measures one mechanism of the lane; storm mode (issue 17) is the storm row's own
            "CARE_SPIKE_PER_MIN": "999999",
            "DATABASE_URL": database_url,
            "CARE_WEBHOOK_SECRET": SECRET,
            "CARE_ENV_FILE": str(EMPTY_ENV),
            "LOG_LEVEL": "INFO",
            "PORT": str(self.port),
            # the app of this checkout, whatever the venv has installed (a snapshot measures itself)
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            **(extra or {}),
        }
        self.started = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def healthy(self, timeout: float = 30) -> None:
        wait_port(self.port, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"serve did not become healthy; see {self.log}")

    def stop(self, timeout: float = 20) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: nothing runs in the process after this
            self.proc.wait(timeout=5)


@contextmanager
def standin(*, delay: float = 0.0) -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as slack:
        for user in STAFF:
            slack.add_user(user, f"Staff {user[-2:]}")
        slack.limit_posts(POST_LIMIT)
        if delay:
            slack.slow("*", delay)
        yield slack


def send_spread(
    url: str,
    bodies: list[tuple[bytes, str]],
    seconds: float,
    workers: int = 4,
    sent_at: list[float] | None = None,
) -> list[int]:
    """Send `bodies` evenly over `seconds` (body i at i * seconds / len), from a few connections; the statuses
    (and in `sent_at`, when each was sent, by time.monotonic())."""
    statuses = [0] * len(bodies)
    start = time.monotonic()
    step = seconds / max(1, len(bodies))

    def work(first: int) -> None:
        with httpx.Client() as client:
            for i in range(first, len(bodies), workers):
                pause = start + i * step - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if sent_at is not None:
                    sent_at[i] = time.monotonic()
                statuses[i] = post_mention(client, url, bodies[i])

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


# -- 1. fifty simultaneous Claims ------------------------------------------------------------------------------------
def row_claims(workdir: Path, database_url: str | None) -> list[Row]:
    count, delay, horizon = 50, 0.5, 30.0
    with standin() as slack:
        url = fresh_database(workdir, database_url, "claims")
        posted = seed_posted_cases(url, slack, count)
        slack.slow("*", delay)
        serve = Serve(workdir, slack, url, "claims")
        try:
            serve.healthy()
            clicks = {case_id: STAFF[i] for i, (case_id, _) in enumerate(sorted(posted.items()))}
            acks: dict[int, float] = {}
            statuses: dict[int, int] = {}
            clicked: dict[int, float] = {}
            seen: dict[int, float] = {}
            barrier = threading.Barrier(count)

            def click(case_id: int) -> None:
                body, headers = claim_click(
                    case_id, clicks[case_id], posted[case_id], slack.action_response_url(CHANNEL, posted[case_id])
                )
                with httpx.Client() as client:
                    barrier.wait()
                    clicked[case_id] = time.monotonic()
                    response = client.post(f"{serve.url}/slack/events", content=body, headers=headers, timeout=30)
                    acks[case_id] = time.monotonic() - clicked[case_id]
                    statuses[case_id] = response.status_code

            threads = [threading.Thread(target=click, args=(c,), daemon=True) for c in clicks]
            for t in threads:
                t.start()
            deadline = None
            case_of = {ts: case_id for case_id, ts in posted.items()}
            edits: dict[int, int] = {}
            while True:  # watch every case message for its clicker's name, every 20 ms (only those just edited)
                now = time.monotonic()
                for message in slack.channel(CHANNEL):
                    case_id = case_of.get(message.ts, 0)
                    if case_id in seen or case_id not in clicked or edits.get(case_id) == message.edits:
                        continue
                    edits[case_id] = message.edits
                    if f"<@{clicks[case_id]}>" in json.dumps(message.blocks or []):
                        seen[case_id] = now
                if clicked and deadline is None and len(clicked) == count:
                    deadline = min(clicked.values()) + horizon
                if len(seen) == count or (deadline is not None and now > deadline):
                    break
                time.sleep(0.02)
            for t in threads:
                t.join(timeout=30)
            notes = [m for m in slack.history(CHANNEL) if m.thread_ts and "claimed" in m.text]
            updates = len(slack.calls_to("chat.update"))
        finally:
            serve.stop()
        limited = refusals(slack)
    ack_times = list(acks.values())
    effects = [seen[c] - clicked[c] for c in seen]
    within = sum(1 for e in effects if e <= 2.0)
    return [
        Row(
            f"50 simultaneous Claims, Slack {delay * 1000:.0f} ms/call: ack",
            f"p50 {pct(ack_times, 50):.2f} s, p99 {pct(ack_times, 99):.2f} s "
            f"({sum(1 for s in statuses.values() if s == 200)}/{count} answered 200)",
            "ack < 3 s (Slack's limit)",
            pct(ack_times, 99) < 3.0 and len(statuses) == count,
        ),
        Row(
            "50 simultaneous Claims: each clicker sees the claim on their case message",
            f"p50 {pct(effects, 50):.1f} s, p99 {pct(effects, 99):.1f} s, max {max(effects, default=float('nan')):.1f}"
            f" s; {within}/{count} within 2 s, {len(seen)}/{count} after {horizon:.0f} s "
            f"({updates} chat.update calls, {len(notes)} 'claimed' thread notes; {limited})",
            "every clicker within 2 s",
            within == count,
        ),
    ]


# -- 2. the storm ----------------------------------------------------------------------------------------------------
WORST_FIRST, WORST_WITHIN = 10, 15.0  # issue 17: the 10 most negative mentions reach the channel within 15 s


ALERT_MARKS = (":rotating_light:", ":white_check_mark:")  # the spike alert's text, ongoing or over


def case_ids_in(message: Message) -> tuple[int | None, list[int]]:
    """What a channel message shows: the case of a case message (its Claim; the alert's examples carry Claims too,
    but they are not the case's message), and the cases a batch lists (each entry's "Open as case")."""
    if message.text.startswith(ALERT_MARKS):
        return None, []
    listed = []
    for block in message.blocks or []:
        for element in ([block.get("accessory")] if block.get("accessory") else []) + list(block.get("elements") or []):
            if isinstance(element, dict) and element.get("action_id") == "surge_open_case":
                listed.append(int(element["value"]))
    return claim_value(message), listed


def storm_mentions(url: str) -> list[tuple[int, int, float]]:
    """(body index, case id, sentiment) of every stored mention, from the desk's own database."""
    from sqlalchemy import text

    from bot import db

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT external_id, case_id, sentiment FROM mentions")).all()
    finally:
        engine.dispose()
    return [(int(external.split("-")[1]), int(case_id), float(score)) for external, case_id, score in rows]


def pending_slack_items(url: str) -> int:
    return sum(1 for item in outbox_items(url) if item.state == "pending")


def row_storm(workdir: Path, database_url: str | None, api_delay: float, drain: float = 900.0) -> list[Row]:
    """Issue 17's storm: 1,000 mentions in 60 s with Slack at 1 post/s. Measured: when each of the 10 most negative
    reached the channel after it was sent, what the channel got in the first minute (case messages, the alert,
    batches in its thread), a Claim at t=30 s, the 429s; then, once the queue has drained (at most `drain` s),
    that every mention is in the channel exactly once, as a case message or in a batch, and that the alert said
    the surge was over."""
    total, seconds, click_at = 1000, 60.0, 30.0
    bodies = generic_bodies(total)  # tweets where ../shared/data/Tweets.csv is present, distinct authors
    sent_at = [0.0] * total
    with standin(delay=api_delay) as slack:
        url = fresh_database(workdir, database_url, "storm")
        serve = Serve(workdir, slack, url, "storm", extra={"CARE_SPIKE_PER_MIN": "30"})  # the default: storm mode on
        try:
            serve.healthy()
            started = time.monotonic()
            statuses: list[int] = []
            sender = threading.Thread(
                target=lambda: statuses.extend(send_spread(serve.url, bodies, seconds, sent_at=sent_at)), daemon=True
            )
            sender.start()
            time.sleep(max(0.0, started + click_at - time.monotonic()))
            parents = [m for m in slack.channel(CHANNEL) if case_ids_in(m)[0] is not None]
            target = parents[-1] if parents else None
            clicked_at = effect = None
            late = ""
            if target is not None and (case_id := claim_value(target)) is not None:
                body, headers = claim_click(case_id, STAFF[0], target.ts, slack.action_response_url(CHANNEL, target.ts))
                clicked_at = time.monotonic()
                httpx.post(f"{serve.url}/slack/events", content=body, headers=headers, timeout=30)
                shown = wait_for(
                    lambda: shows_owner(slack, target.ts, STAFF[0]) and time.monotonic(),
                    timeout=started + seconds - time.monotonic(),
                    step=0.02,
                )
                effect = shown - clicked_at if shown else None
            time.sleep(max(0.0, started + seconds - time.monotonic()))
            first_minute = [m for m in slack.history(CHANNEL) if m.posted_at <= started + seconds]
            limited_first_minute = slack.rate_limited_posts(CHANNEL)
            if target is not None and clicked_at is not None and effect is None:  # not yet: 30 s more, for the record
                ts = target.ts
                shown = wait_for(lambda: shows_owner(slack, ts, STAFF[0]) and time.monotonic(), 30, 0.02)
                late = f"{shown - clicked_at:.1f} s" if shown else "not within 60 s"
            sender.join(timeout=30)
            drained = wait_for(lambda: pending_slack_items(url) == 0 and time.monotonic(), drain, step=1.0)

            def alerts_now() -> list[Message]:
                return [m for m in slack.channel(CHANNEL) if m.text.startswith(ALERT_MARKS)]

            if drained and alerts_now():  # the surge ends after three calm minutes: wait for the alert to say so
                wait_for(lambda: alerts_now()[0].text.startswith(":white_check_mark:"), 240, step=1.0)
            history = slack.history(CHANNEL)
            alerts = alerts_now()
            alert_updates = sum(
                1 for call in slack.calls_to("chat.update") if alerts and call.params.get("ts") == alerts[0].ts
            )
            limited = slack.rate_limited_posts(CHANNEL)
            detail = refusals(slack)
            mentions = storm_mentions(url)
        finally:
            serve.stop()

    # where each mention's case reached the channel: as a case message, or listed in a batch
    alert_ts = alerts[0].ts if alerts else None
    parent_at: dict[int, list[float]] = {}
    listed_at: dict[int, list[float]] = {}
    batches = [m for m in history if alert_ts is not None and m.thread_ts == alert_ts]
    for m in history:
        parent, listed = case_ids_in(m)
        if parent is not None and m.thread_ts is None:
            parent_at.setdefault(parent, []).append(m.posted_at)
        for case in listed:
            listed_at.setdefault(case, []).append(m.posted_at)
    shown_times = {c: parent_at.get(c, []) + listed_at.get(c, []) for c in {c for _, c, _ in mentions}}
    once = sum(1 for times in shown_times.values() if len(times) == 1)
    twice = sum(1 for times in shown_times.values() if len(times) > 1)
    missing = total - sum(1 for _, c, _ in mentions if shown_times.get(c))
    worst = sorted(mentions, key=lambda m: (m[2], sent_at[m[0]]))[:WORST_FIRST]
    waits = [min(shown_times[c]) - sent_at[n] if shown_times.get(c) else None for n, c, _ in worst]
    within = sum(1 for w in waits if w is not None and w <= WORST_WITHIN)
    shown_waits = ", ".join(f"{w:.1f}" if w is not None else "never" for w in waits)

    source = "tweets" if TWEETS.is_file() else "generated text"
    if clicked_at is None:
        click = "no case message posted by t=30 s: no click"
    elif effect is not None:
        click = f"{effect:.2f} s"
    else:
        click = f"{late} (after the first 60 s)"
    accepted = sum(1 for s in statuses if s == 202)
    parents_first = sum(1 for m in first_minute if m.thread_ts is None and case_ids_in(m)[0] is not None)
    batches_first = sum(1 for m in first_minute if alert_ts is not None and m.thread_ts == alert_ts)
    ended = bool(alerts) and alerts[0].text.startswith(":white_check_mark:")
    drain_note = f"drained {drained - started:.0f} s after the start" if drained else f"not drained in {drain:.0f} s"
    return [
        Row(
            f"storm: 1,000 mentions in 60 s ({source}), Slack 1 post/s/channel, {api_delay * 1000:.0f} ms/call: "
            f"the {WORST_FIRST} most negative reach the channel",
            f"after {shown_waits} s ({within}/{WORST_FIRST} within {WORST_WITHIN:.0f} s)",
            f"all within {WORST_WITHIN:.0f} s",
            within == WORST_FIRST,
        ),
        Row(
            "storm: what the channel got",
            f"first 60 s: {parents_first} case messages, {batches_first} batch messages, "
            f"{limited_first_minute} 429s; in all: {len(alerts)} spike alert(s) updated {alert_updates} times in "
            f"place{' (it says the surge is over)' if ended else ''}, {len(parent_at)} case messages, {len(batches)} "
            f"batch messages listing {sum(map(len, listed_at.values()))} posts; {detail}; {drain_note}",
            "one alert, 0 self-caused 429s",
            len(alerts) == 1 and limited == 0,
        ),
        Row(
            "storm: every mention accounted for",
            f"{accepted}/{total} answered 202; {once}/{total} in the channel exactly once "
            f"({twice} more than once, {missing} not at all)",
            "each exactly once",
            accepted == total and once == total and twice == 0,
        ),
        Row("storm: a Claim clicked at t=30 s shows on its message", click, "< 2 s", effect is not None and effect < 2),
    ]


# -- 3. after an outage ----------------------------------------------------------------------------------------------
def row_outage(workdir: Path, database_url: str | None, api_delay: float, outage: float) -> list[Row]:
    from bot.services import triage_policy

    count = 30
    texts = [(URGENT, NORMAL, LOW)[n % 3].format(n=n) for n in range(count)]
    texts = texts[1::3] + texts[2::3] + texts[0::3]  # arrival order: the normal ones, then the lows, then the urgent
    texts = [texts[(7 * k) % count] for k in range(count)]  # ... shuffled deterministically (7 is prime to 30)
    for text in texts:
        expected = "urgent" if "lawyer" in text else "low" if "Thanks" in text else "normal"
        assert triage_policy.assess(text).priority == expected, (text, triage_policy.assess(text))
    bodies = [mention(n, text, "outage") for n, text in enumerate(texts)]
    with standin(delay=api_delay) as slack:
        url = fresh_database(workdir, database_url, "outage")
        serve = Serve(workdir, slack, url, "outage")
        try:
            serve.healthy()
            slack.outage(outage)
            began = time.monotonic()
            statuses = send_spread(serve.url, bodies, outage * 0.8)
            recovered = began + outage
            time.sleep(max(0.0, recovered - time.monotonic()))
            posted = wait_for(lambda: len(slack.channel(CHANNEL)) >= count, timeout=90 + 1.5 * count, step=0.1)
            parents = slack.channel(CHANNEL)
            first_after = slack.post_times(CHANNEL)[0] - recovered if parents else float("nan")
            failed = sum(1 for c in slack.state.calls if recovered - outage <= c.at < recovered)
        finally:
            serve.stop()
    order = [priority_of(m) for m in parents]
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]
    out_of_order = sum(1 for a, b in pairs if RANK[a] > RANK[b])
    first = order[0] if order else "none"
    return [
        Row(
            f"after a {outage:.0f} s Slack outage ({count} mentions, urgent/normal/low, arriving during it)",
            f"first post after recovery: {first} (at +{first_after:.1f} s); {out_of_order} of {len(pairs)} pairs "
            f"out of priority order; {len(parents)}/{count} posted{'' if posted else ' (timed out)'}; "
            f"{failed} calls answered 503 during the outage; {sum(1 for s in statuses if s == 202)}/{count} 202",
            "urgent first, 0 out of order",
            first == "urgent" and out_of_order == 0,
        )
    ]


# -- 4. kill -9 ------------------------------------------------------------------------------------------------------
def row_kill(workdir: Path, database_url: str | None) -> list[Row]:
    slow_post = 4.0
    with standin() as slack:
        url = fresh_database(workdir, database_url, "kill")
        slack.slow("chat.postMessage", slow_post)
        first = Serve(workdir, slack, url, "kill-1")
        second = None
        try:
            first.healthy()
            with httpx.Client() as client:
                assert post_mention(client, first.url, mention(0, NORMAL.format(n=0), "kill")) == 202
            wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=30)
            time.sleep(0.5)  # the call is in flight: Slack has it, the process holds the item's lease
            first.kill()
            killed = time.monotonic()
            slack.slow("chat.postMessage", 0.0)
            second = Serve(workdir, slack, url, "kill-2")
            restarted = second.started
            second.healthy()
            done = wait_for(
                lambda: (items := outbox_items(url, "post_parent")) and items[0].state == "done" and time.monotonic(),
                timeout=60,
                step=0.05,
            )
            time.sleep(1.0)  # room for a duplicate to show, were there one
        finally:
            first.kill()
            if second is not None:
                second.stop()
        [item] = outbox_items(url, "post_parent")
        copies = outbox_ids(slack)[item.id]
        posts = len(slack.calls_to("chat.postMessage"))
        looked = len(slack.calls_to("conversations.history"))
    found = "found in the channel by its metadata" if item.result and looked else "posted again"
    delivered = f"{done - restarted:.1f} s after the restart ({done - killed:.1f} s after the kill)" if done else "no"
    return [
        Row(
            f"kill -9 of serve while its chat.postMessage is in flight (Slack {slow_post:.0f} s a post), restarted",
            f"delivered {delivered}; {copies} message(s) with its outbox id ({posts} chat.postMessage calls, "
            f"{found}, attempts {item.attempts})",
            "within 5 s of restart, exactly once",
            bool(done) and done - restarted <= 5.0 and copies == 1,
        )
    ]


# -- 5. two replicas -------------------------------------------------------------------------------------------------
def row_replicas(workdir: Path, database_url: str | None, api_delay: float) -> list[Row]:
    count = 20
    with standin(delay=api_delay) as slack:
        url = fresh_database(workdir, database_url, "replicas")
        from bot import db

        engine = db.make_engine(url)  # upgraded once, before two processes both try
        db.upgrade(engine)
        engine.dispose()
        replicas = [Serve(workdir, slack, url, "replica-a"), Serve(workdir, slack, url, "replica-b")]
        try:
            for r in replicas:
                r.healthy()
            with httpx.Client() as client:
                for n in range(count):
                    status = post_mention(client, replicas[n % 2].url, mention(n, NORMAL.format(n=n), "replica"))
                    assert status == 202, status
            wait_for(lambda: len(slack.channel(CHANNEL)) >= count, timeout=30 + 2 * count, step=0.1)
            time.sleep(1.0)
        finally:
            for r in replicas:
                r.stop()
        times = slack.post_times(CHANNEL)
        limited = slack.rate_limited_posts(CHANNEL)
        detail = refusals(slack)
        copies = outbox_ids(slack)
        items = outbox_items(url, "post_parent")
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    busiest = max((sum(1 for t in times if s <= t < s + 1.0) for s in times), default=0)
    once = sorted(copies) == sorted(i.id for i in items) and set(copies.values()) == {1}
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite, one file"
    shares = sorted(Counter(i.lease_owner for i in items if i.state == "done").values(), reverse=True)
    return [
        Row(
            f"two replicas ({backend}), one channel, {count} cases",
            f"{rate:.2f} posts/s overall, at most {busiest} in any 1 s, smallest gap {min(gaps, default=0):.2f} s; "
            f"{detail}; {len(times)}/{count} posted ({' + '.join(map(str, shares))} by the two replicas), "
            f"{'exactly once' if once else 'NOT exactly once: ' + str(dict(copies))}",
            "≤ 1 post/s per channel across replicas, 0 429s, exactly once",
            busiest <= 1 and limited == 0 and once,
        )
    ]


# -- 6. SIGTERM with items pending -----------------------------------------------------------------------------------
def row_sigterm(workdir: Path, database_url: str | None) -> list[Row]:
    count, slow_post = 55, 3.0
    with standin() as slack:
        url = fresh_database(workdir, database_url, "sigterm")
        slack.slow("chat.postMessage", slow_post)
        serve = Serve(workdir, slack, url, "sigterm-1")
        again = None
        try:
            serve.healthy()
            with httpx.Client() as client:
                for n in range(count):
                    assert post_mention(client, serve.url, mention(n, NORMAL.format(n=n), "sigterm")) == 202
            wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=30)
            time.sleep(0.5)
            in_flight_before = len(slack.calls_to("chat.postMessage"))
            signalled = time.monotonic()
            serve.proc.send_signal(signal.SIGTERM)
            try:
                code: int | None = serve.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = None
            took = time.monotonic() - signalled
            time.sleep(max(0.0, slow_post + 0.5 - took))  # any call the process abandoned still lands in Slack
            calls = len(slack.calls_to("chat.postMessage"))
            stored = len(slack.channel(CHANNEL))
            items = outbox_items(url, "post_parent")
            done_then = sum(1 for i in items if i.state == "done")
            leased = sum(1 for i in items if i.state != "done" and i.lease_until is not None)
            slack.slow("chat.postMessage", 0.0)
            again = Serve(workdir, slack, url, "sigterm-2")
            again.healthy()
            wait_for(
                lambda: sum(1 for i in outbox_items(url, "post_parent") if i.state == "done") >= count,
                timeout=30 + 1.5 * count,
                step=0.5,
            )
            time.sleep(1.0)
        finally:
            serve.kill()
            restart_code = again.stop() if again is not None else None
        items = outbox_items(url, "post_parent")
        copies = outbox_ids(slack)
    once = sorted(copies) == sorted(i.id for i in items) and set(copies.values()) == {1}
    finished = stored == calls == done_then
    return [
        Row(
            f"SIGTERM with {count} items pending (Slack {slow_post:.0f} s a post)",
            f"exit {code} after {took:.1f} s; in flight: {calls} call(s) made ({in_flight_before} before the signal), "
            f"{stored} stored in Slack, {done_then} recorded done, {leased} left leased",
            "exit 0 within 10 s, in-flight calls finished and recorded",
            code == 0 and took <= 10 and finished and leased == 0,
        ),
        Row(
            "SIGTERM: after a restart",
            f"{sum(1 for i in items if i.state == 'done')}/{count} delivered, "
            f"{'each exactly once' if once else 'NOT exactly once'}; the restarted serve exited {restart_code}",
            "every item delivered exactly once",
            once and len(items) == count,
        ),
    ]


# -- running ---------------------------------------------------------------------------------------------------------
def run_lane(
    workdir: Path,
    database_url: str | None,
    *,
    only: tuple[str, ...] = ROWS,
    outage_seconds: float = 60.0,
    api_delay: float = 0.1,
    progress: Callable[[str], None] = lambda line: print(line, flush=True),
) -> list[Row]:
    """Every Slack-lane row asked for, in order (each against its own empty database); logs stay in `workdir`."""
    rows: list[Row] = []
    for name in ROWS:
        if name not in only:
            continue
        progress(f"  lane: {name} …")
        started = time.monotonic()
        if name == "claims":
            rows += row_claims(workdir, database_url)
        elif name == "storm":
            rows += row_storm(workdir, database_url, api_delay)
        elif name == "outage":
            rows += row_outage(workdir, database_url, api_delay, outage_seconds)
        elif name == "kill":
            rows += row_kill(workdir, database_url)
        elif name == "replicas":
            rows += row_replicas(workdir, database_url, api_delay)
        elif name == "sigterm":
            rows += row_sigterm(workdir, database_url)
        progress(f"  lane: {name} took {time.monotonic() - started:.0f} s")
    return rows


def print_rows(rows: list[Row]) -> None:
    print("\n| measure | result | target |\n|---|---|---|")
    for row in rows:
        verdict = "" if row.met is None else " (met)" if row.met else " (**missed**)"
        print(f"| {row.measure} | {row.result} | {row.target}{verdict} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(ROWS), help="a comma-separated subset of " + ",".join(ROWS))
    ap.add_argument("--outage-seconds", type=float, default=60.0, help="how long Slack is down (issue: 60 s)")
    ap.add_argument("--api-delay", type=float, default=0.1, help="seconds every Slack call takes (storm, outage, …)")
    ap.add_argument("--keep", type=Path, help="keep the databases and serve logs here")
    args = ap.parse_args()
    only = tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = set(only) - set(ROWS)
    if unknown:
        ap.error(f"unknown rows: {', '.join(sorted(unknown))}")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="lane-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("DATABASE_URL")
    print(f"Slack lane on {'PostgreSQL' if url and url.startswith('postgres') else 'SQLite'}; logs in {workdir}")
    started = time.monotonic()
    try:
        rows = run_lane(workdir, url, only=only, outage_seconds=args.outage_seconds, api_delay=args.api_delay)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}; {time.monotonic() - started:.0f} s in all"
    )
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
