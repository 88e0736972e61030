"""A fake Meta Graph API over real HTTP, and Meta's side of the webhooks (signed deliveries).

It serves the endpoints the Facebook and Instagram connectors call, answering with Meta's documented
shapes (tests/fixtures/facebook|instagram): `{"id"}` for a public reply, `{"recipient_id",
"message_id"}` for a private reply and for a message into a customer's conversation (the Send API,
`recipient.id` + `messaging_type`, refused with code 10 / subcode 2018278 once the 24-hour window has
closed: `close_window`), `{"success": true}` for a hide, and Meta's error body
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` for a bad token (190), a second
private reply to one comment (10900) or a missing parameter (100). Meta takes the token as an
`access_token` parameter (body or query) or as a Bearer header; so does the fake.

The User Profile APIs answer `GET /{scoped-id}?fields=...` for the people a test introduces (`person`) with the
fields asked for that they have, plus `id` (Messenger: `first_name`, `last_name`; Instagram: `name`, `username`);
an id nobody introduced gets Meta's "does not exist" error (100, subcode 33), and `refuse_profiles` makes every
lookup fail as a Page token without the permission does ((#230) Requires pages_messaging permission).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import httpx

from connectors import signing
from tests.fakes import platform_fixture as fixture
from tests.fakes.platform_standin import PlatformStandIn, Recorded, Reply

VERSION = "v21.0"
PAGE_ID = "1029384756"
IG_ACCOUNT_ID = "17841400000000001"
PAGE_TOKEN = "EAAGtestpagetoken"
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "meta-verify-token"


def meta_env(graph_url: str, **overrides: str) -> dict[str, str]:
    """The app's META_* settings for a Page and an Instagram account served by the fake Graph API at `graph_url`."""
    return {
        "META_APP_SECRET": APP_SECRET,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "META_PAGE_ID": PAGE_ID,
        "META_PAGE_TOKEN": PAGE_TOKEN,
        "META_IG_ACCOUNT_ID": IG_ACCOUNT_ID,
        "META_GRAPH_URL": graph_url,
        **overrides,
    }


def graph_error(name: str, *, status: int = 400, headers: dict[str, str] | None = None) -> Reply:
    """One of the recorded Graph error bodies (tests/fixtures/facebook/error_<name>.json)."""
    return Reply(
        status,
        fixture("facebook", f"error_{name}"),
        {"www-authenticate": 'OAuth "Facebook Platform"', **(headers or {})},
    )


