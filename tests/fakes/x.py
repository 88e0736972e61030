"""A fake X API v2 on the platform stand-in, answering as X documents it.

It holds users and posts, serves the brand's mentions timeline (newest first, `since_id`, `max_results`
5–100, `pagination_token`, only the 800 most recent mentions, only the latest version of an edited post,
only the fields asked for), accepts reply posts and direct messages with a user-context token only, and
puts X's rate-limit headers on every answer. Error bodies come from tests/fixtures/x/.

The brand's direct messages are DM events (`GET /2/dm_events`, user context only, newest first, `max_results`
1–100, `pagination_token`, `event_types`, the `dm_event.fields` asked for, `expansions=sender_id`): a customer's
message is added with `dm_from`, and every DM the bot sends is an event too, as on X. `forbid_dm_reads` answers
as X does to a token without the dm.read scope.

With `oauth_client` it also runs X's OAuth 2.0 token endpoint (`POST /2/oauth2/token`, refresh_token grant):
confidential clients authenticate with HTTP Basic, public ones send `client_id` in the form; every refresh
token works once and each refresh returns a new one; access tokens expire after `expires_in` seconds.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes import platform_fixture
from tests.fakes.platform_standin import PlatformStandIn, Recorded, Reply

# The accounts the connector tests' fake X knows: the brand, two customers, and the app's and the brand's tokens.
BRAND = "9400000001"
JANE, MO = "1234567890", "5550001111"
APP_TOKEN, USER_TOKEN = "app-bearer-token", "user-context-token"

X_EPOCH_MS = 1288834974657
MENTIONS_CAP = 800
_ID = re.compile(r"[0-9]{1,19}")


def fixture(name: str) -> Any:
    return platform_fixture("x", name)


def snowflake(at: datetime, sequence: int = 1) -> str:
    return str(((int(at.timestamp() * 1000) - X_EPOCH_MS) << 22) | sequence)


@dataclass
class Post:
    id: str
    author_id: str
    text: str
    created_at: datetime
    conversation_id: str
    history: list[str] = field(default_factory=list)
    mentions_brand: bool = True
    replaced: bool = False  # an edit superseded it: timelines show the newest version only

    def render(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "edit_history_tweet_ids": list(self.history)}
        optional = {
            "author_id": self.author_id,
            "conversation_id": self.conversation_id,
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        out.update({k: v for k, v in optional.items() if k in fields})
        return out


class FakeX:
    """X's API for one brand account. `app_token` reads only; `user_token` is the brand's user-context token."""

    def __init__(
        self,
        standin: PlatformStandIn,
        *,
        brand_id: str = "9400000001",
        brand_username: str = "AcmeAir",
        app_token: str = "app-bearer-token",
        user_token: str = "user-context-token",
    ) -> None:
        self.standin, self.brand_id, self.brand_username = standin, brand_id, brand_username
        self.app_token, self.user_token = app_token, user_token
        self.users: dict[str, dict[str, str]] = {}
        self.posts: dict[str, Post] = {}
        self.dms: list[dict[str, Any]] = []
        self.dm_events: list[dict[str, Any]] = []  # every DM event of the brand's conversations, oldest first
        self.dm_reads_forbidden = False
        self._now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
        self._lock = threading.Lock()
        self._lose_answers = 0
        # OAuth 2.0 (see oauth_client): valid refresh tokens, and access tokens with their expiry
        self.client_id: str | None = None
        self.client_secret: str | None = None
        self.token_lifetime = 7200
        self._token_now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._refresh_tokens: set[str] = set()
        self._access_tokens: dict[str, datetime] = {}
        self._issued = 0
        self._token_gate: threading.Event | None = None
        self.token_request_waiting = threading.Event()
        self.add_user(brand_id, brand_username, "Acme Air")
        standin.route("GET", r"/2/users/(?P<id>[0-9]+)/mentions", self._mentions)
        standin.route("GET", r"/2/users/me", self._me)
        standin.route("GET", r"/2/users/(?P<id>[0-9]+)", self._user)
        standin.route("POST", r"/2/tweets", self._create_post)
        standin.route("POST", r"/2/dm_conversations/with/(?P<id>[0-9]+)/messages", self._create_dm)
        standin.route("POST", r"/2/oauth2/token", self._token)
        standin.route("GET", r"/2/dm_events", self._dm_events)

    @property
    def url(self) -> str:
        return self.standin.url

    # -- scripting ---------------------------------------------------------------------------------
    def add_user(self, user_id: str, username: str, name: str) -> None:
        self.users[user_id] = {"id": user_id, "name": name, "username": username}

    def mention(self, author_id: str, text: str, *, minutes: float = 1.0) -> str:
        """A new post mentioning the brand, `minutes` after the previous one; returns its id."""
        with self._lock:
            self._now += timedelta(minutes=minutes)
            post_id = snowflake(self._now)
            self.posts[post_id] = Post(post_id, author_id, text, self._now, post_id, [post_id])
            return post_id

    def dm_from(self, sender_id: str, text: str, *, minutes: float = 1.0) -> str:
        """A customer's direct message to the brand, `minutes` after the previous event; returns its event id."""
        with self._lock:
            self._now += timedelta(minutes=minutes)
            return self._dm_event(sender_id, sender_id, text)

    def forbid_dm_reads(self) -> None:
        """The user-context token lacks the dm.read scope: X answers 403 to every DM read."""
        self.dm_reads_forbidden = True

    def _dm_event(self, sender_id: str, other: str, text: str) -> str:
        event_id = snowflake(self._now, 200 + len(self.dm_events))
        pair = "-".join(sorted([other, self.brand_id], key=int))
        self.dm_events.append(
            {
                "id": event_id,
                "event_type": "MessageCreate",
                "text": text,
                "sender_id": sender_id,
                "created_at": self._now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "dm_conversation_id": pair,
            }
        )
        return event_id

    def edit(self, post_id: str, text: str) -> str:
        """The author edits a post: a new id, the same chain; timelines now show only the new version."""
        with self._lock:
            old = self.posts[post_id]
            self._now += timedelta(minutes=1)
            new_id = snowflake(self._now)
            old.replaced = True
            self.posts[new_id] = Post(
                new_id, old.author_id, text, self._now, old.conversation_id, [*old.history, new_id]
            )
            return new_id

    def serve_mentions(self, body: dict[str, Any]) -> None:
        """Answer the next mentions request with `body` as is (e.g. a page from the fixtures)."""
        self.standin.fail("GET", r"/2/users/[0-9]+/mentions", Reply(200, body, self._limits()))

    def rate_limit(self, method: str, pattern: str, *, reset_in: float, times: int = 1) -> None:
        """X's 429: `x-rate-limit-reset` is the epoch second at which the window reopens."""
        headers = {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time() + reset_in)),
        }
        self.standin.fail(method, pattern, Reply(429, fixture("error_429"), headers), times=times)

    def oauth_client(
        self, client_id: str, client_secret: str | None = None, *, now: Callable[[], datetime] | None = None
    ) -> str:
        """The app's OAuth 2.0 client (confidential with a secret); returns the brand's first refresh token.

        `now` is the time access tokens expire by (a test passes its manual clock).
        """
        self.client_id, self.client_secret = client_id, client_secret
        if now is not None:
            self._token_now = now
        return self.authorize()

    def authorize(self) -> str:
        """The brand account runs the one-time authorization (again): a new refresh token for the operator."""
        with self._lock:
            self._issued += 1
            token = f"dGhlLXJlZnJlc2gtdG9rZW4t{self._issued}"
            self._refresh_tokens.add(token)
            return token

    def revoke_refresh_tokens(self) -> None:
        """The brand revoked the app (or the refresh token lapsed): every refresh token stops working."""
        with self._lock:
            self._refresh_tokens.clear()

    def revoke_access_tokens(self) -> None:
        """X stops taking the access tokens issued so far, before they expire (a revocation, a password change)."""
        with self._lock:
            self._access_tokens.clear()

    def hold_token_answers(self) -> threading.Event:
        """Token requests wait (after setting `token_request_waiting`) until the returned event is set."""
        self._token_gate = threading.Event()
        return self._token_gate

    def lose_next_answer(self) -> None:
        """The next post is created, but its answer never arrives (the client sees a 503)."""
        self._lose_answers += 1

    # -- what the bot did --------------------------------------------------------------------------
    def mention_requests(self) -> list[Recorded]:
        return self.standin.requests_to("GET", r"/2/users/[0-9]+/mentions")

    def post_requests(self) -> list[Recorded]:
        return self.standin.requests_to("POST", r"/2/tweets")

    def dm_requests(self) -> list[Recorded]:
        return self.standin.requests_to("POST", r"/2/dm_conversations/with/[0-9]+/messages")

    def dm_event_requests(self) -> list[Recorded]:
        return self.standin.requests_to("GET", r"/2/dm_events")

    def token_requests(self) -> list[Recorded]:
        return self.standin.requests_to("POST", r"/2/oauth2/token")

    def brand_posts(self) -> list[Post]:
        return [p for p in self.posts.values() if p.author_id == self.brand_id]

    # -- the API -----------------------------------------------------------------------------------
    def _limits(self, limit: int = 450, remaining: int = 449) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }

    def _auth(self, request: Recorded, *, user_context: bool) -> Reply | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            expires = self._access_tokens.get(token)
        issued = expires is not None and self._token_now() < expires
        if token not in (self.app_token, self.user_token) and not issued:
            return Reply(401, fixture("error_401"), self._limits())
        if user_context and token != self.user_token and not issued:
            return Reply(403, fixture("error_403_app_only"), self._limits())
        return None

    def _token(self, request: Recorded, match: re.Match[str]) -> Reply:
        """`POST /2/oauth2/token` with grant_type=refresh_token, as X documents it (form body, OAuth errors)."""
        form = request.form
        if self.client_secret is not None:  # confidential client: HTTP Basic with the client id and secret
            try:
                basic = base64.b64decode(request.headers.get("authorization", "").removeprefix("Basic ")).decode()
            except (binascii.Error, UnicodeDecodeError):
                basic = ""
            if basic != f"{self.client_id}:{self.client_secret}":
                return Reply(
                    401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
                )
        elif form.get("client_id") != self.client_id:
            return Reply(
                400, {"error": "invalid_request", "error_description": "Missing required parameter [client_id]."}
            )
        if form.get("grant_type") != "refresh_token":
            return Reply(
                400, {"error": "invalid_request", "error_description": "Missing required parameter [grant_type]."}
            )
        if self._token_gate is not None:
            self.token_request_waiting.set()
            self._token_gate.wait(10)
        with self._lock:
            if form.get("refresh_token") not in self._refresh_tokens:
                return Reply(
                    400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
                )
            self._refresh_tokens.discard(form["refresh_token"])
            self._issued += 1
            access, refresh = f"YWNjZXNzLXRva2Vu{self._issued}", f"dGhlLXJlZnJlc2gtdG9rZW4t{self._issued}"
            self._access_tokens[access] = self._token_now() + timedelta(seconds=self.token_lifetime)
            self._refresh_tokens.add(refresh)
        return Reply(
            200,
            {
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "access_token": access,
                "scope": "tweet.read tweet.write users.read dm.read dm.write offline.access",
                "refresh_token": refresh,
            },
        )

    def _mentions(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._auth(request, user_context=False)
        if refused:
            return refused
        q = request.query
        size = int(q.get("max_results", "10"))
        if not 5 <= size <= 100 or ("since_id" in q and not _ID.fullmatch(q["since_id"])):
            return Reply(
                400,
                {
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.x.com/2/problems/invalid-request",
                },
                self._limits(),
            )
        with self._lock:
            timeline = sorted(
                (
                    p
                    for p in self.posts.values()
                    if p.mentions_brand and not p.replaced and match["id"] == self.brand_id
                ),
                key=lambda p: int(p.id),
                reverse=True,
            )
        timeline = [p for p in timeline[:MENTIONS_CAP] if int(p.id) > int(q.get("since_id", "0"))]
        start = int(q["pagination_token"].removeprefix("7140dibdnow9c7btw4")) if "pagination_token" in q else 0
        page = timeline[start : start + size]
        if not page:
            return Reply(200, {"meta": {"result_count": 0}}, self._limits())
        fields = set(q.get("tweet.fields", "").split(","))
        body: dict[str, Any] = {
            "data": [p.render(fields) for p in page],
            "meta": {"newest_id": page[0].id, "oldest_id": page[-1].id, "result_count": len(page)},
        }
        if "author_id" in q.get("expansions", "").split(","):
            authors = dict.fromkeys(p.author_id for p in page)
            body["includes"] = {"users": [self.users[a] for a in authors if a in self.users]}
        if start + size < len(timeline):
            body["meta"]["next_token"] = f"7140dibdnow9c7btw4{start + size}"
        return Reply(200, body, self._limits())

    def _dm_events(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._auth(request, user_context=True)
        if refused:
            return refused
        if self.dm_reads_forbidden:
            return Reply(403, fixture("error_403_dm_forbidden"), self._limits(15, 14))
        q = request.query
        size = int(q.get("max_results", "100"))
        if not 1 <= size <= 100:
            return Reply(
                400,
                {
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.x.com/2/problems/invalid-request",
                },
                self._limits(15, 14),
            )
        types = set(q.get("event_types", "MessageCreate,ParticipantsJoin,ParticipantsLeave").split(","))
        with self._lock:
            events = [e for e in reversed(self.dm_events) if e["event_type"] in types]
        start = int(q["pagination_token"].removeprefix("dm9xs4")) if "pagination_token" in q else 0
        page = events[start : start + size]
        if not page:
            return Reply(200, {"meta": {"result_count": 0}}, self._limits(15, 14))
        fields = set(q.get("dm_event.fields", "").split(",")) | {"id", "event_type", "text"}
        body: dict[str, Any] = {
            "data": [{k: v for k, v in e.items() if k in fields} for e in page],
            "meta": {"result_count": len(page)},
        }
        if "sender_id" in q.get("expansions", "").split(","):
            senders = dict.fromkeys(e["sender_id"] for e in page)
            body["includes"] = {"users": [self.users[u] for u in senders if u in self.users]}
        if start + size < len(events):
            body["meta"]["next_token"] = f"dm9xs4{start + size}"
        return Reply(200, body, self._limits(15, 14))

    def _me(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._auth(request, user_context=True)
        return refused or Reply(200, {"data": self.users[self.brand_id]}, self._limits(75, 74))

    def _user(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._auth(request, user_context=False)
        if refused:
            return refused
        user = self.users.get(match["id"])
        if user is None:
            body = fixture("user_not_found")
            body["errors"][0].update(
                value=match["id"], resource_id=match["id"], detail=f"Could not find user with id: [{match['id']}]."
            )
            return Reply(200, body, self._limits())
        return Reply(200, {"data": user}, self._limits(300, 299))

    def _create_post(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._auth(request, user_context=True)
        if refused:
            return refused
        body = request.json
        text, target = body.get("text"), (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if not isinstance(text, str) or not text or (target is not None and target not in self.posts):
            problem = fixture("error_400_reply_target")
            problem["errors"][0]["message"] = problem["errors"][0]["message"].replace(
                "2124440000000000000", str(target)
            )
            return Reply(400, problem, self._limits())
        if any(p.text == text for p in self.brand_posts()):
            return Reply(403, fixture("error_403_duplicate"), self._limits(100, 99))
        parent = self.posts[target] if target else None
        with self._lock:
            self._now += timedelta(seconds=30)
            post_id = snowflake(self._now)
            self.posts[post_id] = Post(
                post_id,
                self.brand_id,
                text,
                self._now,
                parent.conversation_id if parent else post_id,
                [post_id],
                mentions_brand=f"@{self.brand_username}".lower() in text.lower(),
            )
        if self._lose_answers:
            self._lose_answers -= 1
            return Reply(
                503,
                {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank", "status": 503},
            )
        return Reply(
            201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}}, self._limits(100, 99)
        )

    def _create_dm(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._auth(request, user_context=True)
        if refused:
            return refused
        text = request.json.get("text")
        if not isinstance(text, str) or not text:
            return Reply(
                400,
                {
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.x.com/2/problems/invalid-request",
                },
                self._limits(),
            )
        with self._lock:
            self._now += timedelta(seconds=30)
            event_id = self._dm_event(self.brand_id, match["id"], text)
        pair = sorted([match["id"], self.brand_id], key=int)
        self.dms.append({"to": match["id"], "text": text, "dm_event_id": event_id})
        return Reply(
            201, {"data": {"dm_conversation_id": "-".join(pair), "dm_event_id": event_id}}, self._limits(15, 14)
        )
