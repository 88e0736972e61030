"""Facebook Page and Instagram business account: Meta's signed webhooks in, Graph API calls out.

Both platforms come through one Meta app, so they share everything but the shapes: the subscription
check (`hub.verify_token`), the body signature (`X-Hub-Signature-256`, HMAC-SHA256 of the raw body with
the app secret), the Page token, the Graph error body and its throttling codes, and the private-reply
rule (one message per comment, within 7 days). `MetaConnector` holds that; `FacebookConnector` reads Page
`feed` changes and `InstagramConnector` reads `comments`, each answering on its own endpoints.

Private messages are shared too. A customer's message to the Page (Messenger) or to the Instagram account arrives
in the same delivery as `entry[].messaging[]` (the `messages` webhook field): `sender.id` is their Page- or
Instagram-scoped id (PSID, IGSID), `message.mid` the message's id, `message.text` and/or `message.attachments`.
It becomes a private `InboundMention`; the brand's own messages (`message.is_echo`, or sent by the account itself)
never do. A private reply to one goes back through the Send API, `POST /{account}/messages` with
`recipient.id` and `messaging_type: RESPONSE`, which Meta takes only within 24 hours of the customer's last
message (`private_message_problem(..., dm=True)` says so beforehand).

Such a message names its sender only by the scoped id. `profile()` asks Meta's User Profile API who that is
(`GET /{PSID}?fields=first_name,last_name` on Messenger, `GET /{IGSID}?fields=name,username` on Instagram); the
outbox's platform lane calls it once after a private message opens a case, never inside a webhook request.

The Page token goes as the `access_token` parameter in the body of every POST; the GETs (`check`, `profile`)
send it in the Authorization header, because a query string would land in httpx's request log.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.clock import as_utc
from bot.config import MetaSettings, PlatformSettings
from bot.errors import (
    AuthError,
    BadPayload,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
)
from connectors import signing, transport
from connectors.base import (
    DM_CONTEXT,
    Author,
    Change,
    InboundMention,
    MentionDeleted,
    MentionEdited,
    Outbound,
    PlatformConnector,
    SendResult,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024  # Meta batches many changes into one delivery
SIGNATURE_HEADER = "x-hub-signature-256"
PRIVATE_REPLY_WINDOW = timedelta(days=7)
MESSAGING_WINDOW = timedelta(hours=24)  # the Send API's standard window after the customer's last message
NOT_AVAILABLE = 551  # "This person isn't available right now": they blocked the Page or left the conversation
# Graph `error.code`s. Throttling: 4 app, 17 user, 32 Page, 613 custom; 80001/80002/80006 are the
# Business Use Case limits of Pages, Instagram and Messenger (what a Page token is counted against).
THROTTLED = frozenset({4, 17, 32, 613, 80001, 80002, 80006})
TOKEN_REFUSED = frozenset({102, 190})  # session / access token invalid or expired
PERMISSION_CODES = frozenset({10, *range(200, 300)})
ALREADY_REPLIED = 10900  # "(#10900) Activity already replied to": the one private reply is used up
CANNOT_REPLY = 10903  # "This user can't reply to this activity"
OUTSIDE_WINDOW_SUBCODE = 2018278  # code 10: "This message is sent outside of allowed window"
TEMPORARY_CODES = frozenset({1, 2})  # "An unknown error occurred" / "Service temporarily unavailable"
MIN_THROTTLE_WAIT = 60.0  # when Meta gives no estimate (or 0 minutes) for a throttled call
_ID = re.compile(r"[A-Za-z0-9_]{1,128}")  # Graph ids: digits, and `<post>_<comment>` on Facebook
_MID = re.compile(r"[A-Za-z0-9_.:$=+/-]{1,256}")  # message ids: `m_…`, `mid.…:…` (Messenger), base64 (Instagram)
_USERNAME = re.compile(r"[A-Za-z0-9._]{1,64}")  # Instagram usernames: letters, digits, periods, underscores


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _id(value: Any) -> str | None:
    """A Graph id (Meta sends them as strings, occasionally as numbers); anything else is None."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _clean(value: Any, limit: int | None = None) -> str | None:
    """Text we can store anywhere: no NUL (PostgreSQL refuses it), no lone surrogates, clipped."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    return text[:limit] if limit else text


def _name(value: Any, limit: int = 256) -> str | None:
    """A person's name as one line: Meta's text, cleaned, its runs of whitespace (newlines too) made one space."""
    text = _clean(value, limit)
    return " ".join(text.split()) if text else None


def _present(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _timestamp(value: Any) -> datetime | None:
    """Unix seconds (Meta's samples; milliseconds in some products) or ISO 8601 (`...T08:58:00+0000`)."""
    try:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # a ValueError past 4,300 digits (Python's limit), or for digits like "²"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return as_utc(parsed)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _attachments(message: dict[str, Any]) -> str:
    """What a message held besides text, for the thread: `[image]`, `[image] [video]` (Meta's URLs expire, so
    they are not kept); empty for none."""
    kinds = [_obj(a).get("type") for a in _items(message.get("attachments"))]
    shown = [f"[{k}]" if isinstance(k, str) and k.isidentifier() and len(k) <= 32 else "[attachment]" for k in kinds]
    if message.get("is_unsupported") is True:
        shown.append("[a kind of message Meta does not show to apps]")
    return " ".join(shown)


def _hours(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


def _code(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict is case-sensitive; Starlette's headers are not
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _usage_estimates(raw: str | None) -> list[float]:
    """Seconds from `estimated_time_to_regain_access` (minutes) in a usage header, flat or per business."""
    try:
        usage = json.loads(raw) if raw else None
    except ValueError:
        return []
    if not isinstance(usage, dict):
        return []
    entries = [usage] + [e for v in usage.values() for e in _items(v) if isinstance(e, dict)]
    minutes = [e.get("estimated_time_to_regain_access") for e in entries]
    return [60.0 * m for m in minutes if isinstance(m, int | float) and not isinstance(m, bool)]


def throttle_wait(response: httpx.Response) -> float:
    """How long to leave Meta alone: its own estimate (usage headers, Retry-After), else a minute."""
    waits = [
        w
        for h in ("x-business-use-case-usage", "x-page-usage", "x-app-usage")
        for w in _usage_estimates(response.headers.get(h))
    ]
    retry_after = transport.retry_after_header(response)
    if retry_after is not None:
        waits.append(retry_after)
    longest = max(waits, default=0.0)
    return longest if longest > 0 else MIN_THROTTLE_WAIT


class MetaConnector(PlatformConnector):
    """What Facebook and Instagram share; subclasses say how their webhooks look and where replies go."""

    name = ""
    label = ""  # how staff read the platform's name in thread notes
    webhook_object = ""  # the `object` of a delivery
    webhook_field = ""  # the subscribed `changes[].field`
    check_field = ""  # GET /{account}?fields=... for `check()`
    profile_fields = ""  # GET /{scoped-id}?fields=... for `profile()`
    profile_permission = ""  # what the Page token needs for `profile()`, in words for the log
    hide_param = ""  # POST /{comment-id} {<hide_param>: true}
    private_messages = True
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, settings: MetaSettings, client: httpx.Client, *, account_id: str) -> None:
        self._settings = settings
        self._client = client
        self._account_id = account_id  # the Page id, or the Instagram business account id
        self._graph_url = settings.graph_url.rstrip("/")

    # -- inbound -----------------------------------------------------------------------------------
    def challenge(self, params: Mapping[str, str]) -> str | None:
        """Meta's subscription check: the raw `hub.challenge` back when mode and token are right."""
        token = (params.get("hub.verify_token") or "").encode()
        expected = str(self._settings.verify_token or "").encode()
        if params.get("hub.mode") != "subscribe" or not expected or not hmac.compare_digest(token, expected):
            return None
        return params.get("hub.challenge")

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        return signing.verify(str(self._settings.app_secret or ""), body, _header(headers, SIGNATURE_HEADER))

    def parse(self, body: bytes) -> list[Change]:
        """Every change in every entry (Meta batches them); what we do not know is logged and skipped."""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise BadPayload("body is not valid JSON", status=400) from None
        if not isinstance(data, dict) or data.get("object") != self.webhook_object:
            logger.warning("%s webhook: ignoring a delivery that is not object=%s", self.name, self.webhook_object)
            return []
        changes: list[Change] = []
        for entry in map(_obj, _items(data.get("entry"))):
            if _id(entry.get("id")) != self._account_id:
                logger.warning(
                    "%s webhook: ignoring an entry for account %r, which is not ours (%s)",
                    self.name,
                    entry.get("id"),
                    self._account_id,
                )
                continue
            when = _timestamp(entry.get("time"))
            for change in map(_obj, _items(entry.get("changes"))):
                if change.get("field") != self.webhook_field:
                    logger.info("%s webhook: skipping a %r change", self.name, change.get("field"))
                    continue
                parsed = self._change(_obj(change.get("value")), when)
                if parsed is not None:
                    changes.append(parsed)
            for event in map(_obj, _items(entry.get("messaging"))):
                parsed = self._message(event, when)
                if parsed is not None:
                    changes.append(parsed)
        return changes

    def _message(self, event: dict[str, Any], when: datetime | None) -> Change | None:
        """A `messaging` event: a customer's private message, or None (the brand's own, receipts, reactions...)."""
        message = event.get("message")
        edit = event.get("message_edit")  # Messenger's `message_edits` field: the customer changed a message
        if isinstance(edit, dict) and _id(_obj(event.get("sender")).get("id")) not in (None, self._account_id):
            mid, text = edit.get("mid"), _clean(edit.get("text"))
            if isinstance(mid, str) and _MID.fullmatch(mid) and text is not None:
                at = _timestamp(event.get("timestamp")) or when or datetime.now(UTC)
                return MentionEdited(self.name, mid, text, edited_at=at)
        if not isinstance(message, dict):
            keys = ", ".join(sorted(k for k in map(str, event) if k not in ("sender", "recipient", "timestamp")))
            logger.info("%s webhook: skipping a messaging event that is not a message (%s)", self.name, keys or "none")
            return None
        sender = _id(_obj(event.get("sender")).get("id"))
        recipient = _id(_obj(event.get("recipient")).get("id"))
        if message.get("is_echo") is True or sender == self._account_id:
            return None  # the brand's own message (our reply, or one sent from the inbox) coming back
        mid = message.get("mid")
        if sender is None or not isinstance(mid, str) or not _MID.fullmatch(mid):
            self._unknown(event)
            return None
        if recipient is not None and recipient != self._account_id:
            logger.warning("%s webhook: ignoring a message to %r, which is not our account", self.name, recipient)
            return None
        at = _timestamp(event.get("timestamp")) or when or datetime.now(UTC)
        if message.get("is_deleted") is True:  # Instagram: the customer unsent it
            return MentionDeleted(self.name, mid, deleted_at=at)
        return InboundMention(
            platform=self.name,
            external_id=mid,
            author=Author(id=sender, handle=sender),  # only the scoped id: `profile()` asks for the name later
            text=" ".join(filter(None, (_clean(message.get("text")), _attachments(message)))) or "(no text)",
            posted_at=at,
            url=None,
            extra={DM_CONTEXT: True},
            private=True,
        )

    def _change(self, value: dict[str, Any], when: datetime | None) -> Change | None:
        raise NotImplementedError

    def _unknown(self, value: dict[str, Any]) -> None:
        logger.warning(
            "%s webhook: skipping a change of unknown shape (keys: %s)",
            self.name,
            ", ".join(sorted(map(str, value))) or "none",
        )

    # -- outbound ----------------------------------------------------------------------------------
    def private_message_problem(
        self, posted_at: datetime, now: datetime, *, dm: bool = False, already_sent: bool = False
    ) -> str | None:
        age = as_utc(now) - as_utc(posted_at)
        if dm:  # `posted_at`: the customer's last private message
            if age < MESSAGING_WINDOW:
                return None
            return (
                f"{self.label} accepts a message only within 24 hours of the customer's last message, and theirs "
                f"was {_hours(age)} ago: answer publicly, or wait until they write again"
            )
        if already_sent:  # Private Replies: "only one private reply can be sent per comment"
            return (
                f"{self.label} takes one private message per comment, and this comment has had its one: "
                "once they answer it, you can write to them privately again"
            )
        if age < PRIVATE_REPLY_WINDOW:
            return None
        return (
            f"{self.label} accepts a private reply only within 7 days of a comment, "
            f"and this comment is {age.days} days old"
        )

    def send(self, message: Outbound) -> SendResult:
        if message.into_conversation:  # answering the customer's own message: into their conversation with us
            return self._direct_message(message)
        comment_id = _id(message.in_reply_to)
        if comment_id is None:
            raise PermanentError(f"{message.in_reply_to!r} is not a {self.label} comment id")
        if message.visibility == "private":  # Meta's private reply: one per comment, within 7 days
            body = {"recipient": {"comment_id": comment_id}, "message": {"text": message.text}}
            sent = self._post(f"{self._account_id}/messages", body)
            return SendResult(external_id=_clean(sent.get("message_id"), 256))
        sent = self._post(self._reply_path(comment_id), {"message": message.text})
        note = self._hide(comment_id) if message.purpose == "move_to_dm" and self._settings.hide_after_move else None
        return SendResult(external_id=_id(sent.get("id")), note=note)

    def _direct_message(self, message: Outbound) -> SendResult:
        """Send API: `POST /{account}/messages` to the customer's scoped id, as a response within the 24 hours."""
        recipient = _id(message.author_id)
        if recipient is None:
            raise PermanentError(f"{message.author_id!r} is not a {self.label} user id")
        body = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": message.text}}
        sent = self._post(f"{self._account_id}/messages", body, dm=True)
        return SendResult(external_id=_clean(sent.get("message_id"), 256))

    def _reply_path(self, comment_id: str) -> str:
        raise NotImplementedError

    def _hide(self, comment_id: str) -> str:
        """The optional last step of Move to DM. The reply is already out, so a failure is only a note."""
        try:
            answer = self._post(comment_id, {self.hide_param: True})
        except ConnectorError as exc:
            logger.warning("could not hide %s comment %s: %s", self.name, comment_id, exc)
            return f"The comment could not be hidden on {self.label}: {exc}."
        if answer.get("success") is False:
            return f"The comment could not be hidden on {self.label}: it said no."
        return f"The comment is now hidden on {self.label}."

    def check(self) -> str:
        answer = self._get(self._account_id, self.check_field)
        return self._describe(_clean(answer.get(self.check_field), 256) or "(no name)")

    def _describe(self, name: str) -> str:
        raise NotImplementedError

    def profile(self, author_id: str) -> Author | None:
        """Who sent a private message, from Meta's User Profile API with the Page token: an `Author` with their
        name (and on Instagram their username as the handle), or None when Meta answers without either.

        Throttling and outages raise RateLimited and TransientError as every call here does. A refusal (the token
        lacks the permission, the person gave no consent or blocked the Page, an id Meta does not know) raises
        PermanentError: Meta's words, then the permission the lookup needs."""
        user = _id(author_id)
        if user is None:
            raise PermanentError(f"{author_id!r} is not a {self.label} user id")
        try:
            answer = self._get(user, self.profile_fields)
        except (AuthError, PermanentError) as exc:
            raise PermanentError(
                f"{exc}; {self.label} names the sender of a message only to a Page token with {self.profile_permission}"
            ) from None
        return self._person(user, answer)

    def _person(self, user: str, answer: dict[str, Any]) -> Author | None:
        raise NotImplementedError

    # -- Graph API ---------------------------------------------------------------------------------
    def _get(self, path: str, fields: str) -> dict[str, Any]:
        """A read, the Page token in the Authorization header (in a query string it would land in httpx's log)."""
        token = str(self._settings.page_token or "")
        return self._graph("GET", path, params={"fields": fields}, headers={"authorization": f"Bearer {token}"})

    def _post(self, path: str, body: dict[str, Any], *, dm: bool = False) -> dict[str, Any]:
        token = str(self._settings.page_token or "")
        return self._graph("POST", path, json={**body, "access_token": token}, dm=dm)

    def _graph(self, method: str, path: str, *, dm: bool = False, **kwargs: Any) -> dict[str, Any]:
        response = transport.call(
            self._client,
            method,
            f"{self._graph_url}/{path}",
            platform=self.label,
            wait_seconds=throttle_wait,
            classify=lambda answer: self._classify(answer, dm=dm),
            **kwargs,
        )
        answer = transport.json_body(response, platform=self.label)
        return answer if isinstance(answer, dict) else {}

    def _classify(self, response: httpx.Response, *, dm: bool = False) -> ConnectorError | None:
        """Meta's error body says more than its status: throttling, a dead token and the private-reply
        rules all arrive as HTTP 400 with a code. None leaves the status-based mapping to `transport.call`.
        `dm`: the call answered a customer's private message (the Send API's 24-hour window applies)."""
        try:
            error = _obj(_obj(response.json()).get("error"))
        except ValueError:
            error = {}
        code, subcode = _code(error.get("code")), _code(error.get("error_subcode"))
        message = str(error.get("message") or f"HTTP {response.status_code}")
        said = f"{message} (code {code})" if code is not None else message
        if response.status_code == 429 or code in THROTTLED:
            wait = throttle_wait(response)
            return RateLimited(f"{self.label} is rate limiting us ({said}); waiting {wait:.0f}s", retry_after=wait)
        if code == ALREADY_REPLIED:
            return PermanentError(
                f"{self.label} allows one private reply per comment, and this comment already has one ({said})"
            )
        if code == CANNOT_REPLY:
            return PermanentError(f"{self.label} does not let this person receive a private reply ({said})")
        if subcode == OUTSIDE_WINDOW_SUBCODE or (code == 10 and "window" in message.lower()):
            if dm:
                return PermanentError(
                    f"{self.label} accepts a message only within 24 hours of the customer's last message ({said})"
                )
            return PermanentError(f"{self.label} accepts a private reply only within 7 days of a comment ({said})")
        if code == NOT_AVAILABLE:
            return PermanentError(f"{self.label} says this person cannot receive messages from us now ({said})")
        if code in TOKEN_REFUSED:
            return AuthError(f"{self.label} refused the Page token, check META_PAGE_TOKEN ({said})")
        if code in PERMISSION_CODES:
            return AuthError(f"{self.label} says the Page token lacks a permission ({said})")
        if error.get("is_transient") is True or code in TEMPORARY_CODES:
            return TransientError(f"{self.label} had a temporary problem ({said})")
        return None


class FacebookConnector(MetaConnector):
    """A Facebook Page: `feed` changes for comments; replies and private replies as the Page."""

    name = "facebook"
    label = "Facebook"
    webhook_object = "page"
    webhook_field = "feed"
    check_field = "name"
    hide_param = "is_hidden"
    # Messenger's User Profile API: https://developers.facebook.com/docs/messenger-platform/identity/user-profile
    profile_fields = "first_name,last_name"
    profile_permission = "pages_messaging (and, for a Business app, Meta's Business Asset User Profile Access feature)"

    def __init__(self, settings: MetaSettings, client: httpx.Client) -> None:
        super().__init__(settings, client, account_id=str(settings.page_id))

    def _change(self, value: dict[str, Any], when: datetime | None) -> Change | None:
        if value.get("item") != "comment":
            return None  # posts, reactions, shares: nothing a customer asked us
        comment_id = _id(value.get("comment_id"))
        sender = _obj(value.get("from"))
        author_id = _id(sender.get("id"))
        if author_id == self._account_id:
            return None  # the Page's own comment, e.g. our reply coming back
        verb = value.get("verb")
        if comment_id is None or not isinstance(verb, str):
            self._unknown(value)
            return None
        text = _clean(value.get("message"))
        if verb in ("edited", "edit"):
            if text is None:
                self._unknown(value)
                return None
            return MentionEdited(self.name, comment_id, text, edited_at=when or datetime.now(UTC))
        if verb in ("remove", "delete"):
            return MentionDeleted(self.name, comment_id, deleted_at=when or datetime.now(UTC))
        if verb != "add":
            return None  # hide, unhide, block...: moderation, not news
        name = _clean(sender.get("name"), 256)
        author_id = author_id or f"unknown-{comment_id}"  # no `from` without the needed permission: one case each
        extra = _present(post_id=_id(value.get("post_id")), parent_id=_id(value.get("parent_id")))
        return InboundMention(
            platform=self.name,
            external_id=comment_id,
            author=Author(id=author_id, handle=author_id, name=name),
            text=text or ("(a photo)" if value.get("photo") else "(no text)"),
            posted_at=_timestamp(value.get("created_time")) or when or datetime.now(UTC),
            url=_permalink(value, comment_id),
            extra=extra,
        )

    def _reply_path(self, comment_id: str) -> str:
        return f"{comment_id}/comments"

    def _describe(self, name: str) -> str:
        return f"Page {name!r} ({self._account_id})"

    def _person(self, user: str, answer: dict[str, Any]) -> Author | None:
        """`{"first_name", "last_name", "id"}`: the name is both; the handle stays the id (Meta gives no other)."""
        name = " ".join(filter(None, (_name(answer.get("first_name"), 128), _name(answer.get("last_name"), 128))))
        return Author(id=user, handle=user, name=name) if name else None


def _permalink(value: dict[str, Any], comment_id: str) -> str | None:
    """The comment's address: the post's permalink if Meta sent it, else built from `PAGEID_POSTID`."""
    comment = comment_id.rsplit("_", 1)[-1]
    base = _obj(value.get("post")).get("permalink_url")
    if isinstance(base, str) and base.startswith("https://") and len(base) < 1900 and " " not in base:
        return f"{base}{'&' if '?' in base else '?'}comment_id={comment}"
    post_id = _id(value.get("post_id"))
    if post_id and "_" in post_id:
        page, post = post_id.split("_", 1)
        return f"https://www.facebook.com/{page}/posts/{post}?comment_id={comment}"
    return None


class InstagramConnector(MetaConnector):
    """An Instagram business account linked to the Page: `comments` changes; replies as the account."""

    name = "instagram"
    label = "Instagram"
    webhook_object = "instagram"
    webhook_field = "comments"
    check_field = "username"
    hide_param = "hide"
    # Instagram's User Profile API, with the Page token:
    # https://developers.facebook.com/docs/messenger-platform/instagram/features/user-profile
    profile_fields = "name,username"
    profile_permission = "instagram_manage_messages (with instagram_basic and pages_manage_metadata)"

    def __init__(self, settings: MetaSettings, client: httpx.Client) -> None:
        super().__init__(settings, client, account_id=str(settings.ig_account_id))

    def _change(self, value: dict[str, Any], when: datetime | None) -> Change | None:
        comment_id = _id(value.get("id"))
        sender = _obj(value.get("from"))
        author_id = _id(sender.get("id"))
        if comment_id is None or author_id is None:
            self._unknown(value)
            return None
        if author_id == self._account_id:
            return None  # our own comment or reply, delivered back to us
        username = _clean(sender.get("username"), 128)
        media = _obj(value.get("media"))
        extra = _present(
            media_id=_id(media.get("id")),
            parent_id=_id(value.get("parent_id")),
            media_product_type=_clean(media.get("media_product_type"), 32),
        )
        return InboundMention(
            platform=self.name,
            external_id=comment_id,
            author=Author(id=author_id, handle=username or author_id),
            text=_clean(value.get("text")) or "(no text)",
            posted_at=when or datetime.now(UTC),  # the value has no time; the entry says when it happened
            url=None,  # a permalink needs a Graph call; never inside a webhook request
            extra=extra,
        )

    def _reply_path(self, comment_id: str) -> str:
        return f"{comment_id}/replies"

    def _describe(self, name: str) -> str:
        return f"@{name} ({self._account_id})"

    def _person(self, user: str, answer: dict[str, Any]) -> Author | None:
        """`{"name", "username", "id"}`: the username is the handle; `name` may be missing (not set)."""
        name, username = _name(answer.get("name")), answer.get("username")
        handle = username if isinstance(username, str) and _USERNAME.fullmatch(username) else None
        return Author(id=user, handle=handle or user, name=name) if name or handle else None


def build_facebook(platforms: PlatformSettings, client: httpx.Client) -> FacebookConnector:
    return FacebookConnector(platforms.meta, client)


def build_instagram(platforms: PlatformSettings, client: httpx.Client) -> InstagramConnector:
    return InstagramConnector(platforms.meta, client)
