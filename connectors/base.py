"""The connector contract every platform implements, and the neutral values that cross it.

Platform JSON never leaves `connectors/`: a connector turns inbound bodies into `InboundMention`s and
sends `Outbound` messages, raising the errors of `bot.errors` so callers can tell a retry from a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Visibility = Literal["public", "private"]


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
class Outbound:
    """One message to a customer. `in_reply_to` is the platform id of the post being answered."""

    platform: str
    in_reply_to: str
    author_id: str
    text: str
    visibility: Visibility = "public"
    idempotency_key: str | None = None  # stable across retries, so a receiver can drop a repeat


@dataclass(frozen=True)
class SendResult:
    external_id: str | None = None


@dataclass(frozen=True)
class LengthRule:
    """A platform's reply limit; `count` lets platforms such as X weigh links differently."""

    limit: int

    def count(self, text: str) -> int:
        return len(text)

    def problem(self, text: str) -> str | None:
        used = self.count(text)
        if used > self.limit:
            return f"That is {used} characters; the limit here is {self.limit}. Please shorten it by {used - self.limit}."
        return None


class Connector(Protocol):
    """What the core needs from a platform."""

    name: str

    def length_rule(self, platform: str) -> LengthRule: ...

    def can_message_privately(self, platform: str) -> bool: ...

    def send(self, message: Outbound) -> SendResult:
        """Deliver to the customer. Raises TransientError (retry), PermanentError or AuthError."""
        ...
