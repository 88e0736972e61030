"""X (Twitter): mentions polled from the v2 mentions timeline, replies as reply posts, Move to DM by direct message.

Why polling: the mentions timeline works with the app's bearer token and needs no public endpoint, while
X's webhooks (Account Activity API) need a paid tier and a CRC responder. Why so careful with requests: X
bills every post read and every post written, and a post that contains a link costs about thirteen times
more ($0.20 against $0.015). So the poller keeps the configured pace across restarts, each poll asks only
for what is newer than the persisted `since_id`, and automated posts (the move-to-DM message) stay
link-free unless the operator sets X_ALLOW_LINKS.

Posting needs a user-context token, and X's OAuth 2.0 user access tokens expire after two hours. With
X_CLIENT_ID and X_REFRESH_TOKEN the connector renews them itself (`UserTokens`): X hands out a new,
single-use refresh token on every refresh, so the newest one is kept in an injected `CredentialStore`
(the app's database) for restarts and other replicas.

X's machine spec renames some fields (`post.fields`, `edit_history_post_ids`, `note_post`) while its prose
docs keep the `tweet` spellings; we send the documented `tweet.fields` and read either spelling.

Direct messages: with a user-context token (X_USER_TOKEN, or X_CLIENT_ID + X_REFRESH_TOKEN; the brand must have
granted `dm.read`), each poll also reads the brand's DM events (`GET /2/dm_events`, MessageCreate only, newest
first), page by page until the last event seen. The customers' messages become private mentions; the brand's own
(sender_id == X_USER_ID) never do. A failure there (no dm.read, X's DM rate limit) is logged and leaves the DM
cursor where it was, and mentions are polled as ever. The poll cursor is then JSON, `{"mentions": since_id,
"dms": last event id}`; a plain since_id stored by an earlier version (or while DMs are off) is read as the mentions
cursor, and without a user-context token the cursor stays a plain since_id.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.clock import Clock, SystemClock
from bot.config import PlatformSettings, XSettings
from bot.errors import AuthError, ConnectorError, PermanentError, RateLimited, TransientError
from connectors.base import (
    DM_CONTEXT,
    FIRST_POLL_LIMIT,
    Author,
    Change,
    CredentialStore,
    CredentialStoreError,
    InboundMention,
    MentionEdited,
    OAuthTokens,
    Outbound,
    PlatformConnector,
    PollResult,
    SendResult,
)
from connectors.oauth import read_grant
from connectors.transport import call, json_body, platform_error, retry_after_header

logger = logging.getLogger(__name__)

NAME = "x"
LABEL = "X"
PAGE_SIZE = 100  # the most X returns per page
MAX_PAGES = 8  # X serves only the 800 most recent mentions (8 pages of 100); past that it returns nothing
DM_EVENT_FIELDS = "id,text,event_type,created_at,sender_id,dm_conversation_id"
MAX_DM_PAGES = 10  # X keeps 30 days of DM events; a poll reads back at most 1,000 of them
TWEET_FIELDS = (
    "author_id,conversation_id,created_at,edit_history_tweet_ids,in_reply_to_user_id,note_tweet,referenced_tweets"
)
USER_FIELDS = "name,username"
X_EPOCH_MS = 1288834974657  # post ids are snowflakes: (id >> 22) + this = creation time in ms
_POST_ID = re.compile(r"[0-9]{1,19}")
# What X turns into a (billed) link: http(s) URLs, www. names and bare domains like acme.com/help.
# An e-mail address is not a link on X, hence the look-behind for "@".
_LINK = re.compile(
    r"https?://\S+|\bwww\.\S+|(?<![\w@.-])(?:[a-z0-9-]+\.)+"
    r"(?:com|net|org|io|co|app|dev|info|biz|me|ly|gl|gg|tv|us|uk|eu|de|fr|es|it|nl|ca|au|in|jp|help|support|link)"
    r"\b(?:/\S*)?",
    re.IGNORECASE,
)
LINK_REFUSAL = (
    "The post contains a link, and X bills a post with a link at $0.20 instead of $0.015. Take the "
    "link out of CARE_MOVE_TO_DM_TEMPLATE and X_CONTACT_ROUTE, or set X_ALLOW_LINKS=true to pay for it"
)
POSTING_HINT = (
    "X_USER_TOKEN must be an OAuth 2.0 user token of the brand account with the tweet.write and "
    "dm.write scopes; such a token expires after two hours unless refreshed"
)
RENEWED_HINT = (
    "the brand account must have authorized the scopes tweet.read tweet.write users.read dm.read "
    "dm.write offline.access"
)
REAUTHORIZE = (
    "re-authorize the brand account with OAuth 2.0 (see docs/connectors/x.md) and set X_REFRESH_TOKEN "
    "to the new refresh token"
)
TOKEN_ENDPOINT = "X's token endpoint"
TOKEN_MARGIN = timedelta(minutes=2)  # renew this long before X says the access token expires
DEFAULT_TOKEN_LIFETIME = timedelta(hours=2)  # what X grants when it does not say


def contains_link(text: str) -> bool:
    return bool(_LINK.search(text))


def _unescape(text: str) -> str:
    """X sends post text with &, < and > HTML-escaped; Slack rendering escapes them again itself."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _snowflake_time(post_id: str) -> datetime | None:
    if not _POST_ID.fullmatch(post_id):
        return None
    return datetime.fromtimestamp(((int(post_id) >> 22) + X_EPOCH_MS) / 1000, UTC)


