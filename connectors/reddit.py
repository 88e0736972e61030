"""Reddit: a "script" app, logged in as the brand's account, polls subreddits for keyword matches and answers.

Why polling: Reddit has no webhooks. Every poll reads the `new` (posts) and `comments` listings of the
configured subreddits (one multireddit path, `/r/a+b/...`), newest first, page by page until it is past
the cursor; matches are found locally. The cursor is time-based, not a `before=<fullname>` cursor, which
breaks when that item is deleted: it re-reads a short overlap behind the newest item seen and remembers
which matches it already returned there, so an item Reddit lists a little late is still caught and none
is returned twice. The newest matches are re-checked with `/api/info` for edits and deletions.

Keyword rule: a keyword (or a phrase of several words) matches case-insensitively as whole words, in a
post's title and text or in a comment's body: `acme` matches "Acme's app" and "#acme", not "acmeville".

Private messages: every poll also reads the brand account's inbox (`/message/inbox`, newest first, with the same
time-based overlap cursor as the listings, so a message someone already opened on reddit.com is not missed, as it
would be by reading `/message/unread`). Each private message (`t4`, not a comment reply, not from the brand, a
subreddit or Reddit itself) becomes a private mention of its author, whatever it says. It is marked read on Reddit
once stored: the cursor lists the unread ones this poll returned (`mark`), and as that cursor is stored in the
same transaction as the mentions, the next poll starts by marking them read (`POST /api/read_message`). A failed
store leaves them unmarked (and unlisted: they come again, and ingest is idempotent); a failed mark is tried again
at the next poll. So a message is marked read one poll interval after it is stored, never before.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bot import __version__
from bot.config import PlatformSettings, RedditSettings
from bot.errors import AuthError, PermanentError, RateLimited, TransientError
from connectors.base import (
    DM_CONTEXT,
    FIRST_POLL_LIMIT,
    Author,
    Change,
    InboundMention,
    MentionDeleted,
    MentionEdited,
    Outbound,
    PlatformConnector,
    PollResult,
    SendResult,
)
from connectors.transport import call, json_body, retry_after_header

logger = logging.getLogger(__name__)

NAME = "reddit"
LABEL = "Reddit"
WEB_URL = "https://www.reddit.com"
# Least privilege: who we are, read listings, comment, message, and read back our own comments
# (history) to avoid posting a reply twice after a lost answer.
SCOPES = "identity read submit privatemessages history"
LISTINGS = ("new", "comments")  # posts, comments
PAGE_SIZE = 100  # Reddit's maximum
MAX_PAGES = 10  # Reddit's listings end after about 1,000 items anyway
OVERLAP = 600.0  # seconds re-read behind the newest item seen: listings can show an item a little late
WATCH_LIMIT = 100  # newest matches re-checked for edits/deletions: one /api/info call (100 ids at most)
TOKEN_MARGIN = 60.0  # renew the token this many seconds before Reddit says it expires
POLL_RESERVE = 5  # polling stops this many requests short of the window's end, leaving them for replies
GONE = frozenset({"[deleted]", "[removed]"})
_RATELIMIT_WAIT = re.compile(r"(\d+)\s*(second|minute)", re.IGNORECASE)
_FULLNAME = re.compile(r"t[13]_[0-9a-z]+")
_MESSAGE = re.compile(r"t4_[0-9a-z]+")
INBOX = "/message/inbox"
MARK_LIMIT = 100  # fullnames per /api/read_message call
MARK_KEEP = 1000  # unmarked messages a cursor remembers


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str]:
    """Case-insensitive whole-word match of any keyword; a phrase matches across any run of spaces."""
    parts = [r"\s+".join(re.escape(word) for word in keyword.split()) for keyword in keywords if keyword.split()]
    if not parts:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def default_user_agent(username: str) -> str:
    """Reddit's required form `<platform>:<app ID>:<version> (by /u/<username>)`; generic agents are throttled."""
    return f"python:care-bot:{__version__} (by /u/{username})"


