"""Reply length rules of the platforms, in one table so the Reply modal and the senders agree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.base import LengthRule

_URL = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class XLengthRule(LengthRule):
    """X counts every link as 23 characters (t.co wrapping), whatever its real length."""

    link_weight: int = 23

    def count(self, text: str) -> int:
        links = _URL.findall(text)
        return len(_URL.sub("", text)) + self.link_weight * len(links)


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
