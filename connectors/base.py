"""The connector contract every platform implements, and the neutral values that cross it.

Platform JSON never leaves `connectors/`: a connector turns inbound bodies into `InboundMention`s and
sends `Outbound` messages, raising the errors of `bot.errors` so callers can tell a retry from a refusal.
What a connector needs from the app (a place for credentials that rotate) it is handed, as a
`CredentialStore`: connectors never touch the app's database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

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


@dataclass(frozen=True)
class SendResult:
    external_id: str | None = None
    note: str | None = None  # something staff should read in the thread (e.g. "the comment is now hidden")


@dataclass(frozen=True)
class LengthRule:
    """A platform's reply limit; `count` lets platforms such as X weigh links differently."""

    limit: int

    def count(self, text: str) -> int:
        return len(text)

    def problem(self, text: str) -> str | None:
        used = self.count(text)
        if used > self.limit:
            return (
                f"That is {used} characters; the limit here is {self.limit}. Please shorten it by {used - self.limit}."
            )
        return None


_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class XLengthRule(LengthRule):
    """X counts every link as 23 characters (t.co wrapping), whatever its real length."""

    link_weight: int = 23

    def count(self, text: str) -> int:
        links = _URL.findall(text)
        return len(_URL.sub("", text)) + self.link_weight * len(links)


# The platforms' reply limits, in one table so the Reply modal and the senders agree.
PLATFORM_RULES: dict[str, LengthRule] = {
    "twitter": XLengthRule(280),
    "x": XLengthRule(280),
    "facebook": LengthRule(8000),
    "instagram": LengthRule(2200),
    "reddit": LengthRule(10000),
    "google": LengthRule(4096),
    "trustpilot": LengthRule(2048),
}
DEFAULT_RULE = LengthRule(2000)


def rule_for(platform: str) -> LengthRule:
    return PLATFORM_RULES.get(platform.lower(), DEFAULT_RULE)


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

    def length_rule(self, platform: str) -> LengthRule: ...

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


class PlatformConnector:
    """Defaults shared by the platform connectors; each overrides what its platform does differently."""

    name = ""
    private_messages = False

    def length_rule(self, platform: str) -> LengthRule:
        return rule_for(platform)

    def can_message_privately(self, platform: str) -> bool:
        return self.private_messages

    def private_message_problem(self, posted_at: datetime, now: datetime) -> str | None:
        """Why a private message about a post of `posted_at` is not possible any more (None if it is)."""
        return None

    def check(self) -> str:
        """Call one cheap authenticated endpoint; return what it says (e.g. the account name) or raise."""
        raise NotImplementedError

    def send(self, message: Outbound) -> SendResult:  # pragma: no cover - every platform overrides it
        raise NotImplementedError