def _timestamp(value: Any, post_id: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11 reads X's "2026-11-22T10:00:00.000Z"
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return _snowflake_time(post_id) or datetime.now(UTC)


def _either(post: Mapping[str, Any], tweet_key: str, post_key: str) -> Any:
    return post.get(tweet_key) if post.get(tweet_key) is not None else post.get(post_key)


def _read_pages(pages: Iterable[Mapping[str, Any]]) -> tuple[list[Any], dict[str, Mapping[str, Any]]]:
    """Every page's `data` items (unchecked, in page order) and the users its `includes` expand, by id: the
    shape X's v2 endpoints share (the mentions timeline and the DM events alike)."""
    items: list[Any] = []
    users: dict[str, Mapping[str, Any]] = {}
    for page in pages:
        includes = page.get("includes")
        includes = includes if isinstance(includes, dict) else {}
        users.update({str(u["id"]): u for u in includes.get("users") or [] if isinstance(u, dict) and "id" in u})
        data = page.get("data")
        items += data if isinstance(data, list) else []
    return items, users


def parse_mentions(pages: Iterable[Mapping[str, Any]], *, brand_id: str) -> list[Change]:
    """Mentions-timeline pages (X's documented JSON) → changes, oldest first, without the brand's own posts.

    An edit gets a new post id; `edit_history_tweet_ids` lists the chain, oldest first. Every version is
    filed under the chain's first id, so an edit of a post we hold becomes a `MentionEdited` of it (and a
    post first seen already edited is stored once, with its latest text).
    """
    posts: dict[str, Mapping[str, Any]] = {}
    items, users = _read_pages(pages)
    for post in items:
        if isinstance(post, dict) and _POST_ID.fullmatch(str(post.get("id", ""))):
            posts[str(post["id"])] = post
        else:
            logger.warning(
                "X: skipping a mention without a post id (keys: %s)",
                sorted(post)[:10] if isinstance(post, dict) else type(post).__name__,
            )
    changes: list[Change] = []
    for post_id in sorted(posts, key=int):
        changes.extend(_mention(posts[post_id], users, brand_id=brand_id))
    return changes


def _mention(post: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], *, brand_id: str) -> list[Change]:
    post_id, author_id = str(post["id"]), str(post.get("author_id") or "")
    if author_id == brand_id:
        return []  # our own reply or post: never a case, so a reply cannot loop back into Slack
    references = _either(post, "referenced_tweets", "referenced_posts") or []
    if any(isinstance(r, dict) and r.get("type") == "retweeted" for r in references):
        return []  # a repost of someone else's post: the original is the one to answer
    note = _either(post, "note_tweet", "note_post")
    text = note.get("text") if isinstance(note, dict) and note.get("text") else post.get("text")
    if not isinstance(text, str) or not author_id:
        logger.warning("X: skipping post %s without text or author", post_id)
        return []
    text = _unescape(text)
    history = _either(post, "edit_history_tweet_ids", "edit_history_post_ids")
    first = str(history[0]) if isinstance(history, list) and history else post_id
    original = first if _POST_ID.fullmatch(first) else post_id
    user = users.get(author_id) or {}
    handle = str(user.get("username") or "") or author_id
    url = (
        f"https://x.com/{user['username']}/status/{post_id}"
        if user.get("username")
        else f"https://x.com/i/web/status/{post_id}"
    )
    version_at = _timestamp(post.get("created_at"), post_id)
    posted_at = (_snowflake_time(original) or version_at) if original != post_id else version_at
    extra = {"conversation_id": str(post["conversation_id"])} if post.get("conversation_id") else {}
    mention = InboundMention(
        platform=NAME,
        external_id=original,
        text=text,
        posted_at=posted_at,
        url=url,
        author=Author(id=author_id, handle=handle, name=user.get("name") or None),
        extra=extra,
    )
    if original == post_id:
        return [mention]
    return [mention, MentionEdited(platform=NAME, external_id=original, text=text, edited_at=version_at)]


