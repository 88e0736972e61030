"""The connector contract every platform implements, and the neutral values that cross it.

Platform JSON never leaves `connectors/`: a connector turns inbound bodies into `InboundMention`s and
sends `Outbound` messages, raising the errors of `bot.errors` so callers can tell a retry from a refusal.
What a connector needs from the app (a place for credentials that rotate) it is handed, as a
`CredentialStore`: connectors never touch the app's database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from connectors import x_text

Visibility = Literal["public", "private"]
# A connector's first poll (no cursor yet) brings in only the newest matches, whatever their age: the team sees
# what is waiting, and turning a connector on does not flood the channel with a platform's history.
FIRST_POLL_LIMIT = 20


@dataclass(frozen=True)
class Author:
    id: str
    handle: str
    name: str | None = None

    @property
    def first_name(self) -> str:
        """What a human would call them: the first word of their name, else their handle."""
        if self.name and self.name.strip():
            return self.name.strip().split()[0]
        return self.handle.lstrip("@")


@dataclass(frozen=True)
class InboundMention:
    platform: str
    external_id: str
    author: Author
    text: str
    posted_at: datetime
    url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # A message the customer sent the brand privately (a DM), not a public post. `extra` then carries what a
    # private reply into that conversation needs (DM_CONTEXT, and e.g. the conversation id).
    private: bool = False


# The key a connector sets (True) in a private message's `extra`: a private reply to it goes into the customer's
# DM conversation (Outbound.into_conversation), not as a private reply to a public post.
DM_CONTEXT = "dm"


@dataclass(frozen=True)
class MentionEdited:
    """The customer edited a post we already hold: the mention's text (and `extra`) replaced, the thread told."""

    platform: str
    external_id: str
    text: str
    edited_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict)  # facts reported anew, e.g. a review's new stars


@dataclass(frozen=True)
class MentionDeleted:
    """The customer (or a moderator) deleted a post: noted in the thread; the case is kept."""

    platform: str
    external_id: str
    deleted_at: datetime


Change = InboundMention | MentionEdited | MentionDeleted


@dataclass(frozen=True)
class PollResult:
    """What one poll found, and the cursor to persist with it (in the same transaction as the mentions)."""

    changes: Sequence[Change]
    cursor: str | None


@dataclass(frozen=True)
class Outbound:
    """One message to a customer. `in_reply_to` is the platform id of the post being answered."""

    platform: str
    in_reply_to: str
    author_id: str
    text: str
    visibility: Visibility = "public"
    idempotency_key: str | None = None  # stable across retries, so a receiver can drop a repeat
    context: Mapping[str, Any] = field(default_factory=dict)  # the answered mention's `extra` (e.g. media id)
    purpose: str = "reply"  # "reply", "move_to_dm" or "private_message"

    @property
    def into_conversation(self) -> bool:
        """A private message answering the customer's own private message: it goes into their DM conversation."""
        return self.visibility == "private" and self.context.get(DM_CONTEXT) is True


@dataclass(frozen=True)
class SendResult:
    external_id: str | None = None
    note: str | None = None  # something staff should read in the thread (e.g. "the comment is now hidden")


@dataclass(frozen=True)
class LengthRule:
    """How much a platform takes in one message, and how it measures it: characters (code points) here.

    `describe()` is what staff are told about the counting where the limit is stated (the Reply modal);
    `problem()` is the sentence shown when a text does not fit.
    """

    limit: int
    unit: ClassVar[str] = "characters"

    def count(self, text: str) -> int:
        return len(text)

    def describe(self) -> str:
        """How this platform counts, for staff beside "up to {limit} {unit}"; empty when it is plain counting."""
        return ""

    def problem(self, text: str) -> str | None:
        used = self.count(text)
        if used > self.limit:
            return (
                f"That is {used} {self.unit}; the limit here is {self.limit}. Please shorten it by {used - self.limit}."
            )
        return None


@dataclass(frozen=True)
class Utf8LengthRule(LengthRule):
    """A limit in bytes of UTF-8 (Google's review replies, Instagram's messages): an accented letter takes 2, an
    emoji 4, a Chinese or Japanese character 3."""

    unit: ClassVar[str] = "bytes"

    def count(self, text: str) -> int:
        return len(text.encode("utf-8"))

    def describe(self) -> str:
        return "Counted in bytes: accented letters take 2, most emoji 4."

    def problem(self, text: str) -> str | None:
        used = self.count(text)
        if used > self.limit:
            return (
                f"That is {used} bytes; the limit here is {self.limit} (accented letters take 2 bytes, most emoji 4). "
                f"Please shorten it by {used - self.limit}."
            )
        return None


