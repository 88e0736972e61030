"""Google Business Profile reviews: polled per location, answered with the review's one owner reply.

Why polling: the API's push alternative needs a Cloud Pub/Sub topic and subscriber; reviews are not a
chat, and one cheap list call per location every few minutes (the quota is 300 a minute) is enough.
Reviews are listed newest-updated first, so each poll reads only until it passes its cursor.

Google keeps one owner reply per review: replying again replaces it (`PUT …/reply`). Before replying we
read the review, so the thread can say when an earlier public reply was replaced. There are no private
messages on Google, so Move to DM posts only the public reply, inviting the customer to get in touch.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.clock import Clock, SystemClock
from bot.config import DEFAULT_CONTACT_ROUTE, GoogleSettings, PlatformSettings
from bot.errors import AuthError, ConnectorError, PermanentError
from connectors.base import (
    FIRST_POLL_LIMIT,
    Author,
    Change,
    InboundMention,
    LengthRule,
    MentionEdited,
    Outbound,
    PlatformConnector,
    PollResult,
    SendResult,
    rule_for,
)
from connectors.oauth import read_grant
from connectors.transport import call, json_body

logger = logging.getLogger(__name__)

NAME = "google"
PLATFORM = "Google"
PAGE_SIZE = 50  # the documented maximum of reviews.list
TOKEN_ENDPOINT = "Google's token endpoint"
TOKEN_MARGIN = timedelta(seconds=60)  # renew the access token this long before Google says it expires
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)  # when the answer has no expires_in
RATING_ONLY = "(rating only, no text)"
ANONYMOUS = "Google user"
CONTACT_ROUTE = "by phone or through our website (both are listed on our Google profile)"
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
_SEGMENT = r"[^/\s?#%.][^/\s?#%]*"  # safe in a URL path: no separators, escapes or dot segments
_REVIEW_NAME = re.compile(rf"accounts/{_SEGMENT}/locations/{_SEGMENT}/reviews/{_SEGMENT}")
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")


REPLY_RULE = rule_for(NAME)  # ReviewReply.comment: 4096 bytes of UTF-8 (connectors/base.py gives the source)
NANOS = 1_000_000_000


def _instant(value: Any) -> int | None:
    """An RFC 3339 timestamp as nanoseconds since the epoch: Google's updateTime has up to 9 digits,
    and two reviews a few nanoseconds apart must not look simultaneous to the cursor."""
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    whole = datetime.fromisoformat(match.group(1) + match.group(3).replace("Z", "+00:00"))
    return int(whole.timestamp()) * NANOS + int((match.group(2) or "").ljust(9, "0"))


def _moment(value: Any) -> datetime | None:
    instant = _instant(value)
    if instant is None:
        return None
    return datetime.fromtimestamp(instant // NANOS, UTC) + timedelta(microseconds=instant % NANOS // 1000)


@dataclass
class Mark:
    """Where polling of one location got to: the newest updateTime seen, and the reviews updated then."""

    at: str | None  # None: the location had no reviews yet
    names: set[str]

    @property
    def instant(self) -> int:
        found = _instant(self.at)
        return -1 if found is None else found

    def saw(self, review: dict[str, Any], instant: int) -> bool:
        return instant < self.instant or (instant == self.instant and review.get("name") in self.names)

    def advance(self, review: dict[str, Any], instant: int) -> None:
        if instant > self.instant:
            self.at, self.names = review["updateTime"], set()
        if instant == self.instant:
            self.names.add(str(review.get("name")))


def read_cursor(cursor: str | None) -> dict[str, Mark]:
    """The cursor is one JSON string holding a mark per location; an unreadable one starts afresh."""
    try:
        data = json.loads(cursor) if cursor else {}
        return {loc: Mark(mark.get("at"), set(mark.get("names") or ())) for loc, mark in data["locations"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        if cursor:
            logger.warning("google: ignoring an unreadable poll cursor; starting afresh")
        return {}


def write_cursor(marks: dict[str, Mark]) -> str:
    return json.dumps(
        {"v": 1, "locations": {loc: {"at": m.at, "names": sorted(m.names)} for loc, m in sorted(marks.items())}},
        separators=(",", ":"),
    )


def review_changes(review: dict[str, Any], location: str) -> list[Change]:
    """A review past the cursor: new to us unless the brand already answered it; an edit if it was edited."""
    name = str(review["name"])
    reviewer = review.get("reviewer") or {}
    display = str(reviewer.get("displayName") or "").strip()
    if reviewer.get("isAnonymous") or not display:
        author = Author(id=name, handle=ANONYMOUS)  # one review per reviewer and location: a stable id
    else:
        author = Author(id=name, handle=display, name=display)
    text = str(review.get("comment") or "").strip() or RATING_ONLY
    extra: dict[str, Any] = {"location": location}
    if review.get("starRating") in STARS:
        extra["stars"] = STARS[review["starRating"]]
    updated = _moment(review["updateTime"])
    assert updated is not None  # the poll skips reviews without a readable updateTime
    created = _moment(review.get("createTime")) or updated
    changes: list[Change] = []
    if not review.get("reviewReply"):  # answered already (by us, or in Google's own tools): not a new case
        changes.append(
            InboundMention(platform=NAME, external_id=name, author=author, text=text, posted_at=created, extra=extra)
        )
    if review.get("updateTime") != review.get("createTime"):  # edited since written: the core compares
        changes.append(MentionEdited(platform=NAME, external_id=name, text=text, edited_at=updated, extra=extra))
    return changes


class AccessToken:
    """A Google OAuth access token: from the refresh token (cached until shortly before it expires), or fixed."""

    def __init__(self, settings: GoogleSettings, client: httpx.Client, clock: Clock) -> None:
        self._settings, self._client, self._clock = settings, client, clock
        self.renewable = bool(settings.client_id and settings.client_secret and settings.refresh_token)
        self._token: str | None = None if self.renewable else settings.access_token
        self._expires: datetime | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._token is None or (self._expires is not None and self._clock.now() >= self._expires):
                self._token = self._renew()
            return self._token

    def discard(self, token: str) -> None:
        """The API refused `token`: the next `get` asks for a new one (if nobody has already)."""
        with self._lock:
            if self.renewable and self._token == token:
                self._token = None

    def _renew(self) -> str:
        s = self._settings
        form = {
            "grant_type": "refresh_token",
            "refresh_token": s.refresh_token,
            "client_id": s.client_id,
            "client_secret": s.client_secret,
        }
        try:
            response = call(self._client, "POST", s.token_url, platform=TOKEN_ENDPOINT, data=form)
        except (PermanentError, AuthError) as exc:  # 400 invalid_grant, 401 invalid_client
            raise AuthError(f"{exc}; check GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_REFRESH_TOKEN") from exc
        _, token, self._expires = read_grant(
            response,
            platform=TOKEN_ENDPOINT,
            now=self._clock.now(),
            default_lifetime=DEFAULT_TOKEN_LIFETIME,
            margin=TOKEN_MARGIN,
        )
        return token


class GoogleConnector(PlatformConnector):
    """Polls the configured locations' reviews and replies to them."""

    name = NAME
    private_messages = False

    def __init__(self, settings: GoogleSettings, client: httpx.Client, *, clock: Clock | None = None) -> None:
        self._settings, self._client = settings, client
        self._clock = clock or SystemClock()
        self._api = settings.api_url.rstrip("/")
        self._token = AccessToken(settings, client, self._clock)
        self.poll_seconds = settings.poll_seconds

    # -- the contract ----------------------------------------------------------------------------
    def length_rule(self, platform: str, private: bool = False) -> LengthRule:
        return REPLY_RULE  # Google has no private messages: a review's reply is the only answer

    def contact_route(self, default: str) -> str:
        """Google has no direct messages: unless the team set its own route, point to the profile's contacts."""
        return CONTACT_ROUTE if default == DEFAULT_CONTACT_ROUTE else default

    def poll(self, cursor: str | None) -> PollResult:
        self._token.get()  # a refused refresh token fails the poll once, not once per location
        marks = read_cursor(cursor)
        found: list[tuple[int, str, dict[str, Any], str]] = []
        refused: list[ConnectorError] = []
        for location in self._settings.locations:
            try:
                reviews, marks[location] = self._new_reviews(location, marks.get(location))
            except (AuthError, PermanentError) as exc:  # one location lost to us must not stop the others
                logger.error("google: cannot read the reviews of %s: %s", location, exc)
                refused.append(exc)
                continue
            found += [(instant, str(review["name"]), review, location) for instant, review in reviews]
        if refused and len(refused) == len(self._settings.locations):
            raise refused[0]
        changes = [
            change
            for *_, review, location in sorted(found, key=lambda f: f[:2])
            for change in review_changes(review, location)
        ]
        marks = {loc: mark for loc, mark in marks.items() if loc in self._settings.locations}
        return PollResult(changes=changes, cursor=write_cursor(marks))

    def send(self, message: Outbound) -> SendResult:
        if message.visibility != "public":
            raise PermanentError("Google reviews have no private messages; only a public reply is possible")
        review = review_name(message.in_reply_to)
        current = json_body(self._request("GET", f"/v4/{review}"), platform=PLATFORM)
        answer = current.get("reviewReply") if isinstance(current, dict) else None
        earlier = str((answer or {}).get("comment") or "").strip() if isinstance(answer, dict) else ""
        self._request("PUT", f"/v4/{review}/reply", json={"comment": message.text})
        notes = []
        if earlier and earlier != message.text.strip():  # not just our own retry landing twice
            shown = earlier if len(earlier) <= 200 else earlier[:199] + "…"
            notes.append(f"Google keeps one reply per review, so this replaced the earlier public reply: “{shown}”")
        if message.purpose == "move_to_dm":
            notes.append("Google has no private messages, so only this public reply was posted.")
        return SendResult(external_id=f"{review}/reply", note=" ".join(notes) or None)

    def check(self) -> str:
        """One cheap list call per location: proves the token, the API approval and access to each location."""
        details = []
        for location in self._settings.locations:
            data = json_body(self._request("GET", f"/v4/{location}/reviews", params={"pageSize": 1}), platform=PLATFORM)
            data = data if isinstance(data, dict) else {}
            count, average = data.get("totalReviewCount", 0), data.get("averageRating")
            rating = f", average {float(average):.1f} stars" if isinstance(average, (int, float)) and count else ""
            details.append(f"{location}: {count} reviews{rating}")
        return "; ".join(details)

    # -- polling ---------------------------------------------------------------------------------
    def _new_reviews(self, location: str, mark: Mark | None) -> tuple[list[tuple[int, dict[str, Any]]], Mark]:
        """Reviews updated since `mark` (all pages, until past it), and the mark to keep.

        Without a mark (the location's first poll) only the first page is read, and only its newest
        unanswered reviews are taken: the team sees what still waits for an answer, not years of history.
        """
        kept = Mark(mark.at, set(mark.names)) if mark is not None else Mark(None, set())
        fresh: list[tuple[int, dict[str, Any]]] = []
        for index, review in enumerate(self._pages(location)):
            if mark is None and index >= PAGE_SIZE:
                break
            instant = _instant(review.get("updateTime"))
            if instant is None or not isinstance(review.get("name"), str):
                logger.warning("google: skipping a review of %s without a name or updateTime", location)
                continue
            if mark is not None and instant < mark.instant:
                break  # newest first: everything further on is older still (and `kept` is already past it)
            if mark is None:
                wanted = "reviewReply" not in review and len(fresh) < FIRST_POLL_LIMIT
            else:
                wanted = not mark.saw(review, instant)
            if wanted:
                fresh.append((instant, review))
            kept.advance(review, instant)
        return fresh, kept

    def _pages(self, location: str) -> Iterable[dict[str, Any]]:
        token: str | None = None
        while True:
            params: dict[str, Any] = {"pageSize": PAGE_SIZE, "orderBy": "updateTime desc"}
            if token:
                params["pageToken"] = token
            data = json_body(self._request("GET", f"/v4/{location}/reviews", params=params), platform=PLATFORM)
            data = data if isinstance(data, dict) else {}
            yield from (r for r in (data.get("reviews") or []) if isinstance(r, dict))
            token = data.get("nextPageToken")
            if not token:
                return

    # -- HTTP ------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One API call; a refused token (401, or 403) is renewed once and the call repeated."""
        token = self._token.get()
        try:
            return self._call(method, path, token, **kwargs)
        except AuthError:
            if not self._token.renewable:
                raise
            self._token.discard(token)
            return self._call(method, path, self._token.get(), **kwargs)

    def _call(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"}
        return call(self._client, method, self._api + path, platform=PLATFORM, headers=headers, **kwargs)


def review_name(value: str) -> str:
    """The review's resource name, checked: it becomes part of the URL path."""
    if not _REVIEW_NAME.fullmatch(value or ""):
        raise PermanentError(f"{value!r} is not a Google review name (accounts/…/locations/…/reviews/…)")
    return value


def build(platforms: PlatformSettings, client: httpx.Client) -> GoogleConnector:
    return GoogleConnector(platforms.google, client)