def parse_dm_events(pages: Iterable[Mapping[str, Any]], *, brand_id: str, after: int = 0) -> list[InboundMention]:
    """DM-events pages (X's documented JSON) → the customers' messages newer than event `after`, oldest first.

    The brand's own messages (sender_id == brand) never become mentions; nor do other event types, or an event
    without an id, a sender or text."""
    events: dict[int, Mapping[str, Any]] = {}
    items, users = _read_pages(pages)
    for event in items:
        if isinstance(event, dict) and _POST_ID.fullmatch(str(event.get("id", ""))):
            events[int(event["id"])] = event
    found: list[InboundMention] = []
    for event_id in sorted(e for e in events if e > after):
        event = events[event_id]
        sender, text = str(event.get("sender_id") or ""), event.get("text")
        if event.get("event_type", "MessageCreate") != "MessageCreate" or not sender or sender == brand_id:
            continue  # a join or leave, or our own message
        if not isinstance(text, str) or not text.strip():
            logger.warning("X: skipping direct message %s without text", event_id)
            continue
        conversation = str(event.get("dm_conversation_id") or "")
        user = users.get(sender) or {}
        found.append(
            InboundMention(
                platform=NAME,
                external_id=str(event_id),
                author=Author(
                    id=sender, handle=str(user.get("username") or "") or sender, name=user.get("name") or None
                ),
                text=text,
                posted_at=_timestamp(event.get("created_at"), str(event_id)),
                url=f"https://x.com/messages/{conversation}" if re.fullmatch(r"[0-9-]{1,64}", conversation) else None,
                extra={DM_CONTEXT: True, **({"dm_conversation_id": conversation} if conversation else {})},
                private=True,
            )
        )
    return found


