"""A fake Reddit over real HTTP: the OAuth token endpoint and the API calls the connector makes,
answering in Reddit's documented shapes (tests/fixtures/reddit/), with X-Ratelimit-* headers.

Posts and comments are Things built from the recorded listing fixtures. The brand's own comments
(`/api/comment`) land in the comments listing, as on Reddit, so a test sees that they are never ingested.

The brand account's inbox (`/message/inbox`, newest first) holds private messages (t4, built from
tests/fixtures/reddit/inbox.json: `send_message`) and comment replies (t1, `reply_in_inbox`); the brand's own
messages in a conversation are there too, as on Reddit. `POST /api/read_message` marks them read (`new: false`).
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import threading
import time
from typing import Any

from tests.fakes import platform_fixture
from tests.fakes.platform_standin import PlatformStandIn, Recorded, Reply


def fixture(name: str) -> Any:
    return platform_fixture("reddit", name)


def to36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


class FakeReddit:
    def __init__(
        self,
        standin: PlatformStandIn,
        *,
        client_id: str = "care-app-id",
        client_secret: str = "care-app-secret",
        username: str = "AcmeCare",
        password: str = "hunter2",
        token_lifetime: int = 86400,
    ) -> None:
        self.standin = standin
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password = username, password
        self.token_lifetime = token_lifetime
        self.tokens: set[str] = set()
        self.things: dict[str, dict[str, Any]] = {}  # fullname -> {"kind", "data"}
        self.hidden: set[str] = set()  # in the store but not (yet) in the listings, as Reddit's caches do
        self.locked: set[str] = set()
        self.messages: list[dict[str, str]] = []
        self.lose_answers = 0  # take the next N comments/messages, then answer 504 (a lost answer)
        self.rate_remaining, self.rate_used, self.rate_reset = 996.0, 4, 420
        self.now = time.time() - 3600  # created_utc of the next Thing; moves one second per Thing
        self._ids = {"t3": int("1abcde", 36), "t1": int("kq1x2y3", 36), "t4": int("2j8k4m1", 36)}
        self.inbox: dict[str, dict[str, Any]] = {}  # fullname -> {"kind", "data"}
        self._lock = threading.Lock()
        standin.route("POST", "/api/v1/access_token", self._token)
        standin.route("GET", "/api/v1/me", self._api(lambda r, m: Reply(200, fixture("me") | {"name": self.username})))
        standin.route("GET", r"/r/(?P<subs>[^/]+)/(?P<listing>new|comments)", self._api(self._listing))
        standin.route("GET", "/api/info", self._api(self._info))
        standin.route("POST", "/api/comment", self._api(self._comment))
        standin.route("POST", "/api/compose", self._api(self._compose))
        standin.route("GET", r"/user/(?P<user>[^/]+)/comments", self._api(self._own_comments))
        standin.route("GET", "/message/sent", self._api(self._sent_messages))
        standin.route("GET", "/message/inbox", self._api(self._inbox))
        standin.route("POST", "/api/read_message", self._api(self._read_message))

    @property
    def url(self) -> str:
        return self.standin.url

    # -- content -----------------------------------------------------------------------------------
    def _new_thing(self, kind: str, template: str, created: float | None, fields: dict[str, Any]) -> str:
        with self._lock:
            self._ids[kind] += 1
            thing_id = to36(self._ids[kind])
            self.now += 1
            stamp = self.now if created is None else created
        thing = copy.deepcopy(fixture(template)["data"]["children"][0])
        data = thing["data"]
        data.update(id=thing_id, name=f"{kind}_{thing_id}", created=stamp, created_utc=stamp, edited=False)
        data.update(fields)
        self.things[data["name"]] = thing
        return str(data["name"])

    def add_post(
        self,
        *,
        author: str = "some_user",
        title: str = "Acme app keeps crashing",
        selftext: str = "",
        subreddit: str = "acme",
        created: float | None = None,
    ) -> str:
        slug = re.sub(r"\W+", "_", title.lower()).strip("_")[:40]
        name = self._new_thing(
            "t3",
            "listing_new",
            created,
            {
                "author": author,
                "author_fullname": f"t2_{author.lower()}",
                "title": title,
                "selftext": selftext,
                "subreddit": subreddit,
                "subreddit_name_prefixed": f"r/{subreddit}",
            },
        )
        data = self.things[name]["data"]
        data["permalink"] = f"/r/{subreddit}/comments/{data['id']}/{slug}/"
        data["url"] = "https://www.reddit.com" + data["permalink"]
        return name

    def add_comment(
        self,
        *,
        author: str = "jane_doe",
        body: str,
        on: str | None = None,
        subreddit: str = "acme",
        created: float | None = None,
    ) -> str:
        link = on if on and on.startswith("t3_") else (self.things[on]["data"]["link_id"] if on else "t3_1abcde")
        name = self._new_thing(
            "t1",
            "listing_comments",
            created,
            {
                "author": author,
                "author_fullname": f"t2_{author.lower()}",
                "body": body,
                "subreddit": subreddit,
                "subreddit_name_prefixed": f"r/{subreddit}",
                "link_id": link,
                "parent_id": on or link,
            },
        )
        data = self.things[name]["data"]
        data["permalink"] = f"/r/{subreddit}/comments/{link[3:]}/thread/{data['id']}/"
        return name

    def send_message(
        self,
        *,
        author: str = "jane_doe",
        body: str,
        subject: str = "My refund",
        reply_to: str | None = None,
        created: float | None = None,
        unread: bool = True,
    ) -> str:
        """A private message to the brand account (or, `reply_to`, a reply in that conversation) in its inbox."""
        with self._lock:
            self._ids["t4"] += 1
            message_id = to36(self._ids["t4"])
            self.now += 1
            stamp = self.now if created is None else created
        message = copy.deepcopy(fixture("inbox")["data"]["children"][0])
        first = self.inbox[reply_to]["data"].get("first_message_name") or reply_to if reply_to else None
        message["data"].update(
            id=message_id,
            name=f"t4_{message_id}",
            author=author,
            author_fullname=f"t2_{author.lower()}",
            subject=f"re: {subject}" if reply_to else subject,
            body=body,
            dest=self.username,
            new=unread,
            created=stamp,
            created_utc=stamp,
            first_message=int(first[3:], 36) if first else None,
            first_message_name=first,
            parent_id=reply_to,
        )
        self.inbox[message["data"]["name"]] = message
        return str(message["data"]["name"])

    def reply_in_inbox(self, *, author: str = "jane_doe", body: str) -> str:
        """A reply to one of the brand's comments, as the inbox lists it (t1, `was_comment`): not a private message."""
        reply = copy.deepcopy(fixture("inbox")["data"]["children"][1])
        with self._lock:
            self._ids["t1"] += 1
            self.now += 1
            reply["data"].update(id=to36(self._ids["t1"]), name=f"t1_{to36(self._ids['t1'])}", author=author, body=body)
            reply["data"].update(created=self.now, created_utc=self.now)
        self.inbox[reply["data"]["name"]] = reply
        return str(reply["data"]["name"])

    def unread(self) -> list[str]:
        return sorted(name for name, m in self.inbox.items() if m["data"]["new"])

    def edit(self, fullname: str, text: str, *, at: float | None = None) -> None:
        data = self.things[fullname]["data"]
        data["body" if fullname.startswith("t1_") else "selftext"] = text
        data["edited"] = at if at is not None else data["created_utc"] + 120

    def delete(self, fullname: str) -> None:
        """The author deleted it: Reddit keeps the Thing with author and text `[deleted]`."""
        data = self.things[fullname]["data"]
        data["author"] = "[deleted]"
        data.pop("author_fullname", None)
        data["body" if fullname.startswith("t1_") else "selftext"] = "[deleted]"

    def remove(self, fullname: str) -> None:
        """A moderator removed it."""
        data = self.things[fullname]["data"]
        data["body" if fullname.startswith("t1_") else "selftext"] = "[removed]"
        if fullname.startswith("t3_"):
            data["removed_by_category"] = "moderator"

    def purge(self, fullname: str) -> None:
        """Gone from the listings entirely (what breaks a `before=<fullname>` cursor)."""
        self.hidden.add(fullname)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    # -- HTTP --------------------------------------------------------------------------------------
    def _rate_headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-used": str(self.rate_used),
            "x-ratelimit-remaining": f"{self.rate_remaining:.1f}",
            "x-ratelimit-reset": str(self.rate_reset),
        }

    def _api(self, handler: Any) -> Any:
        def serve(request: Recorded, match: re.Match[str]) -> Reply:
            auth = request.headers.get("authorization", "")
            if not auth.startswith("bearer ") or auth[7:] not in self.tokens:
                return Reply(
                    401, fixture("unauthorized"), {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}
                )
            with self._lock:
                if self.rate_remaining < 1:
                    return Reply(429, fixture("too_many_requests"), self._rate_headers())
                self.rate_used += 1
                self.rate_remaining -= 1
            reply: Reply = handler(request, match)
            reply.headers = {**self._rate_headers(), **reply.headers}
            return reply

        return serve

    def _token(self, request: Recorded, match: re.Match[str]) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Reply(401, fixture("unauthorized"))
        form = request.form
        if (
            form.get("grant_type") != "password"
            or form.get("username") != self.username
            or form.get("password") != self.password
        ):
            return Reply(200, fixture("access_token_invalid_grant"))  # sic: Reddit says so with HTTP 200
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return Reply(
            200,
            fixture("access_token")
            | {"access_token": token, "expires_in": self.token_lifetime, "scope": form.get("scope", "*")},
        )

    def _listing(self, request: Recorded, match: re.Match[str]) -> Reply:
        subs = {s.lower() for s in match["subs"].split("+")}
        kind = "t3" if match["listing"] == "new" else "t1"
        items = sorted(
            (
                t
                for name, t in self.things.items()
                if name.startswith(kind) and name not in self.hidden and t["data"]["subreddit"].lower() in subs
            ),
            key=lambda t: t["data"]["created_utc"],
            reverse=True,
        )
        names = [t["data"]["name"] for t in items]
        start = names.index(request.query["after"]) + 1 if request.query.get("after") in names else 0
        limit = int(request.query.get("limit", 25))
        page = items[start : start + limit]
        after = page[-1]["data"]["name"] if page and start + limit < len(items) else None
        return Reply(
            200,
            {
                "kind": "Listing",
                "data": {
                    "after": after,
                    "dist": len(page),
                    "modhash": None,
                    "geo_filter": "",
                    "children": copy.deepcopy(page),
                    "before": None,
                },
            },
        )

    def _info(self, request: Recorded, match: re.Match[str]) -> Reply:
        ids = [i for i in request.query.get("id", "").split(",") if i in self.things]
        return self._listing_of([copy.deepcopy(self.things[i]) for i in ids])

    def _comment(self, request: Recorded, match: re.Match[str]) -> Reply:
        form = request.form
        parent = form.get("thing_id", "")
        if parent in self.locked:
            return Reply(200, fixture("comment_thread_locked"))
        if parent not in self.things:
            return Reply(200, {"json": {"errors": [["DELETED_COMMENT", "that comment has been deleted", "parent"]]}})
        subreddit = self.things[parent]["data"]["subreddit"]
        name = self.add_comment(author=self.username, body=form.get("text", ""), on=parent, subreddit=subreddit)
        answer = fixture("comment_created")
        answer["json"]["data"]["things"][0]["data"] |= {
            k: self.things[name]["data"][k]
            for k in ("id", "name", "author", "body", "parent_id", "link_id", "permalink", "created_utc")
        }
        return self._maybe_lost(Reply(200, answer))

    def _maybe_lost(self, reply: Reply) -> Reply:
        with self._lock:
            if self.lose_answers:
                self.lose_answers -= 1
                return Reply(504, "<html><body><h1>504 Gateway Time-out</h1></body></html>")
        return reply

    def _compose(self, request: Recorded, match: re.Match[str]) -> Reply:
        form = request.form
        known = {t["data"]["author"].lower() for t in self.inbox.values()}
        if form.get("to", "").lower() not in {t["data"]["author"].lower() for t in self.things.values()} | known:
            return Reply(200, fixture("compose_user_doesnt_exist"))
        self.messages.append({k: form.get(k, "") for k in ("to", "subject", "text", "api_type")})
        return self._maybe_lost(Reply(200, fixture("compose_sent")))

    def _listing_of(self, children: list[dict[str, Any]]) -> Reply:
        return Reply(
            200,
            {
                "kind": "Listing",
                "data": {
                    "after": None,
                    "dist": len(children),
                    "modhash": None,
                    "geo_filter": "",
                    "children": children,
                    "before": None,
                },
            },
        )

    def _inbox(self, request: Recorded, match: re.Match[str]) -> Reply:
        items = sorted(self.inbox.values(), key=lambda m: m["data"]["created_utc"], reverse=True)
        names = [m["data"]["name"] for m in items]
        start = names.index(request.query["after"]) + 1 if request.query.get("after") in names else 0
        limit = int(request.query.get("limit", 25))
        page = items[start : start + limit]
        listing = self._listing_of(copy.deepcopy(page))
        if page and start + limit < len(items):
            listing.body["data"]["after"] = page[-1]["data"]["name"]
        return listing

    def _read_message(self, request: Recorded, match: re.Match[str]) -> Reply:
        for name in request.form.get("id", "").split(","):
            if name in self.inbox:
                self.inbox[name]["data"]["new"] = False
        return Reply(200, fixture("read_message"))

    def _own_comments(self, request: Recorded, match: re.Match[str]) -> Reply:
        mine = [
            copy.deepcopy(t)
            for t in self.things.values()
            if t["kind"] == "t1" and t["data"]["author"].lower() == match["user"].lower()
        ]
        mine.sort(key=lambda t: t["data"]["created_utc"], reverse=True)
        return self._listing_of(mine[: int(request.query.get("limit", 25))])

    def _sent_messages(self, request: Recorded, match: re.Match[str]) -> Reply:
        sent = [
            {
                "kind": "t4",
                "data": {
                    "name": f"t4_{to36(1000 + n)}",
                    "author": self.username,
                    "dest": m["to"],
                    "subject": m["subject"],
                    "body": m["text"],
                    "was_comment": False,
                },
            }
            for n, m in enumerate(self.messages)
        ]
        return self._listing_of(sent[::-1][: int(request.query.get("limit", 25))])

    # -- what the bot asked --------------------------------------------------------------------------
    def token_requests(self) -> list[Recorded]:
        return self.standin.requests_to("POST", "/api/v1/access_token")

    def inbox_requests(self) -> list[Recorded]:
        return self.standin.requests_to("GET", "/message/inbox")

    def read_requests(self) -> list[list[str]]:
        return [r.form["id"].split(",") for r in self.standin.requests_to("POST", "/api/read_message")]

    def listing_requests(self) -> list[Recorded]:
        return self.standin.requests_to("GET", r"/r/[^/]+/(new|comments)")

    def comments_posted(self) -> list[dict[str, str]]:
        return [r.form for r in self.standin.requests_to("POST", "/api/comment")]