def usage_header(minutes: int) -> dict[str, str]:
    """Meta's Business Use Case usage header, as sent with a throttled Page call."""
    usage = {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 14,
                "total_time": 22,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return {"x-business-use-case-usage": json.dumps(usage)}


def deliver(
    base_url: str, platform: str, body: bytes | Any, *, secret: str = APP_SECRET, signature: str | None = None
) -> httpx.Response:
    """POST a webhook delivery as Meta does: the raw body signed with the app secret."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    sig = signing.sign(secret, raw) if signature is None else signature
    if sig:
        headers["x-hub-signature-256"] = sig
    return httpx.post(f"{base_url}/webhooks/{platform}", content=raw, headers=headers, timeout=10)


def _params(request: Recorded) -> dict[str, Any]:
    """The call's parameters: a JSON or form body, plus the query string (Meta reads all three)."""
    params: dict[str, Any] = dict(request.query)
    if request.body:
        if request.headers.get("content-type", "").startswith("application/json"):
            params.update(request.json)
        else:
            params.update(request.form)
    return params


class FakeGraph:
    """The Graph API endpoints of a Page and its linked Instagram account, with Meta's rules."""

    def __init__(self, standin: PlatformStandIn, *, token: str = PAGE_TOKEN) -> None:
        self.standin, self.token = standin, token
        self._private_replied: set[str] = set()
        self._window_closed: set[str] = set()  # customers whose last message is more than 24 hours old
        self._people: dict[str, dict[str, str]] = {}  # what the User Profile APIs know of a scoped id
        self._profiles_refused: Reply | None = None
        self._lock = threading.Lock()
        v = VERSION
        standin.route("GET", rf"/{v}/{PAGE_ID}", lambda r, m: self._read(r, fixture("facebook", "page")))
        standin.route("GET", rf"/{v}/{IG_ACCOUNT_ID}", lambda r, m: self._read(r, fixture("instagram", "account")))
        standin.route("POST", rf"/{v}/({PAGE_ID}|{IG_ACCOUNT_ID})/messages", self._private_reply)
        standin.route("POST", rf"/{v}/(\d+_\d+)/comments", self._public_reply("facebook"))
        standin.route("POST", rf"/{v}/(\d+)/replies", self._public_reply("instagram"))
        standin.route("POST", rf"/{v}/(\d+_\d+|\d+)", self._hide)
        standin.route("GET", rf"/{v}/(\d+)", self._profile)  # after the Page's and the account's own

    @property
    def url(self) -> str:
        """What META_GRAPH_URL points at: the host and the API version."""
        return f"{self.standin.url}/{VERSION}"

    # -- what the bot asked for ----------------------------------------------------------------
    def calls(self, method: str, path: str) -> list[dict[str, Any]]:
        """The parameters of every call to `path` (a regex after the version), in order."""
        return [_params(r) for r in self.standin.requests_to(method, rf"/{VERSION}/{path}")]

    def fail(self, path: str, reply: Reply, times: int = 1, method: str = "POST") -> None:
        self.standin.fail(method, rf"/{VERSION}/{path}", reply, times)

    def close_window(self, scoped_id: str) -> None:
        """The customer's last message is more than 24 hours old: the Send API refuses a response to them."""
        with self._lock:
            self._window_closed.add(scoped_id)

    def messages_sent(self, account: str) -> list[dict[str, Any]]:
        """The Send API calls into customers' conversations (`recipient.id`), as the bot made them."""
        return [c for c in self.calls("POST", f"{account}/messages") if "id" in (c.get("recipient") or {})]

    def person(self, scoped_id: str, **fields: str) -> None:
        """Someone who wrote to the Page or the account, as the User Profile API describes them: Messenger's
        `first_name`, `last_name`, or Instagram's `name`, `username`."""
        with self._lock:
            self._people[scoped_id] = dict(fields)

    def refuse_profiles(self, reply: Reply | None = None) -> None:
        """Every profile lookup is refused, by default as a Page token lacking pages_messaging is."""
        with self._lock:
            self._profiles_refused = reply or permission_error()

    def profile_lookups(self, scoped_id: str) -> list[Recorded]:
        """The profile requests made for `scoped_id`, as sent (query string and headers)."""
        return self.standin.requests_to("GET", rf"/{VERSION}/{scoped_id}")

    def already_replied_privately(self, comment_id: str) -> None:
        """Someone used this comment's one private reply already (e.g. from Meta Business Suite)."""
        with self._lock:
            self._private_replied.add(comment_id)

    # -- answers ---------------------------------------------------------------------------------
    def _token_error(self, request: Recorded) -> Reply | None:
        bearer = request.headers.get("authorization", "")
        token = _params(request).get("access_token") or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
        return None if token == self.token else graph_error("invalid_token")

    def _read(self, request: Recorded, answer: dict[str, Any]) -> Reply:
        return self._token_error(request) or Reply(200, answer)

    def _public_reply(self, platform: str) -> Any:
        def answer(request: Recorded, match: re.Match[str]) -> Reply:
            if refused := self._token_error(request):
                return refused
            if not str(_params(request).get("message") or "").strip():
                return _invalid("(#100) The parameter message is required")
            return Reply(200, fixture(platform, "comment_reply"))

        return answer

    def _private_reply(self, request: Recorded, match: re.Match[str]) -> Reply:
        if refused := self._token_error(request):
            return refused
        params = _params(request)
        if "id" in (params.get("recipient") or {}):
            return self._send_api(params, instagram=match.group(1) == IG_ACCOUNT_ID)
        comment_id = (params.get("recipient") or {}).get("comment_id")
        if not comment_id or not (params.get("message") or {}).get("text"):
            return _invalid("(#100) The parameter recipient is required")
        with self._lock:
            if comment_id in self._private_replied:
                return graph_error("already_replied")
            self._private_replied.add(comment_id)
        return Reply(200, fixture("instagram" if match.group(1) == IG_ACCOUNT_ID else "facebook", "private_reply"))

    def _send_api(self, params: dict[str, Any], *, instagram: bool) -> Reply:
        """A message into a customer's conversation: needs the type, the text, and an open 24-hour window."""
        recipient = str(params["recipient"]["id"])
        if params.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return _invalid("(#100) param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        if not (params.get("message") or {}).get("text"):
            return _invalid("(#100) The parameter message is required")
        with self._lock:
            if recipient in self._window_closed:
                return graph_error("outside_window")
        return Reply(200, {**fixture("instagram" if instagram else "facebook", "dm_sent"), "recipient_id": recipient})

    def _profile(self, request: Recorded, match: re.Match[str]) -> Reply:
        if refused := self._token_error(request):
            return refused
        scoped_id = match.group(1)
        with self._lock:
            if self._profiles_refused is not None:
                return self._profiles_refused
            known = self._people.get(scoped_id)
        if known is None:
            return Reply(400, _missing(scoped_id))
        asked = str(_params(request).get("fields") or "").split(",")
        return Reply(200, {**{k: v for k, v in known.items() if k in asked}, "id": scoped_id})

    def _hide(self, request: Recorded, match: re.Match[str]) -> Reply:
        if refused := self._token_error(request):
            return refused
        flag = "is_hidden" if "_" in match.group(1) else "hide"  # Facebook comment ids are <post>_<comment>
        if not isinstance(_params(request).get(flag), bool):
            return _invalid(f"(#100) The parameter {flag} is required")
        return Reply(200, {"success": True})


def _invalid(message: str) -> Reply:
    return Reply(400, {"error": {"message": message, "type": "OAuthException", "code": 100, "fbtrace_id": "E1fake"}})


def permission_error() -> Reply:
    """Meta's answer to a Page token without the permission a call needs."""
    body = {
        "error": {
            "message": "(#230) Requires pages_messaging permission to manage the object",
            "type": "OAuthException",
            "code": 230,
            "fbtrace_id": "AxQ3fakeTrace",
        }
    }
    return Reply(400, body, {"www-authenticate": 'OAuth "Facebook Platform" "insufficient_scope"'})


def _missing(object_id: str) -> dict[str, Any]:
    message = (
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api"
    )
    return {"error": {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33}}