def read_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    """The stored poll cursor as (mentions since_id, last DM event id): JSON when DMs are read, else a plain
    since_id (what every earlier version stored). Anything unreadable is logged and read as no cursor."""
    if cursor is None:
        return None, None
    if _POST_ID.fullmatch(cursor):
        return cursor, None
    try:
        raw = json.loads(cursor)
        mentions, dms = raw.get("mentions"), raw.get("dms")
    except (ValueError, AttributeError):
        mentions = dms = None
    else:
        ok = all(v is None or (isinstance(v, str) and _POST_ID.fullmatch(v)) for v in (mentions, dms))
        if ok:
            return mentions, dms
    logger.warning("X: ignoring an unreadable cursor %r; starting from the newest mentions", cursor[:100])
    return None, None


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds until `x-rate-limit-reset` (epoch seconds), X's own answer to "when may I call again?"."""
    try:
        reset = float(response.headers["x-rate-limit-reset"])
    except (KeyError, ValueError):
        return retry_after_header(response)
    return max(1.0, reset - now)


class RefreshRefused(AuthError):
    """X refused the refresh token or the client: only the operator can fix it, so nothing retries it."""


class _Expired(AuthError):
    """A 401 to a renewable access token: renew it once and repeat the call."""


def _expired(response: httpx.Response) -> ConnectorError | None:
    if response.status_code == 401:
        return _Expired(f"{LABEL} refused our credentials (HTTP 401: {platform_error(response)})")
    return None


def _token_refusal(response: httpx.Response) -> ConnectorError | None:
    """X's token endpoint answers OAuth errors: 400 for a used or revoked refresh token, 401 for a bad client."""
    if response.status_code not in (400, 401, 403):
        return None
    words = platform_error(response)
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    if response.status_code != 400 or code in ("invalid_client", "unauthorized_client"):
        return RefreshRefused(
            f"{TOKEN_ENDPOINT} refused X_CLIENT_ID or X_CLIENT_SECRET (HTTP {response.status_code}: "
            f"{words}); copy both from the app's Keys and tokens page in the X developer console"
        )
    return RefreshRefused(
        f"X refused the refresh token ({words}): it was already used or has been revoked, so {REAUTHORIZE}"
    )


def _usable(tokens: OAuthTokens, now: datetime, *, refused: str | None = None) -> str | None:
    """The access token, unless it is (nearly) expired or is the one X just refused."""
    if tokens.access_token and tokens.access_token != refused and tokens.expires_at and now < tokens.expires_at:
        return tokens.access_token
    return None