@dataclass(frozen=True)
class XLengthRule(LengthRule):
    """X's weighted count (twitter-text, config v3; see connectors/x_text.py): a link weighs 23 whatever its
    length, bare domains such as example.com included; an emoji or a CJK character 2; Latin and most other
    scripts 1. The limit is on that count (280 for a post)."""

    def count(self, text: str) -> int:
        return x_text.weighted_length(text)

    def describe(self) -> str:
        return "X counts links as 23 and emoji/CJK as 2."

    def problem(self, text: str) -> str | None:
        used = self.count(text)
        if used > self.limit:
            return (
                f"X counts this as {used} characters; the limit here is {self.limit} (links count 23, emoji and CJK "
                f"characters count 2). Please shorten it by {used - self.limit}."
            )
        if any(ch in text for ch in x_text.INVALID_CHARACTERS):  # often pasted along from elsewhere
            return "X refuses text with an invisible U+FEFF, U+FFFE or U+FFFF character in it: please remove it."
        return None


# What each platform takes in a public reply, in one table so the Reply modal and the senders agree.
PLATFORM_RULES: dict[str, LengthRule] = {
    # twitter-text's config/v3.json (maxWeightedTweetLength 280, weighted as XLengthRule says):
    # https://github.com/twitter/twitter-text/blob/master/config/v3.json
    # https://docs.x.com/fundamentals/counting-characters
    "twitter": XLengthRule(280),
    "x": XLengthRule(280),
    # A comment on a Page post. Meta's Graph API reference documents no limit for `message`
    # (https://developers.facebook.com/docs/graph-api/reference/object/comments/); 8,000 characters is the
    # limit of Facebook's comment box, as third-party references give it.
    "facebook": LengthRule(8000),
    # A reply to a comment (POST /{ig-comment-id}/replies, whose reference documents no limit:
    # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies).
    # 2,200 characters is what Meta documents for a caption ("Maximum 2200 characters, 30 hashtags, and 20 @
    # tags": https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media);
    # third-party references give 2,200 for a comment too (some say 1,000).
    "instagram": LengthRule(2200),
    # POST /api/comment: comment=VMarkdownLength(['text', 'comment'], max_length=10000) in
    # https://github.com/reddit-archive/reddit/blob/master/r2/r2/controllers/api.py
    "reddit": LengthRule(10000),
    # ReviewReply.comment: "The maximum length is 4096 bytes."
    # https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews#ReviewReply
    "google": Utf8LengthRule(4096),
    # Not checked against Trustpilot's documentation (it arrives through the generic connector).
    "trustpilot": LengthRule(2048),
}
# What each platform takes in a private message.
PRIVATE_RULES: dict[str, LengthRule] = {
    # X's Direct Message endpoints (POST /2/dm_conversations/…/messages): "Text messages support up to 10,000
    # characters." https://developer.x.com/en/docs/twitter-api/direct-messages/manage/api-reference/post-dm_conversations-dm_conversation_id-messages
    "twitter": LengthRule(10000),
    "x": LengthRule(10000),
    # Send API, message.text (a private reply to a comment is a Messenger message): "Must be UTF-8 and has a
    # 2000 character limit." https://developers.facebook.com/docs/messenger-platform/reference/send-api/
    "facebook": LengthRule(2000),
    # "Message text must be UTF-8 and be a 1000 bytes or less."
    # https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message
    "instagram": Utf8LengthRule(1000),
    # POST /api/compose: body=VMarkdownLength(['text', 'message'], max_length=10000) in
    # https://github.com/reddit-archive/reddit/blob/master/r2/r2/controllers/api.py
    "reddit": LengthRule(10000),
}
DEFAULT_RULE = LengthRule(2000)


def rule_for(platform: str, private: bool = False) -> LengthRule:
    """The limit of a public reply on `platform`, or with `private` of a private message (as far as known)."""
    rules = PRIVATE_RULES if private else PLATFORM_RULES
    return rules.get(platform.lower(), DEFAULT_RULE)


