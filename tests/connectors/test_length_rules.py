"""Each platform's limit on what we send, public reply or private message, and how it is told to staff."""

from __future__ import annotations

import pytest

from connectors.base import (
    DEFAULT_RULE,
    PLATFORM_RULES,
    PRIVATE_RULES,
    LengthRule,
    Utf8LengthRule,
    XLengthRule,
    rule_for,
)


@pytest.mark.parametrize(
    ("platform", "kind", "limit"),
    [
        ("x", XLengthRule, 280),
        ("twitter", XLengthRule, 280),
        ("facebook", LengthRule, 8000),
        ("instagram", LengthRule, 2200),
        ("reddit", LengthRule, 10000),
        ("google", Utf8LengthRule, 4096),
    ],
)
def test_public_reply_limits(platform: str, kind: type[LengthRule], limit: int) -> None:
    rule = rule_for(platform)
    assert type(rule) is kind and rule.limit == limit
    assert rule_for(platform.upper()) == rule


@pytest.mark.parametrize(
    ("platform", "kind", "limit"),
    [
        ("x", LengthRule, 10000),
        ("twitter", LengthRule, 10000),
        ("facebook", LengthRule, 2000),
        ("instagram", Utf8LengthRule, 1000),
        ("reddit", LengthRule, 10000),
    ],
)
def test_private_message_limits(platform: str, kind: type[LengthRule], limit: int) -> None:
    rule = rule_for(platform, private=True)
    assert type(rule) is kind and rule.limit == limit


def test_a_platform_we_do_not_know_gets_the_default() -> None:
    assert rule_for("mastodon") is DEFAULT_RULE and rule_for("mastodon", private=True) is DEFAULT_RULE
    assert rule_for("google", private=True) is DEFAULT_RULE  # Google has no private messages
    assert set(PRIVATE_RULES) <= set(PLATFORM_RULES)


def test_an_x_direct_message_is_counted_in_plain_characters() -> None:
    """The weighting is for posts; a DM's 10,000 is plain characters."""
    dm = rule_for("x", private=True)
    assert dm.count("😷" * 10) == 10 and dm.problem("😷" * 10000) is None


def test_characters_are_counted_as_characters() -> None:
    rule = rule_for("facebook", private=True)
    assert rule.count("é😷") == 2 and rule.describe() == ""
    assert rule.problem("x" * 2000) is None
    assert rule.problem("x" * 2001) == "That is 2001 characters; the limit here is 2000. Please shorten it by 1."


def test_bytes_are_counted_as_utf8() -> None:
    rule = rule_for("instagram", private=True)
    assert rule.count("aé😷故") == 1 + 2 + 4 + 3
    assert rule.problem("é" * 500) is None
    assert rule.problem("é" * 501) == (
        "That is 1002 bytes; the limit here is 1000 (accented letters take 2 bytes, most emoji 4). "
        "Please shorten it by 2."
    )
    assert rule.describe() == "Counted in bytes: accented letters take 2, most emoji 4."


def test_each_rule_names_its_unit() -> None:
    assert (LengthRule.unit, Utf8LengthRule.unit, XLengthRule.unit) == ("characters", "bytes", "characters")


def test_x_describes_its_weighting_and_the_others_count_plainly() -> None:
    assert rule_for("x").describe() == "X counts links as 23 and emoji/CJK as 2."
    assert rule_for("reddit").describe() == "" and rule_for("google").describe().startswith("Counted in bytes")