class UserTokens:
    """The brand's user-context access token, renewed with X's rotating, single-use refresh token.

    The access token is cached until shortly before `expires_in`. With a credential store (the app's
    database, handed in by the runtime) the refresh runs under the store's lock and the new refresh token
    is stored before the lock is released; the tokens are read again once the lock is held, so a process
    that lost the race adopts the winner's tokens instead of spending the refresh token a second time. The
    lock is held across the call to X (a few hundred milliseconds every two hours; at most the HTTP
    timeout). Without a store the refresh happens in memory only.
    """

    def __init__(
        self, settings: XSettings, client: httpx.Client, clock: Clock, credentials: CredentialStore | None = None
    ) -> None:
        self._settings, self._client, self._clock = settings, client, clock
        self._credentials = credentials
        self._configured = str(settings.refresh_token or "")
        self._grant = OAuthTokens(self._configured)
        self._unsaved = False  # a refresh whose result the store did not take: memory has the newest token
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            return _usable(self._grant, self._clock.now()) or self._renew(refused=None)

    def after_refusal(self, token: str) -> str:
        """X answered 401 to `token`: a new one (another thread or process may have renewed it already)."""
        with self._lock:
            return _usable(self._grant, self._clock.now(), refused=token) or self._renew(refused=token)

    def _renew(self, *, refused: str | None) -> str:
        if self._credentials is None or self._unsaved:
            grant = self._refresh(self._grant.refresh_token)
            self._grant = grant
            if self._credentials is not None:
                self._store(grant)
            return str(grant.access_token)
        try:
            self._grant = self._credentials.renew(
                NAME, configured=self._configured, refresh=lambda stored: self._renew_stored(stored, refused=refused)
            )
            self._unsaved = False
        except CredentialStoreError as exc:
            if self._unsaved:
                logger.error(
                    "X: the renewed refresh token could not be stored (%s); this process keeps it "
                    "and stores it at the next renewal",
                    exc,
                )
                return str(self._grant.access_token)
            raise TransientError(f"the database could not be read to renew X's user token ({exc})") from exc
        return str(self._grant.access_token)

    def _renew_stored(self, stored: OAuthTokens, *, refused: str | None) -> OAuthTokens:
        """Under the store's lock: adopt the tokens another process just renewed, else spend the refresh token."""
        if _usable(stored, self._clock.now(), refused=refused):
            return stored
        grant = self._refresh(stored.refresh_token)
        self._grant = grant  # from here on only this process may hold the newest refresh token
        self._unsaved = True
        return grant

    def _store(self, grant: OAuthTokens) -> None:
        """Save a grant obtained while the store was away (see `_unsaved`)."""
        assert self._credentials is not None
        try:
            self._credentials.save(NAME, configured=self._configured, tokens=grant)
            self._unsaved = False
        except CredentialStoreError as exc:
            logger.error("X: the renewed refresh token still could not be stored (%s)", exc)

    def _refresh(self, refresh_token: str) -> OAuthTokens:
        """One `POST /2/oauth2/token` (grant_type=refresh_token); confidential clients add HTTP Basic auth."""
        s = self._settings
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": str(s.client_id)}
        auth = (str(s.client_id), str(s.client_secret)) if s.client_secret else None
        response = call(
            self._client,
            "POST",
            s.token_url,
            platform=TOKEN_ENDPOINT,
            classify=_token_refusal,
            wait_seconds=lambda answer: rate_limit_wait(answer, time.time()),
            data=form,
            auth=auth,
        )
        body, access, expires = read_grant(
            response,
            platform=TOKEN_ENDPOINT,
            now=self._clock.now(),
            default_lifetime=DEFAULT_TOKEN_LIFETIME,
            margin=TOKEN_MARGIN,
        )
        rotated = body.get("refresh_token")
        # RFC 6749 §6: no new refresh token in the answer means the old one stays valid
        return OAuthTokens(rotated if isinstance(rotated, str) and rotated else refresh_token, access, expires)


