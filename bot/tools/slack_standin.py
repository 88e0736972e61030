"""A local stand-in for the Slack Web API (and a reply endpoint), served over real HTTP on 127.0.0.1.

The demo runs the bot against it, and the tests use it as their fake Slack: it answers the methods
the bot calls the way Slack does, records every call, keeps channel history (with threads and message
metadata), knows who is in which channel and user group, and can be told to fail: a 429 with
Retry-After, a 5xx, an error code, or a slow answer. It also stands in for the two URLs Slack hands
out: a file's `upload_url` (files_upload_v2 POSTs the bytes there; recorded as the call "upload_url")
and the `response_url` of a slash command or of a click on a message's button (which can replace that message).

For measuring the Slack lane under load (benchmarks/lane_bench.py) it can also: keep Slack's per-channel
posting limit (`limit_posts`: chat.postMessage answers 429 `ratelimited` with Retry-After when a channel is
posted to faster than the limit, and the refusals are counted per channel), slow every method at once
(`slow("*", seconds)`), and be down for a while (`outage`: every method answers 5xx until it is over).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse


def signed_headers(
    body: str, *, secret: str, timestamp: int | None = None, content_type: str = "application/x-www-form-urlencoded"
) -> dict[str, str]:
    """Headers exactly as Slack signs a request: v0, HMAC-SHA256 over `v0:<timestamp>:<raw body>`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"content-type": content_type, "x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = 0.0  # time.monotonic() when the call arrived, for measuring (the benchmark's clock)


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class Message:
    ts: str
    channel: str
    text: str
    user: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    edits: int = 0
    files: list[dict[str, Any]] | None = None
    posted_at: float = 0.0  # time.monotonic() when Slack took it, for measuring (the benchmark's clock)

    def as_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "user": self.user}
        if self.blocks:
            data["blocks"] = self.blocks
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.metadata:
            data["metadata"] = self.metadata
        if self.files:
            data["files"] = self.files
        return data