@dataclass(frozen=True)
class Thing:
    """A post (t3) or comment (t1) from a listing, reduced to what the desk needs."""

    fullname: str
    author: str
    author_id: str
    text: str
    created: float
    edited: float  # 0 when never edited
    permalink: str
    subreddit: str
    gone: bool  # deleted by its author or removed by a moderator

    @property
    def is_post(self) -> bool:
        return self.fullname.startswith("t3_")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def parse_thing(child: Any) -> Thing | None:
    """A listing child as a Thing; None (logged) for anything that is not a post or comment we can read."""
    data = child.get("data") if isinstance(child, dict) else None
    kind = child.get("kind") if isinstance(child, dict) else None
    if kind not in ("t1", "t3") or not isinstance(data, dict):
        logger.info("reddit: skipping a listing entry of kind %r", kind)
        return None
    name, author = data.get("name"), data.get("author")
    if not isinstance(name, str) or not _FULLNAME.fullmatch(name) or not isinstance(author, str):
        logger.warning("reddit: skipping a %s without a usable name/author", kind)
        return None
    if kind == "t3":
        title, body = str(data.get("title") or ""), str(data.get("selftext") or "")
        text = f"{title}\n\n{body}" if body.strip() else title
    else:
        body = str(data.get("body") or "")
        text = body
    gone = author == "[deleted]" or body.strip() in GONE or bool(data.get("removed_by_category"))
    author_id = data.get("author_fullname")
    return Thing(
        fullname=name,
        author=author,
        author_id=author_id if isinstance(author_id, str) and author_id else author,
        text=text,
        created=_number(data.get("created_utc")),
        edited=_number(data.get("edited")),
        permalink=str(data.get("permalink") or ""),
        subreddit=str(data.get("subreddit") or ""),
        gone=gone,
    )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class Cursor:
    """What a poll persists: per listing, how far back to read and which matches it already returned there;
    and the newest matches with their last known edit time, re-checked for edits and deletions."""

    since: dict[str, float] = field(default_factory=dict)
    seen: dict[str, dict[str, float]] = field(default_factory=dict)  # listing -> {fullname: created}
    watch: dict[str, list[float]] = field(default_factory=dict)  # fullname -> [created, edited]
    first: bool = False  # no cursor yet: read one page and take only the newest matches
    # the inbox, as a listing: how far back to read and which messages were returned there; None: never read
    # (a cursor from before private messages were read, or none): its first read takes only the unread ones
    inbox: dict[str, Any] | None = None
    mark: list[str] = field(default_factory=list)  # unread messages returned by the last poll, to mark read now

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        cursor = cls()
        if text:
            try:
                raw = json.loads(text)
                for listing in LISTINGS:
                    part = raw[listing]
                    cursor.since[listing] = float(part["since"])
                    cursor.seen[listing] = {str(k): float(v) for k, v in part["seen"].items()}
                cursor.watch = {str(k): [float(v[0]), float(v[1])] for k, v in raw.get("watch", {}).items()}
                if "inbox" in raw:
                    inbox = raw["inbox"]
                    cursor.inbox = {
                        "since": float(inbox["since"]),
                        "seen": {str(k): float(v) for k, v in inbox["seen"].items()},
                    }
                    cursor.mark = [str(name) for name in raw.get("mark", []) if _MESSAGE.fullmatch(str(name))]
                return cursor
            except (ValueError, KeyError, TypeError, IndexError, AttributeError):
                logger.warning("reddit: the stored poll cursor is unreadable; starting again from the newest posts")
                cursor = cls()
        cursor.first = True
        for listing in LISTINGS:
            cursor.since[listing], cursor.seen[listing] = 0.0, {}
        return cursor

    def dump(self) -> str:
        inbox = {"inbox": self.inbox, "mark": self.mark} if self.inbox is not None else {}
        return json.dumps(
            {
                **{listing: {"since": self.since[listing], "seen": self.seen[listing]} for listing in LISTINGS},
                "watch": self.watch,
                **inbox,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class Message:
    """A private message (t4) in the brand's inbox, reduced to what the desk needs."""

    fullname: str
    author: str
    author_id: str
    subject: str
    body: str
    created: float
    unread: bool
    conversation: str  # the fullname of the conversation's first message

    @property
    def opens_conversation(self) -> bool:
        return self.conversation == self.fullname


def _has_data(child: dict[str, Any]) -> bool:
    return isinstance(child.get("data"), dict)


def parse_message(child: Any, *, brand: str) -> Message | None:
    """An inbox entry as a customer's private message; None for a comment reply or a post reply (t1: not private),
    the brand's own message, one from a subreddit (modmail) or from Reddit itself, or one we cannot read."""
    data = child.get("data") if isinstance(child, dict) else None
    if not isinstance(child, dict) or child.get("kind") != "t4" or not isinstance(data, dict):
        return None
    name, author = data.get("name"), data.get("author")
    if not isinstance(name, str) or not _MESSAGE.fullmatch(name) or data.get("was_comment") is True:
        return None
    if not isinstance(author, str) or not author or author in GONE or author.lower() == brand.lower():
        return None
    if data.get("subreddit") or data.get("distinguished") == "admin":
        return None  # a subreddit's modmail or a message from Reddit's admins: not a customer
    first = data.get("first_message_name")
    author_id = data.get("author_fullname")
    return Message(
        fullname=name,
        author=author,
        author_id=author_id if isinstance(author_id, str) and author_id else author,
        subject=str(data.get("subject") or ""),
        body=str(data.get("body") or ""),
        created=_number(data.get("created_utc")),
        unread=data.get("new") is True,
        conversation=first if isinstance(first, str) and _MESSAGE.fullmatch(first) else name,
    )


class RedditConnector(PlatformConnector):
    name = NAME
    private_messages = True  # POST /api/compose, with the privatemessages scope

    def __init__(
        self,
        settings: RedditSettings,
        client: httpx.Client,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._settings, self._client = settings, client
        self._mono, self._wall = monotonic, wall
        self.poll_seconds = settings.poll_seconds
        self._api_url = settings.api_url.rstrip("/")
        self._auth_url = settings.auth_url.rstrip("/")
        self._username = settings.username or ""
        self._user_agent = settings.user_agent or default_user_agent(self._username)
        self._subreddits = "+".join(settings.subreddits)
        self._keywords = keyword_pattern(settings.keywords)
        self._lock = threading.Lock()  # the poller and the outbox worker share this connector
        self._token: str | None = None
        self._token_until = 0.0
        self._remaining: float | None = None
        self._reset_at = 0.0
        self._unsure: set[str] = set()  # idempotency keys whose last attempt may have reached Reddit

    # -- authentication ----------------------------------------------------------------------------
    def _access_token(self) -> tuple[str, bool]:
        """The cached token, or a new one; True when it was fetched just now."""
        with self._lock:
            if self._token and self._mono() < self._token_until:
                return self._token, False
            token, lifetime = self._fetch_token()
            self._token, self._token_until = token, self._mono() + max(0.0, lifetime - TOKEN_MARGIN)
            return token, True

    def _fetch_token(self) -> tuple[str, float]:
        s = self._settings
        try:
            response = call(
                self._client,
                "POST",
                f"{self._auth_url}/api/v1/access_token",
                platform=LABEL,
                auth=(s.client_id or "", s.client_secret or ""),
                headers={"User-Agent": self._user_agent},
                data={
                    "grant_type": "password",
                    "username": self._username,
                    "password": s.password or "",
                    "scope": SCOPES,
                },
            )
        except AuthError as exc:
            raise AuthError(
                f"Reddit refused the app's credentials: check REDDIT_CLIENT_ID and "
                f'REDDIT_CLIENT_SECRET, that it is a "script" app and that Reddit has approved it '
                f"({exc})"
            ) from None
        payload = json_body(response, platform=LABEL)
        if not isinstance(payload, dict):
            raise TransientError("Reddit answered the token request with something that is not a JSON object")
        error = payload.get("error")
        if error:  # Reddit answers a wrong password with HTTP 200 {"error": "invalid_grant"}
            raise AuthError(
                f"Reddit refused the login of u/{self._username}: {error} (check REDDIT_USERNAME and "
                "REDDIT_PASSWORD; the account must be a developer of the app and have no "
                "two-factor authentication)"
            )
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientError("Reddit answered the token request without an access token")
        return token, _number(payload.get("expires_in")) or 3600.0

    # -- rate limits -------------------------------------------------------------------------------
    def _wait_for_window(self, reserve: int) -> None:
        """Wait (by raising RateLimited) instead of spending the window's last requests: a 429 helps nobody."""
        with self._lock:
            wait = self._reset_at - self._mono()
            if self._remaining is not None and self._remaining < reserve and wait > 0:
                raise RateLimited(
                    f"Reddit's request allowance is used up for {wait:.0f}s "
                    f"(X-Ratelimit-Remaining {self._remaining:g})",
                    retry_after=wait,
                )

    def _note_rate_limit(self, response: httpx.Response) -> float | None:
        """Read X-Ratelimit-Remaining/-Reset (seconds until the window resets); the wait after a 429."""
        try:
            remaining = float(response.headers["x-ratelimit-remaining"])
            reset = max(0.0, float(response.headers["x-ratelimit-reset"]))
        except (KeyError, ValueError):
            return retry_after_header(response)
        with self._lock:
            self._remaining, self._reset_at = remaining, self._mono() + reset
            if response.status_code == 429:
                self._remaining = 0.0
        return reset

    # -- the API -----------------------------------------------------------------------------------
    def _api(self, method: str, path: str, *, reserve: int = 1, **kwargs: Any) -> Any:
        """One API call with the bearer token; a refused cached token is renewed and the call made once more."""
        for attempt in (1, 2):
            self._wait_for_window(reserve)
            token, fresh = self._access_token()
            try:
                response = call(
                    self._client,
                    method,
                    f"{self._api_url}{path}",
                    platform=LABEL,
                    wait_seconds=self._note_rate_limit,
                    headers={"Authorization": f"bearer {token}", "User-Agent": self._user_agent},
                    **kwargs,
                )
            except AuthError:
                if fresh or attempt == 2:
                    raise
                with self._lock:
                    if self._token == token:
                        self._token = None
                continue
            self._note_rate_limit(response)
            return json_body(response, platform=LABEL)
        raise AssertionError("unreachable")  # pragma: no cover

    def check(self) -> str:
        me = self._api("GET", "/api/v1/me")
        name = me.get("name") if isinstance(me, dict) else None
        if not name:
            raise PermanentError("Reddit's /api/v1/me did not name the account")
        return f"authenticated as u/{name}"

    # -- polling -----------------------------------------------------------------------------------
    def poll(self, cursor: str | None) -> PollResult:
        state = Cursor.load(cursor)
        self._mark_read(state)
        fresh: list[Thing] = []
        for listing in LISTINGS:
            fresh += self._read_listing(listing, state)
        messages = self._read_inbox(state)
        arrived = [(t.created, t.fullname, self._mention(t)) for t in fresh]
        arrived += [(m.created, m.fullname, self._private(m)) for m in messages]
        changes: list[Change] = [change for _, _, change in sorted(arrived, key=lambda a: (a[0], a[1]))]
        changes += self._recheck(state)
        for thing in fresh:
            state.watch[thing.fullname] = [thing.created, thing.edited]
        if len(state.watch) > WATCH_LIMIT:
            newest = sorted(state.watch.items(), key=lambda item: item[1][0])[-WATCH_LIMIT:]
            state.watch = dict(newest)
        return PollResult(changes=changes, cursor=state.dump())

    def _read_listing(self, listing: str, state: Cursor) -> list[Thing]:
        """New matches in one listing (pages until past `since`); moves `since` and `seen` along."""
        since, seen = state.since[listing], state.seen[listing]
        path = f"/r/{self._subreddits}/{listing}"
        read: list[Thing] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            # e.g. a private or banned subreddit (403, 404) is refused naming the listing
            children, after = self._listing_page(path, after, refused_reading=path)
            things = [t for t in map(parse_thing, children) if t is not None]
            read += [t for t in things if t.created >= since]
            if state.first or not after or not things or things[-1].created < since:
                break
        else:
            logger.warning(
                "reddit: %s has more new items than Reddit lists (%d pages); older ones are out of reach",
                path,
                MAX_PAGES,
            )
        matches = [t for t in read if self._wanted(t)]
        new = [t for t in matches if t.fullname not in seen]
        if state.first:  # turning the connector on must not flood the channel with a subreddit's history
            new = sorted(new, key=lambda t: (t.created, t.fullname))[-FIRST_POLL_LIMIT:]
        newest = max((t.created for t in read), default=since)
        state.since[listing] = max(since, newest - OVERLAP)
        known = {**seen, **{t.fullname: t.created for t in matches}}
        state.seen[listing] = {name: created for name, created in known.items() if created >= state.since[listing]}
        return new

    def _listing_page(self, path: str, after: str | None, *, refused_reading: str) -> tuple[list[Any], str | None]:
        """One page of a Reddit Listing: its children and the `after` of the next page (None: the last page).
        A refusal says what was being read (`refused_reading`); anything not a Listing is a temporary failure."""
        params: dict[str, Any] = {"limit": PAGE_SIZE, "raw_json": 1}
        if after:
            params["after"] = after
        try:
            page = self._api("GET", path, params=params, reserve=POLL_RESERVE)
        except (AuthError, PermanentError) as exc:
            raise type(exc)(f"reading {refused_reading}: {exc}") from None
        data = page.get("data") if isinstance(page, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("children"), list):
            raise TransientError(f"Reddit answered {path} with something that is not a Listing")
        return data["children"], data.get("after") if isinstance(data.get("after"), str) else None

    def _read_inbox(self, state: Cursor) -> list[Message]:
        """New private messages in the inbox (pages until past `since`); moves the inbox cursor along and lists
        the unread ones among them to be marked read at the next poll. The first read (no inbox cursor yet) takes
        only unread messages of the newest page: the ones read already were dealt with on Reddit."""
        first = state.inbox is None
        inbox: dict[str, Any] = state.inbox if state.inbox is not None else {"since": 0.0, "seen": {}}
        since, seen = float(inbox["since"]), dict(inbox["seen"])
        read: list[Message] = []
        newest = since
        after: str | None = None
        for _ in range(MAX_PAGES):
            children, after = self._listing_page(INBOX, after, refused_reading=f"{INBOX} (the privatemessages scope)")
            times = [_number(c["data"].get("created_utc")) for c in children if isinstance(c, dict) and _has_data(c)]
            newest = max([newest, *times])
            read += [m for m in (parse_message(c, brand=self._username) for c in children) if m and m.created >= since]
            if first or not after or not times or min(times) < since:
                break
        new = [m for m in read if m.fullname not in seen]
        if first:
            new = sorted((m for m in new if m.unread), key=lambda m: (m.created, m.fullname))[-FIRST_POLL_LIMIT:]
        floor = max(since, newest - OVERLAP)
        known = {**seen, **{m.fullname: m.created for m in read}}
        state.inbox = {"since": floor, "seen": {name: at for name, at in known.items() if at >= floor}}
        marks = [*state.mark, *(m.fullname for m in new if m.unread and m.fullname not in state.mark)]
        state.mark = marks[-MARK_KEEP:]  # while marking fails (it is logged), the cursor stays small
        return new

    def _mark_read(self, state: Cursor) -> None:
        """Mark read the messages the last poll returned and stored (see the module's docstring)."""
        if not state.mark:
            return
        done: list[str] = []
        try:
            for start in range(0, len(state.mark), MARK_LIMIT):
                batch = state.mark[start : start + MARK_LIMIT]
                self._api("POST", "/api/read_message", data={"id": ",".join(batch)}, reserve=POLL_RESERVE)
                done += batch
        except (AuthError, PermanentError, TransientError, RateLimited) as exc:
            logger.warning(
                "reddit: could not mark %d stored messages read (%s); trying again next poll",
                len(state.mark) - len(done),
                exc,
            )
        state.mark = [name for name in state.mark if name not in done]

    def _private(self, message: Message) -> InboundMention:
        starts = message.opens_conversation and message.subject.strip()
        return InboundMention(
            platform=NAME,
            external_id=message.fullname,
            author=Author(id=message.author_id, handle=message.author),
            text=f"{message.subject.strip()}\n\n{message.body}" if starts else message.body,
            posted_at=_utc(message.created),
            url=f"{WEB_URL}/message/messages/{message.conversation[3:]}",
            extra={
                DM_CONTEXT: True,
                "author": message.author,
                "subject": message.subject[:300],
                "kind": "message",
                "conversation": message.conversation,
            },
            private=True,
        )

    def _wanted(self, thing: Thing) -> bool:
        """A customer's live post that names the brand; never our own account's, never a deleted one."""
        if thing.gone or thing.author.lower() == self._username.lower():
            return False
        return bool(self._keywords.search(thing.text))

    def _mention(self, thing: Thing) -> InboundMention:
        return InboundMention(
            platform=NAME,
            external_id=thing.fullname,
            author=Author(id=thing.author_id, handle=thing.author),
            text=thing.text,
            posted_at=_utc(thing.created),
            url=WEB_URL + thing.permalink if thing.permalink.startswith("/") else None,
            extra={
                "author": thing.author,
                "subreddit": thing.subreddit,
                "kind": "post" if thing.is_post else "comment",
            },
        )

    def _recheck(self, state: Cursor) -> list[Change]:
        """Edits and deletions of the newest matches we returned, as `/api/info` reports them now."""
        if not state.watch:
            return []
        page = self._api("GET", "/api/info", params={"id": ",".join(state.watch), "raw_json": 1}, reserve=POLL_RESERVE)
        children = (page.get("data") or {}).get("children") if isinstance(page, dict) else None
        changes: list[Change] = []
        for thing in filter(None, map(parse_thing, children if isinstance(children, list) else [])):
            known = state.watch.get(thing.fullname)
            if known is None:
                continue
            if thing.gone:
                changes.append(MentionDeleted(platform=NAME, external_id=thing.fullname, deleted_at=_utc(self._wall())))
                del state.watch[thing.fullname]
            elif thing.edited > known[1]:
                changes.append(
                    MentionEdited(
                        platform=NAME, external_id=thing.fullname, text=thing.text, edited_at=_utc(thing.edited)
                    )
                )
                known[1] = thing.edited
        return changes

    # -- answering ---------------------------------------------------------------------------------
    def send(self, message: Outbound) -> SendResult:
        """A public comment under the answered post/comment, or a private message to its author.

        Reddit has no idempotency key: when an attempt failed in a way that may have reached Reddit (a
        timeout, a 5xx), the retry first looks for it among our own recent comments or sent messages.
        """
        if message.into_conversation and not _MESSAGE.fullmatch(message.in_reply_to):
            raise PermanentError(f"{message.in_reply_to!r} is not a Reddit private message id")
        if not message.into_conversation and not _FULLNAME.fullmatch(message.in_reply_to):
            raise PermanentError(f"{message.in_reply_to!r} is not a Reddit post or comment id")
        key = message.idempotency_key
        if key and key in self._unsure:
            found = self._find_sent(message)
            if found is not None:
                self._unsure.discard(key)
                return found
        try:
            sent = self._private_message(message) if message.visibility == "private" else self._comment(message)
        except RateLimited:
            raise  # refused before anything was posted
        except TransientError:
            if key:
                self._unsure.add(key)
            raise
        except PermanentError:
            self._unsure.discard(key or "")
            raise
        if key:
            self._unsure.discard(key)
        return sent

    def _comment(self, message: Outbound) -> SendResult:
        answer = self._api(
            "POST", "/api/comment", data={"api_type": "json", "thing_id": message.in_reply_to, "text": message.text}
        )
        _raise_json_errors(answer, "comment")
        things = ((answer.get("json") or {}).get("data") or {}).get("things") or []
        name = things[0].get("data", {}).get("name") if things and isinstance(things[0], dict) else None
        return SendResult(external_id=name if isinstance(name, str) else None)

    def _recipient(self, message: Outbound) -> str:
        to = str(message.context.get("author") or message.author_id)
        if to.startswith("t2_") or to in GONE:
            raise PermanentError("the Reddit username of this customer is not known, so no message can be sent")
        return to

    def _private_message(self, message: Outbound) -> SendResult:
        """`POST /api/compose`: about a post or comment, or in answer to the customer's own message (its subject)."""
        context: Mapping[str, Any] = message.context
        if message.into_conversation:
            subject = str(context.get("subject") or "").strip()
            subject = subject if subject.lower().startswith("re:") else f"re: {subject or 'your message'}"
        else:
            what = "post" if message.in_reply_to.startswith("t3_") else "comment"
            where = f" in r/{context['subreddit']}" if context.get("subreddit") else ""
            subject = f"About your {what}{where}"
        answer = self._api(
            "POST",
            "/api/compose",
            data={"api_type": "json", "to": self._recipient(message), "subject": subject[:100], "text": message.text},
        )
        _raise_json_errors(answer, "private message")
        return SendResult()

    def _find_sent(self, message: Outbound) -> SendResult | None:
        """Our comment or message from an attempt whose answer was lost, if Reddit did take it."""
        private = message.visibility == "private"
        path = "/message/sent" if private else f"/user/{self._username}/comments"
        page = self._api("GET", path, params={"limit": 25, "sort": "new", "raw_json": 1})
        children = (page.get("data") or {}).get("children") if isinstance(page, dict) else None
        to = self._recipient(message).lower() if private else ""
        for child in children if isinstance(children, list) else []:
            data = child.get("data") if isinstance(child, dict) else None
            if not isinstance(data, dict) or str(data.get("body", "")).strip() != message.text.strip():
                continue
            if private and str(data.get("dest", "")).lower() == to:
                return SendResult(note="Reddit had already taken this message; it was not sent twice.")
            if not private and data.get("parent_id") == message.in_reply_to:
                name = data.get("name")
                return SendResult(
                    external_id=name if isinstance(name, str) else None,
                    note="Reddit had already taken this reply; it was not posted twice.",
                )
        return None


def _raise_json_errors(answer: Any, what: str) -> None:
    """`api_type=json` answers HTTP 200 with {"json": {"errors": [[CODE, message, field], ...]}} on a refusal."""
    errors = (answer.get("json") or {}).get("errors") if isinstance(answer, dict) else None
    if not errors:
        return
    first = errors[0] if isinstance(errors[0], list) else [str(errors[0])]
    code, text = str(first[0]), str(first[1]) if len(first) > 1 else str(first[0])
    if code == "RATELIMIT":  # "Take a break for 5 minutes before trying again."
        found = _RATELIMIT_WAIT.search(text)
        wait = int(found.group(1)) * (60 if found.group(2).lower() == "minute" else 1) if found else 60
        raise RateLimited(f"Reddit is rate limiting this account: {text}", retry_after=float(wait))
    raise PermanentError(f"Reddit refused the {what}: {text} ({code})")


def build(platforms: PlatformSettings, client: httpx.Client) -> RedditConnector:
    return RedditConnector(platforms.reddit, client)