class XConnector(PlatformConnector):
    name = NAME
    private_messages = True

    def __init__(
        self,
        settings: XSettings,
        client: httpx.Client,
        *,
        wall_clock: Callable[[], float] = time.time,
        clock: Clock | None = None,
        credentials: CredentialStore | None = None,
    ):
        if not settings.user_id or not settings.bearer_token:
            raise ValueError("X needs X_USER_ID and X_BEARER_TOKEN")
        self._settings, self._client, self._wall_clock = settings, client, wall_clock
        self._base = settings.api_url.rstrip("/")
        self._user_id, self._reader = settings.user_id, str(settings.bearer_token)
        # With X_CLIENT_ID and X_REFRESH_TOKEN, posting tokens are renewed; else the fixed X_USER_TOKEN posts.
        self._tokens = UserTokens(settings, client, clock or SystemClock(), credentials) if settings.refreshes else None
        self._poster = str(settings.user_token or settings.bearer_token)
        self._poster_name = (
            "X_REFRESH_TOKEN"
            if self._tokens
            else "X_USER_TOKEN"
            if settings.user_token
            else "X_BEARER_TOKEN (used for posting too, as X_USER_TOKEN is not set)"
        )
        self._posting_hint = RENEWED_HINT if self._tokens else POSTING_HINT
        self._unconfirmed: set[str] = set()  # sends whose outcome X never told us (timeout, 5xx)
        # DMs are read with the user-context token; without one, only mentions are polled
        self.reads_dms = self._tokens is not None or bool(settings.user_token)
        self._dms_not_before = 0.0  # after X's DM rate limit: wall-clock seconds
        self._dm_problem: str | None = None  # the last DM read failure, logged once until it changes
        if contains_link(settings.contact_route) and not settings.allow_links:
            logger.warning(
                "X_CONTACT_ROUTE contains a link: X move-to-DM posts will be refused until it is "
                "removed or X_ALLOW_LINKS=true"
            )

    @property
    def poll_seconds(self) -> float:
        return self._settings.poll_seconds

    # -- reading -----------------------------------------------------------------------------------
    def poll(self, cursor: str | None) -> PollResult:
        """Every mention newer than the cursor (the newest post id seen), all pages, oldest first; then, when DMs
        are read, every customer's direct message newer than the last event seen."""
        since_id, last_dm = read_cursor(cursor)
        mentions = self._poll_mentions(since_id)
        if not self.reads_dms:
            return mentions
        messages, last_dm = self._poll_dms(last_dm)
        if mentions.cursor is None and last_dm is None:
            return PollResult(changes=[*mentions.changes, *messages], cursor=None)  # nothing seen yet: nothing to keep
        state = json.dumps({"mentions": mentions.cursor, "dms": last_dm}, sort_keys=True)
        return PollResult(changes=[*mentions.changes, *messages], cursor=state)

    def _poll_mentions(self, cursor: str | None) -> PollResult:
        params: dict[str, Any] = {
            "expansions": "author_id",
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
            "max_results": PAGE_SIZE if cursor else FIRST_POLL_LIMIT,
        }
        if cursor:
            params["since_id"] = cursor
        pages: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES if cursor else 1):
            page = json_body(
                self._call("GET", f"/2/users/{self._user_id}/mentions", self._reader, params=params), platform=LABEL
            )
            if not isinstance(page, dict):
                raise TransientError("X sent a mentions page that is not a JSON object")
            pages.append(page)
            meta = page.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not isinstance(next_token, str) or not next_token:
                break
            params["pagination_token"] = next_token
        seen = [
            int(p["id"])
            for page in pages
            for p in page.get("data") or []
            if isinstance(p, dict) and _POST_ID.fullmatch(str(p.get("id", "")))
        ]
        if cursor and len(seen) >= MAX_PAGES * PAGE_SIZE:
            logger.warning(
                "X: %d mentions since the last poll; X serves only the 800 most recent, so any older "
                "ones in between cannot be fetched (consider a shorter X_POLL_SECONDS)",
                len(seen),
            )
        newest = max([int(cursor or 0), *seen])
        return PollResult(
            changes=parse_mentions(pages, brand_id=self._user_id), cursor=str(newest) if newest else cursor
        )

    def _poll_dms(self, last: str | None) -> tuple[list[InboundMention], str | None]:
        """The customers' new direct messages and the new DM cursor. The first read (no cursor) takes the newest
        page only; a failure is logged (once) and leaves the cursor as it was, so nothing is missed."""
        if self._wall_clock() < self._dms_not_before:
            return [], last
        params: dict[str, Any] = {
            "event_types": "MessageCreate",
            "dm_event.fields": DM_EVENT_FIELDS,
            "expansions": "sender_id",
            "user.fields": USER_FIELDS,
            "max_results": PAGE_SIZE if last else FIRST_POLL_LIMIT,
        }
        pages: list[dict[str, Any]] = []
        try:
            for _ in range(MAX_DM_PAGES if last else 1):
                page = json_body(self._user_get("/2/dm_events", params), platform=LABEL)
                if not isinstance(page, dict):
                    raise TransientError("X sent a DM events page that is not a JSON object")
                pages.append(page)
                ids = [int(e["id"]) for e in _events(page)]
                meta = page.get("meta")
                next_token = meta.get("next_token") if isinstance(meta, dict) else None
                if not ids or (last and min(ids) <= int(last)) or not isinstance(next_token, str) or not next_token:
                    break
                params["pagination_token"] = next_token
        except ConnectorError as exc:
            if isinstance(exc, RateLimited):
                self._dms_not_before = self._wall_clock() + exc.retry_after
            problem = f"X: direct messages could not be read ({exc})"
            if isinstance(exc, (AuthError, PermanentError)) and not isinstance(exc, RefreshRefused):
                problem += "; the brand's user-context token needs the dm.read scope (see the README)"
            if problem != self._dm_problem:
                logger.warning("%s; mentions are polled as usual", problem)
            self._dm_problem = problem
            return [], last
        self._dm_problem = None
        newest = max([int(last or 0), *(int(e["id"]) for page in pages for e in _events(page))])
        found = parse_dm_events(pages, brand_id=self._user_id, after=int(last or 0))
        if not last:  # first read: the newest few, as for mentions
            found = found[-FIRST_POLL_LIMIT:]
        return found, str(newest) if newest else last

    def _user_get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """GET with the brand's user-context token; a renewed token X refuses with 401 is renewed once."""
        token = self._poster_token()
        renewable = self._tokens is not None
        try:
            return self._call("GET", path, token, params=params, classify=_expired if renewable else None)
        except _Expired:
            assert self._tokens is not None
            return self._call("GET", path, self._tokens.after_refusal(token), params=params)

    # -- answering ---------------------------------------------------------------------------------
    def contact_route(self, default: str) -> str:
        """The move-to-DM {contact}: a link would make the post cost $0.20, so X gets its own link-free route."""
        if self._settings.allow_links or not contains_link(default):
            return default
        return self._settings.contact_route

    def send(self, message: Outbound) -> SendResult:
        if message.visibility == "private":
            return self._direct_message(message)
        problem = self.length_rule(NAME).problem(message.text)
        if problem:
            raise PermanentError(f"X would refuse it: {problem.rstrip('.')}")
        if message.purpose == "move_to_dm" and not self._settings.allow_links and contains_link(message.text):
            raise PermanentError(LINK_REFUSAL)
        body = {"text": message.text, "reply": {"in_reply_to_tweet_id": message.in_reply_to}}
        try:
            response = self._send_call("/2/tweets", message, json=body)
        except _Duplicate:
            if message.idempotency_key not in self._unconfirmed:
                raise
            # An earlier attempt got through although X's answer was lost; X refuses the same text twice.
            self._unconfirmed.discard(message.idempotency_key or "")
            return SendResult(note="X had already taken this reply on an earlier attempt")
        except RefreshRefused:
            raise  # its sentence already tells the operator what to do
        except AuthError as exc:
            raise AuthError(f"{exc}; {self._posting_hint}") from exc
        return SendResult(external_id=_data(response).get("id"))

    def _direct_message(self, message: Outbound) -> SendResult:
        path = f"/2/dm_conversations/with/{message.author_id}/messages"
        try:
            response = self._send_call(path, message, json={"text": message.text})
        except RefreshRefused:
            raise
        except AuthError as exc:
            raise PermanentError(
                f"{exc}. X refuses a direct message when the customer does not accept messages "
                f"from this account, or when the token cannot send them ({self._posting_hint})"
            ) from exc
        return SendResult(external_id=_data(response).get("dm_event_id"))

    def _send_call(self, path: str, message: Outbound, **kwargs: Any) -> httpx.Response:
        """POST as the brand; a renewed token X refuses with 401 is renewed once and the post repeated.

        Tokens are fetched outside `_post`: a token endpoint failure means nothing was posted.
        """
        token = self._poster_token()
        try:
            return self._post(path, message, token, renewable=self._tokens is not None, **kwargs)
        except _Expired:
            assert self._tokens is not None
            return self._post(path, message, self._tokens.after_refusal(token), renewable=False, **kwargs)

    def _post(self, path: str, message: Outbound, token: str, *, renewable: bool, **kwargs: Any) -> httpx.Response:
        """POST as the brand, remembering sends whose outcome X never told us (a timeout, a 5xx)."""
        try:
            response = self._call("POST", path, token, classify=_expired if renewable else None, **kwargs)
        except RateLimited:
            raise  # X refused before doing anything
        except TransientError:
            if message.idempotency_key:
                self._unconfirmed.add(message.idempotency_key)
            raise
        except (AuthError, PermanentError) as exc:
            if "duplicate content" in str(exc).lower():
                raise _Duplicate("X refuses to post the same text twice; change the wording and send it again") from exc
            raise
        self._unconfirmed.discard(message.idempotency_key or "")
        return response

    # -- checking ----------------------------------------------------------------------------------
    def _poster_token(self) -> str:
        return self._tokens.get() if self._tokens is not None else self._poster

    def check(self) -> str:
        """The reading token must see X_USER_ID; the posting token must be that same account."""
        brand = self._account(
            f"/2/users/{self._user_id}", self._reader, "X_BEARER_TOKEN", missing=f"X_USER_ID {self._user_id}"
        )
        token = self._poster_token()
        try:
            poster = self._account(
                "/2/users/me",
                token,
                self._poster_name,
                missing="the token's account",
                classify=_expired if self._tokens is not None else None,
            )
        except _Expired:
            assert self._tokens is not None
            poster = self._account(
                "/2/users/me", self._tokens.after_refusal(token), self._poster_name, missing="the token's account"
            )
        if str(poster.get("id")) != self._user_id:
            raise PermanentError(
                f"{self._poster_name.split()[0]} belongs to @{poster.get('username')}, not to "
                f"X_USER_ID {self._user_id} (@{brand.get('username')}): replies would come from "
                "the wrong account"
            )
        detail = f"authenticated as @{brand.get('username')}"
        if self._tokens is not None:
            detail += "; replies and direct messages use access tokens renewed with X_REFRESH_TOKEN"
        elif not self._settings.user_token:
            detail += "; X_USER_TOKEN is not set, so replies and direct messages use X_BEARER_TOKEN"
        return detail

    def _account(
        self,
        path: str,
        token: str,
        token_name: str,
        *,
        missing: str,
        classify: Callable[[httpx.Response], ConnectorError | None] | None = None,
    ) -> dict[str, Any]:
        try:
            body = json_body(
                self._call("GET", path, token, params={"user.fields": USER_FIELDS}, classify=classify), platform=LABEL
            )
        except RateLimited as exc:
            raise RateLimited(f"{token_name}: {exc}", retry_after=exc.retry_after) from exc
        except ConnectorError as exc:
            raise type(exc)(f"{token_name}: {exc}") from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            errors = body.get("errors") if isinstance(body, dict) else None
            detail = errors[0].get("detail") if errors and isinstance(errors[0], dict) else "no account in the answer"
            raise PermanentError(f"X could not find {missing} ({detail})")
        return data

    def _call(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        """One request to X with `token`; `classify` (in kwargs) may single out a 401 for renewal."""
        return call(
            self._client,
            method,
            self._base + path,
            platform=LABEL,
            wait_seconds=lambda response: rate_limit_wait(response, self._wall_clock()),
            headers={"authorization": f"Bearer {token}"},
            **kwargs,
        )


class _Duplicate(PermanentError):
    """X's "duplicate content" refusal: after an unanswered attempt, it means the post is already there."""


def _events(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = page.get("data")
    return (
        [e for e in data if isinstance(e, dict) and _POST_ID.fullmatch(str(e.get("id", "")))]
        if isinstance(data, list)
        else []
    )


def _data(response: httpx.Response) -> dict[str, str]:
    body = json_body(response, platform=LABEL)
    data = body.get("data") if isinstance(body, dict) else None
    return {k: str(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else {}


def build(
    platforms: PlatformSettings,
    client: httpx.Client,
    credentials: CredentialStore | None = None,
    clock: Clock | None = None,
) -> XConnector:
    """X's connector; with `credentials`, the rotating refresh token is kept there (shared by every replica)."""
    return XConnector(platforms.x, client, clock=clock, credentials=credentials)