@dataclass
class Upload:
    """A file on its way through files.getUploadURLExternal → POST to upload_url → files.completeUploadExternal."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    title: str | None = None
    shared_to: str | None = None


@dataclass
class ReplyPost:
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class SlackState:
    token: str = "xoxb-standin-token"
    bot_user: str = "UCAREBOT"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=lambda: defaultdict(list))
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    delays: dict[str, float] = field(default_factory=dict)
    replies: list[ReplyPost] = field(default_factory=list)
    reply_statuses: list[int] = field(default_factory=list)
    dms: dict[str, str] = field(default_factory=dict)  # user ID -> their DM channel with the bot
    home: dict[str, dict[str, Any]] = field(default_factory=dict)  # user ID -> the Home tab last published
    uploads: dict[str, Upload] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)  # what was POSTed to response_urls
    # channel ID -> its members (conversations.members); a channel not listed has every user added
    members: dict[str, list[str]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # S… -> its users (usergroups.users.list)
    app_token: str | None = None  # Socket Mode: the xapp- token apps.connections.open accepts
    socket_url: str | None = None  # ... and the websocket URL it hands out
    # Slack's per-channel posting limit, off unless set (see SlackStandIn.limit_posts): chat.postMessage to a
    # channel may be made once per this many seconds, with bursts of up to `post_limit_burst` posts.
    post_limit_per_channel: float | None = None
    post_limit_burst: int = 1
    rate_limited: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # channel -> 429s of that limit
    posted_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # channel -> accepted posts
    refused_at: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # channel -> its 429s
    down_until: float | None = None  # an outage: every method answers `down_status` until this time.monotonic()
    down_status: int = 503
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # channel -> (posts allowed, as of)
    _ts: int = 0


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-call (an app killed with SIGKILL while Slack was slow) is not an error of
        the stand-in's: the message it was posting is kept, as Slack keeps it, and nothing is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SlackStandIn:
    """Start with `with SlackStandIn() as slack:`; point the bot at `slack.api_url`."""

    def __init__(self, *, token: str = "xoxb-standin-token") -> None:
        self.state = SlackState(token=token)
        self._lock = threading.RLock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-standin", daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> SlackStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    @property
    def reply_url(self) -> str:
        return self.base_url + "/reply-endpoint"

    def response_url(self, name: str = "1") -> str:
        """A slash command's response_url (Slack's hooks.slack.com/commands/…); POSTs are kept in order."""
        return f"{self.base_url}/commands/T0STANDIN/{name}"

    def action_response_url(self, channel: str, ts: str, name: str = "1") -> str:
        """The response_url of a click on a button in message `ts` (Slack's hooks.slack.com/actions/…): a POST
        with `replace_original` replaces that message's text and blocks, as Slack does; every POST is kept."""
        return f"{self.base_url}/actions/{channel}/{ts}/{name}"

    # -- test controls ---------------------------------------------------------------------------
    def add_user(self, user_id: str, real_name: str, first_name: str | None = None) -> None:
        with self._lock:
            self.state.users[user_id] = {
                "id": user_id,
                "name": real_name.lower().replace(" ", "."),
                "real_name": real_name,
                "profile": {
                    "real_name": real_name,
                    "first_name": first_name or real_name.split()[0],
                    "display_name": real_name.split()[0],
                },
            }

    def set_members(self, channel: str, users: list[str]) -> None:
        """Who is in `channel` from now on (by default every user added with `add_user`)."""
        with self._lock:
            self.state.members[channel] = list(users)

    def set_usergroup(self, group: str, users: list[str]) -> None:
        with self._lock:
            self.state.usergroups[group] = list(users)

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail this way (status 429/5xx, or ok:false with `error`)."""
        with self._lock:
            self.state.faults[method].extend(Fault(status, error, retry_after) for _ in range(times))

    def slow(self, method: str, seconds: float) -> None:
        """Every call of `method` takes `seconds` before it is answered; `"*"` slows every method (an entry for
        a method itself wins)."""
        with self._lock:
            self.state.delays[method] = seconds

    def limit_posts(self, seconds: float | None, *, burst: int = 1) -> None:
        """Slack's per-channel limit on chat.postMessage ("1 message per second per channel, short bursts
        tolerated"), as a token bucket per channel: `burst` posts at once, then one per `seconds`. A post over
        it is answered HTTP 429 `{"ok": false, "error": "ratelimited"}` with an integer `Retry-After` (the
        seconds until the next post would be taken, at least 1), is not stored, and is counted in
        `rate_limited_posts`. Top-level posts and thread replies count alike; chat.update is not limited.
        A post takes its place in the bucket when it arrives (before any `slow` delay). `None` switches it off.

        With `burst=1` this is stricter than Slack, which tolerates short bursts: a 429 here is one a real
        workspace might have let through, never the other way round."""
        with self._lock:
            self.state.post_limit_per_channel = seconds
            self.state.post_limit_burst = max(1, burst)
            self.state._buckets.clear()

    def rate_limited_posts(self, channel: str | None = None) -> int:
        """How many chat.postMessage calls the per-channel limit refused (in `channel`, or in all)."""
        with self._lock:
            if channel is not None:
                return self.state.rate_limited.get(channel, 0)
            return sum(self.state.rate_limited.values())

    def post_times(self, channel: str) -> list[float]:
        """When (time.monotonic(), on arrival) each chat.postMessage that Slack took in `channel` was made."""
        with self._lock:
            return list(self.state.posted_at.get(channel, []))

    def refused_times(self, channel: str) -> list[float]:
        """When (time.monotonic(), on arrival) each chat.postMessage the per-channel limit refused was made."""
        with self._lock:
            return list(self.state.refused_at.get(channel, []))

    def outage(self, seconds: float, *, status: int = 503) -> None:
        """Slack is down for `seconds` from now: every API method answers HTTP `status` until then."""
        with self._lock:
            self.state.down_until = time.monotonic() + seconds
            self.state.down_status = status

    def recover(self) -> None:
        """End an outage now."""
        with self._lock:
            self.state.down_until = None

    def seed_message(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """A message already in the channel, as if posted earlier by the bot (no call recorded, nothing counted)."""
        with self._lock:
            message = Message(self._next_ts(), channel, text, self.state.bot_user, blocks, None, metadata)
            self.state.messages[channel].append(message)
            return message

    def history(self, channel: str) -> list[Message]:
        """Every message of a channel, thread replies included, in the order they were posted."""
        with self._lock:
            return list(self.state.messages[channel])

    def fail_replies(self, *statuses: int) -> None:
        """The reply endpoint answers these statuses, in order, before going back to 200."""
        with self._lock:
            self.state.reply_statuses.extend(statuses)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.state.calls if c.method == method]

    def channel(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            return [m for m in self.state.messages[channel] if m.thread_ts is None]

    def thread(self, channel: str, ts: str) -> list[Message]:
        with self._lock:
            return [m for m in self.state.messages[channel] if m.thread_ts == ts]

    def direct_messages(self, user: str) -> list[Message]:
        """What the bot sent `user` by direct message (through conversations.open), oldest first."""
        with self._lock:
            channel = self.state.dms.get(user)
            return list(self.state.messages[channel]) if channel else []

    @property
    def replies(self) -> list[ReplyPost]:
        with self._lock:
            return list(self.state.replies)

    def dm(self, user: str) -> list[Message]:
        """Everything the bot posted in its direct message with `user` (top level and threads), oldest first."""
        with self._lock:
            channel = self.state.dms.get(user)
            return list(self.state.messages[channel]) if channel else []

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            return self.state.home.get(user)

    @property
    def responses(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.state.responses)

    @property
    def uploads(self) -> list[Upload]:
        with self._lock:
            return list(self.state.uploads.values())

    # -- the API ---------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        self.state._ts += 1
        return f"{1795000000 + self.state._ts}.{self.state._ts:06d}"

    def _find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.state.messages[channel] if m.ts == ts), None)

    def handle(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            arrived = time.monotonic()
            self.state.calls.append(Call(method, params, token, arrived))
            delay = self.state.delays.get(method, self.state.delays.get("*", 0.0))
            down = self.state.down_until is not None and arrived < self.state.down_until
            fault = self.state.faults[method].pop(0) if self.state.faults.get(method) and not down else None
            wait = None
            if not down and fault is None and method == "chat.postMessage" and token == self.state.token:
                wait = self._take_post(str(params.get("channel") or ""), arrived)
        if delay:
            time.sleep(delay)
        if down:
            return self.state.down_status, {"ok": False, "error": "internal_error"}, {}
        if wait is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
        if fault is not None:
            if fault.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f"{fault.retry_after or 1:g}"}
            if fault.status >= 500:
                return fault.status, {"ok": False, "error": "internal_error"}, {}
            return 200, {"ok": False, "error": fault.error or "unknown_error"}, {}
        if method == "apps.connections.open":  # Socket Mode: the app-level token, not the bot token
            if self.state.app_token and token == self.state.app_token and self.state.socket_url:
                return 200, {"ok": True, "url": self.state.socket_url}, {}
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method != "api.test" and token != self.state.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        with self._lock:
            answer = self._answer(method, params)
            if method == "chat.postMessage" and answer.get("ok"):
                self.state.posted_at[str(answer["channel"])].append(arrived)
            return 200, answer, {}

    def _take_post(self, channel: str, now: float) -> int | None:
        """The per-channel limit (limit_posts): None when a post may go now (and it takes its place), else the
        whole seconds to wait, as Slack's Retry-After says it, after counting the refusal."""
        interval, burst = self.state.post_limit_per_channel, self.state.post_limit_burst
        if not interval or not channel:
            return None
        tokens, since = self.state._buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - since) / interval)
        if tokens >= 1.0:
            self.state._buckets[channel] = (tokens - 1.0, now)
            return None
        self.state._buckets[channel] = (tokens, now)
        self.state.rate_limited[channel] += 1
        self.state.refused_at[channel].append(now)
        return max(1, math.ceil((1.0 - tokens) * interval))

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        s = self.state
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://standin.slack.com/",
                "team": "Stand-in",
                "user": "care-bot",
                "team_id": "T0STANDIN",
                "user_id": s.bot_user,
                "bot_id": "B0STANDIN",
            }
        if method == "chat.postMessage":
            channel = p.get("channel")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            if not p.get("text") and not p.get("blocks"):
                return {"ok": False, "error": "no_text"}
            refused = _refusal(p)
            if refused:
                return {"ok": False, "error": refused}
            thread_ts = p.get("thread_ts") or None
            if thread_ts and self._find(channel, thread_ts) is None:
                return {"ok": False, "error": "thread_not_found"}
            message = Message(
                self._next_ts(),
                channel,
                p.get("text", ""),
                s.bot_user,
                _json(p.get("blocks")),
                thread_ts,
                _json(p.get("metadata")),
                posted_at=time.monotonic(),
            )
            s.messages[channel].append(message)
            return {"ok": True, "channel": channel, "ts": message.ts, "message": message.as_api()}
        if method == "chat.update":
            updated = self._find(p.get("channel", ""), p.get("ts", ""))
            if updated is None:
                return {"ok": False, "error": "message_not_found"}
            refused = _refusal(p)
            if refused:
                return {"ok": False, "error": refused}
            updated.text = p.get("text", updated.text)
            if "blocks" in p:  # blocks=[] clears them, as Slack does
                updated.blocks = _json(p.get("blocks")) or None
            updated.edits += 1
            return {"ok": True, "channel": updated.channel, "ts": updated.ts, "text": updated.text}
        if method == "chat.postEphemeral":
            s.ephemeral.append(dict(p))
            return {"ok": True, "message_ts": self._next_ts()}
        if method in ("views.open", "views.push", "views.update"):
            view = _json(p.get("view")) or {}
            view_id = f"V{len(s.views) + 1:06d}"
            s.views.append({"method": method, "trigger_id": p.get("trigger_id"), "view": view, "id": view_id})
            return {"ok": True, "view": {"id": view_id, "hash": f"1795000000.{view_id}", **view}}
        if method == "users.info":
            user = s.users.get(p.get("user", ""))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method in ("conversations.history", "conversations.replies"):
            channel = p.get("channel", "")
            if method == "conversations.history":
                found = [m for m in s.messages[channel] if m.thread_ts is None]
            else:
                found = [m for m in s.messages[channel] if m.ts == p.get("ts") or m.thread_ts == p.get("ts")]
            ordered = list(reversed(found)) if method == "conversations.history" else found
            return {"ok": True, "messages": [m.as_api() for m in ordered], "has_more": False}
        if method == "conversations.members":
            return self._members(p)
        if method == "usergroups.users.list":
            group = str(p.get("usergroup") or "")
            if group not in s.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(s.usergroups[group])}
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "permalink": f"https://standin.slack.com/archives/{p.get('channel')}/"
                f"p{str(p.get('message_ts', '')).replace('.', '')}",
            }
        if method == "conversations.open":
            users = [u for u in str(p.get("users") or "").split(",") if u]
            if not users:
                return {"ok": False, "error": "users_list_not_supplied"}
            if len(users) > 1:  # a group DM: not used by the bot
                return {"ok": True, "channel": {"id": "G" + "".join(u[1:4] for u in users)[:10]}}
            known = users[0] in s.dms
            channel = s.dms.setdefault(users[0], "D" + re.sub(r"[^A-Z0-9]", "", users[0].upper())[:10])
            answer: dict[str, Any] = {"ok": True, "channel": {"id": channel}}
            if known:
                answer.update(no_op=True, already_open=True)
            return answer
        if method == "views.publish":
            view = _json(p.get("view"))
            if not p.get("user_id") or not isinstance(view, dict) or view.get("type") != "home":
                return {"ok": False, "error": "invalid_arguments"}
            s.views.append({"method": method, "user_id": p["user_id"], "view": view})
            s.home[p["user_id"]] = view
            return {"ok": True, "view": {"id": f"V{len(s.views):06d}", "team_id": "T0STANDIN", **view}}
        if method == "files.getUploadURLExternal":
            try:
                length = int(p.get("length") or 0)
            except (TypeError, ValueError):
                length = 0
            if not p.get("filename") or length <= 0:
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{len(s.uploads) + 1:08d}"
            s.uploads[file_id] = Upload(file_id, str(p["filename"]), length, p.get("alt_txt"))
            return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            wanted = _json(p.get("files"))
            if not isinstance(wanted, list) or not wanted:
                return {"ok": False, "error": "invalid_arguments"}
            announced = [s.uploads.get(str(f.get("id"))) for f in wanted]
            if any(u is None or u.data is None for u in announced):
                return {"ok": False, "error": "file_not_found"}
            files = []
            for upload, asked in zip(announced, wanted, strict=False):
                assert upload is not None
                upload.title = asked.get("title") or upload.filename
                upload.shared_to = p.get("channel_id")
                files.append(
                    {
                        "id": upload.id,
                        "name": upload.filename,
                        "title": upload.title,
                        "mimetype": "image/png" if upload.filename.endswith(".png") else "application/octet-stream",
                        "size": upload.length,
                    }
                )
            if p.get("channel_id"):
                channel = p["channel_id"]
                s.messages[channel].append(
                    Message(
                        self._next_ts(),
                        channel,
                        p.get("initial_comment", ""),
                        s.bot_user,
                        thread_ts=p.get("thread_ts") or None,
                        files=files,
                    )
                )
            return {"ok": True, "files": files}
        return {"ok": True}

    def _members(self, p: dict[str, Any]) -> dict[str, Any]:
        """conversations.members as Slack pages it: `limit` (default 100) a page, an opaque `next_cursor`."""
        channel = str(p.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        members = self.state.members.get(channel, list(self.state.users))
        try:
            limit = max(1, min(int(p.get("limit") or 100), 1000))
            start = int(base64.b64decode(str(p["cursor"])).decode().removeprefix("offset:")) if p.get("cursor") else 0
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_cursor"}
        end = start + limit
        cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(members) else ""
        return {"ok": True, "members": members[start:end], "response_metadata": {"next_cursor": cursor}}

    def upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        """The upload_url: takes the raw bytes announced by files.getUploadURLExternal."""
        with self._lock:
            self.state.calls.append(Call("upload_url", {"file_id": file_id, "length": len(body)}, None))
            upload = self.state.uploads.get(file_id)
            if upload is None:
                return 404, "file not found"
            if len(body) != upload.length:
                return 400, f"length mismatch: announced {upload.length}, received {len(body)}"
            upload.data = body
            return 200, f"OK - {len(body)}"

    def respond(self, path: str, body: bytes) -> int:
        """A POST to a response_url, kept with the path it was sent to."""
        with self._lock:
            delay = self.state.delays.get("response_url", self.state.delays.get("*", 0.0))  # Slack is slow all over
        if delay:
            time.sleep(delay)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 400
        with self._lock:
            self.state.responses.append({"url": path, **payload})
            if path.startswith("/actions/") and payload.get("replace_original"):
                _, _, channel, ts, _ = path.split("/", 4)
                original = self._find(channel, ts)
                if original is None:
                    return 404
                if not payload.get("text") and not payload.get("blocks"):
                    return 400
                original.text = payload.get("text", "")
                original.blocks = _json(payload.get("blocks"))
                original.edits += 1
        return 200

    def reply_endpoint(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            status = self.state.reply_statuses.pop(0) if self.state.reply_statuses else 200
            if 200 <= status < 300:
                self.state.replies.append(ReplyPost(body, headers))
            return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _body(self) -> bytes:
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, params: dict[str, Any]) -> None:
                path = urlparse(self.path).path
                if not path.startswith("/api/"):
                    self._send(404, {"ok": False, "error": "unknown_path"})
                    return
                auth = self.headers.get("authorization", "")
                token = auth[7:] if auth.lower().startswith("bearer ") else params.pop("token", None)
                status, payload, headers = standin.handle(path[len("/api/") :], params, token)
                self._send(status, payload, headers)

            def do_GET(self) -> None:  # noqa: N802
                self._dispatch(dict(parse_qsl(urlparse(self.path).query)))

            def _send_text(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("content-type", "text/plain; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = self._body()
                path = urlparse(self.path).path
                if path.startswith("/upload/v1/"):
                    self._send_text(*standin.upload(path.rsplit("/", 1)[-1], body))
                    return
                if path.startswith(("/commands/", "/actions/")):
                    status = standin.respond(path, body)
                    self._send_text(status, "ok" if status == 200 else "invalid_payload")
                    return
                if urlparse(self.path).path == "/reply-endpoint":
                    status = standin.reply_endpoint(body, {k.lower(): v for k, v in self.headers.items()})
                    self._send(status, {"ok": 200 <= status < 300, "id": f"r{len(standin.state.replies)}"})
                    return
                ctype = self.headers.get("content-type", "")
                params = json.loads(body or b"{}") if "json" in ctype else dict(parse_qsl(body.decode()))
                params.update(dict(parse_qsl(urlparse(self.path).query)))
                self._dispatch(params)

        return Handler


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _refusal(p: dict[str, Any]) -> str | None:
    """What Slack answers for a message past its documented limits (chat.postMessage and chat.update), or None.

    Only the limits a message of ours could plausibly break: the top-level text (40,000), 50 blocks, a section's
    text (3,000), a header (150), a button's text (75) and value (2,000), a context element's text (3,000).
    """
    if _units(str(p.get("text") or "")) > 40_000:
        return "msg_too_long"
    blocks = _json(p.get("blocks")) or []
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict):
            return "invalid_blocks"
        kind, text = block.get("type"), (block.get("text") or {}).get("text", "")
        if (kind == "section" and _units(text) > 3000) or (kind == "header" and _units(text) > 150):
            return "invalid_blocks"
        for element in block.get("elements") or []:
            label = (element.get("text") or {}).get("text", "") if isinstance(element.get("text"), dict) else ""
            if element.get("type") == "button" and (_units(label) > 75 or _units(element.get("value", "")) > 2000):
                return "invalid_blocks"
            if kind == "context" and _units(str(element.get("text", ""))) > 3000:
                return "invalid_blocks"
    return None


def _json(value: Any) -> Any:
    """slack_sdk sends structured arguments as JSON strings in form bodies, and as objects in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
