"""A fake Google Business Profile API (v4 reviews) and Google OAuth token endpoint, over real HTTP.

It answers as Google documents: reviews listed newest-updated first in pages of at most 50 with an
opaque `nextPageToken`, `averageRating` and `totalReviewCount`; `PUT …/reply` creates or replaces the
one owner reply; errors in Google's `{"error": {"code", "message", "status"}}` shape; the token endpoint
with OAuth's `{"error": "invalid_grant", …}`. Bearer tokens are checked on every API call.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import re
from typing import Any

from tests.fakes import platform_fixture
from tests.fakes.platform_standin import PlatformStandIn, Recorded, Reply

LOCATION = "accounts/111/locations/222"
CLIENT_ID = "1234567890-care.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret"
REFRESH_TOKEN = "1//0fake-refresh-token"
STAR_NAMES = {1: "ONE", 2: "TWO", 3: "THREE", 4: "FOUR", 5: "FIVE"}
_NAME = r"accounts/[^/]+/locations/[^/]+"
_STAMP = re.compile(r"(.*?)(?:\.(\d+))?Z")


def fixture(name: str) -> Any:
    return platform_fixture("google", name)


def _order(stamp: str) -> str:
    """Sortable form of a Z timestamp with 0-9 fractional digits."""
    match = _STAMP.fullmatch(stamp)
    assert match, stamp
    return match.group(1) + "." + (match.group(2) or "").ljust(9, "0")


class FakeGoogle:
    def __init__(self, standin: PlatformStandIn, *, token_lifetime: int = 3599) -> None:
        self.standin = standin
        self.token_lifetime = token_lifetime
        self.reviews: dict[str, dict[str, Any]] = {}
        self.locations = {LOCATION}
        self.valid_tokens: set[str] = set()
        self.now = "2026-08-10T12:00:00Z"  # the time Google stamps on replies
        self.reply_bumps_update_time = True  # the worst case for us: our own reply makes the review "updated"
        self._tokens = itertools.count(1)
        standin.route("POST", r"/token", self._token)
        standin.route("GET", rf"/v4/({_NAME})/reviews", self._list)
        standin.route("GET", rf"/v4/({_NAME}/reviews/[^/]+)", self._get)
        standin.route("PUT", rf"/v4/({_NAME}/reviews/[^/]+)/reply", self._reply)

    # -- set-up ----------------------------------------------------------------------------------
    def env(self, **overrides: str) -> dict[str, str]:
        values = {
            "GOOGLE_API_URL": self.standin.url,
            "GOOGLE_TOKEN_URL": f"{self.standin.url}/token",
            "GOOGLE_CLIENT_ID": CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_REFRESH_TOKEN": REFRESH_TOKEN,
            "GOOGLE_LOCATIONS": LOCATION,
        }
        values.update(overrides)
        return values

    def add(self, template: str | dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Publish a review (a fixture name or a Review dict), with fields overridden; returns it."""
        review = copy.deepcopy(fixture(template) if isinstance(template, str) else template)
        if "stars" in fields:
            review["starRating"] = STAR_NAMES[fields.pop("stars")]
        if "review_id" in fields:
            review_id = fields.pop("review_id")
            location = fields.pop("location", LOCATION)
            review["reviewId"], review["name"] = review_id, f"{location}/reviews/{review_id}"
        if "at" in fields:
            review["createTime"] = review["updateTime"] = fields.pop("at")
        review.update(fields)
        self.reviews[review["name"]] = review
        return review

    def edit(self, name: str, *, at: str, comment: str | None = None, stars: int | None = None) -> None:
        review = self.reviews[name]
        if comment is not None:
            review["comment"] = comment
        if stars is not None:
            review["starRating"] = STAR_NAMES[stars]
        review["updateTime"] = at

    # -- reading back ----------------------------------------------------------------------------
    def list_requests(self, location: str = LOCATION) -> list[Recorded]:
        return self.standin.requests_to("GET", f"/v4/{location}/reviews")

    def replies(self) -> list[Recorded]:
        return self.standin.requests_to("PUT", rf"/v4/{_NAME}/reviews/[^/]+/reply")

    def token_requests(self) -> list[Recorded]:
        return self.standin.requests_to("POST", "/token")

    # -- the API ---------------------------------------------------------------------------------
    def _authorized(self, request: Recorded) -> Reply | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.valid_tokens:
            return Reply(
                401,
                fixture("error_unauthenticated"),
                {"www-authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        return None

    def _list(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        location = match.group(1)
        if location not in self.locations:
            return Reply(404, fixture("error_not_found"))
        size = int(request.query.get("pageSize") or 10)
        if not 0 < size <= 50 or request.query.get("orderBy", "updateTime desc") != "updateTime desc":
            return Reply(400, fixture("error_invalid_argument"))
        ordered = sorted(
            (r for r in self.reviews.values() if r["name"].startswith(location + "/")),
            key=lambda r: (_order(r["updateTime"]), r["name"]),
            reverse=True,
        )
        start = (
            int(json.loads(base64.urlsafe_b64decode(request.query["pageToken"]))["o"])
            if request.query.get("pageToken")
            else 0
        )
        body: dict[str, Any] = {"totalReviewCount": len(ordered)}
        if ordered:
            stars = [int(k) for r in ordered for k, v in STAR_NAMES.items() if v == r.get("starRating")]
            body["averageRating"] = round(sum(stars) / len(stars), 1) if stars else 0
        page = ordered[start : start + size]
        if page:
            body["reviews"] = copy.deepcopy(page)
        if start + size < len(ordered):
            body["nextPageToken"] = base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode()).decode()
        return Reply(200, body)

    def _get(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        review = self.reviews.get(match.group(1))
        return Reply(200, copy.deepcopy(review)) if review else Reply(404, fixture("error_not_found"))

    def _reply(self, request: Recorded, match: re.Match[str]) -> Reply:
        refused = self._authorized(request)
        if refused:
            return refused
        review = self.reviews.get(match.group(1))
        if review is None:
            return Reply(404, fixture("error_not_found"))
        comment = request.json.get("comment") if isinstance(request.json, dict) else None
        if not isinstance(comment, str) or not comment.strip() or len(comment.encode()) > 4096:
            return Reply(400, fixture("error_invalid_argument"))
        review["reviewReply"] = {**fixture("review_reply"), "comment": comment, "updateTime": self.now}
        if self.reply_bumps_update_time:
            review["updateTime"] = self.now
        return Reply(200, dict(review["reviewReply"]))

    def _token(self, request: Recorded, match: re.Match[str]) -> Reply:
        form = request.form
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(401, fixture("token_invalid_client"))
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != REFRESH_TOKEN:
            return Reply(400, fixture("token_invalid_grant"))
        token = f"ya29.fake-access-{next(self._tokens)}"
        self.valid_tokens.add(token)
        return Reply(200, {**fixture("token"), "access_token": token, "expires_in": self.token_lifetime})