@dataclass(frozen=True)
class OAuthTokens:
    """A connector's OAuth tokens as kept between processes: the refresh token, and the access token it bought."""

    refresh_token: str
    access_token: str | None = None
    expires_at: datetime | None = None


class CredentialStoreError(Exception):
    """The credential store could not be read or written (its database is away); the message names why."""


class CredentialStore(Protocol):
    """Where a connector keeps credentials that rotate (X's single-use refresh token), shared by every process.

    The tokens form a chain that starts at the refresh token the operator configured: each refresh spends
    the newest and yields the next, and every process and restart must continue from the newest. When the
    operator re-authorizes and configures a different refresh token, that starts a new chain, replacing the
    stored one. Both methods raise CredentialStoreError when the store cannot be read or written.
    """

    def renew(self, connector: str, *, configured: str, refresh: Callable[[OAuthTokens], OAuthTokens]) -> OAuthTokens:
        """Lock `connector`'s tokens, hand the newest of `configured`'s chain to `refresh`, keep what it returns.

        The lock is held across `refresh` (which calls the platform), so two processes never both spend a
        single-use refresh token: the one that waited is handed the winner's tokens and may adopt them, by
        returning them unchanged (then nothing is written). If `refresh` raises, nothing is written and the
        error propagates as it is.
        """
        ...

    def save(self, connector: str, *, configured: str, tokens: OAuthTokens) -> None:
        """Keep `tokens` as the newest of `configured`'s chain (renewed while the store could not be written)."""
        ...


class Connector(Protocol):
    """What the core needs from every platform: how to answer, how long an answer may be."""

    name: str

    def length_rule(self, platform: str, private: bool = False) -> LengthRule: ...

    def can_message_privately(self, platform: str) -> bool: ...

    def send(self, message: Outbound) -> SendResult:
        """Deliver to the customer. Raises TransientError (retry), RateLimited, PermanentError or AuthError."""
        ...


@runtime_checkable
class PollingConnector(Protocol):
    """A platform we ask for news: every `poll_seconds`, from the persisted cursor, with no gap."""

    name: str
    poll_seconds: float

    def poll(self, cursor: str | None) -> PollResult:
        """Everything new since `cursor` (all pages), oldest first. Raises the ConnectorError kinds."""
        ...


@runtime_checkable
class WebhookConnector(Protocol):
    """A platform that pushes to `/webhooks/<name>`: verify, then parse into changes."""

    name: str
    max_body_bytes: int

    def challenge(self, params: Mapping[str, str]) -> str | None:
        """The body to answer a subscription check (GET) with, or None to refuse it (403)."""
        ...

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Constant-time signature check of the raw body."""
        ...

    def parse(self, body: bytes) -> list[Change]:
        """Changes we act on; shapes we do not know are logged and skipped, never an error."""
        ...


@runtime_checkable
class ProfileConnector(Protocol):
    """A platform whose private messages name their sender only by an id, and which can be asked for the name."""

    name: str

    def profile(self, author_id: str) -> Author | None:
        """Who `author_id` is (their name, a better handle), or None when the platform answers without one.

        Called by the outbox's platform lane, never inside a webhook request. Raises TransientError (retry) or
        RateLimited; a refusal (a permission missing, a person it will not name) is a PermanentError whose
        message says what the platform said and what it needs."""
        ...


class PlatformConnector:
    """Defaults shared by the platform connectors; each overrides what its platform does differently."""

    name = ""
    private_messages = False

    def length_rule(self, platform: str, private: bool = False) -> LengthRule:
        return rule_for(platform, private)

    def can_message_privately(self, platform: str) -> bool:
        return self.private_messages

    def private_message_problem(
        self, posted_at: datetime, now: datetime, *, dm: bool = False, already_sent: bool = False
    ) -> str | None:
        """Why a private message about a post of `posted_at` is not possible any more (None if it is).

        With `dm`, the message answers the customer's own private message and `posted_at` is when they last wrote
        privately (Case.last_private_at): some platforms take such a reply only for a while after it.
        `already_sent`: a private message about this very post went before (Meta takes one per comment)."""
        return None

    def check(self) -> str:
        """Call one cheap authenticated endpoint; return what it says (e.g. the account name) or raise."""
        raise NotImplementedError

    def send(self, message: Outbound) -> SendResult:  # pragma: no cover - every platform overrides it
        raise NotImplementedError
