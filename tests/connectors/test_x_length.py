"""X's weighted length (connectors/x_text.py) against twitter-text's own conformance vectors, and the cases a
care team meets: emoji, CJK, links with and without a protocol.

The vectors are tests/fixtures/x/twitter_text_validate.yml, copied from twitter-text 3.1.0 with its config files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from connectors import x_text
from connectors.base import XLengthRule, rule_for

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "x" / "twitter_text_validate.yml"
with FIXTURE.open(encoding="utf-8") as _file:
    CONFORMANCE: dict[str, Any] = yaml.safe_load(_file)

# twitter-text's runners weigh this section with config v2 (no emoji parsing), the others with v3 (the default)
SECTION_CONFIG = {"WeightedTweetsCounterTest": "v2"}


def config(name: str) -> x_text.Config:
    raw = CONFORMANCE["configs"][name]
    return x_text.Config(
        max_weighted_length=raw["maxWeightedTweetLength"],
        scale=raw["scale"],
        default_weight=raw["defaultWeight"],
        transformed_url_length=raw["transformedURLLength"],
        emoji_parsing=raw.get("emojiParsingEnabled", False),
        ranges=tuple(x_text.WeightedRange(r["start"], r["end"], r["weight"]) for r in raw["ranges"]),
    )


def vectors(sections: dict[str, list[dict[str, Any]]]) -> list[Any]:
    return [
        pytest.param(section, case, id=f"{section}: {case['description']}")
        for section, cases in sections.items()
        for case in cases
    ]


def test_our_default_configuration_is_twitter_texts_v3() -> None:
    assert config("v3") == x_text.V3


@pytest.mark.parametrize(("section", "case"), vectors(CONFORMANCE["tests"]))
def test_conformance_weighted_length(section: str, case: dict[str, Any]) -> None:
    result = x_text.parse(case["text"], config(SECTION_CONFIG.get(section, "v3")))
    assert {
        "weightedLength": result.weighted_length,
        "valid": result.valid,
        "permillage": result.permillage,
        "displayRangeStart": result.display_range[0],
        "displayRangeEnd": result.display_range[1],
        "validRangeStart": result.valid_range[0],
        "validRangeEnd": result.valid_range[1],
    } == case["expected"]


def links(text: str) -> list[str]:
    return [text[start:end] for start, end in x_text.link_spans(text)]


@pytest.mark.parametrize(("section", "case"), vectors(CONFORMANCE["extract"]))
def test_conformance_link_extraction(section: str, case: dict[str, Any]) -> None:
    """Which links weigh 23: extractUrls (a list of links) and extractUrlsWithIndices (with code point offsets)."""
    expected = case["expected"]
    if expected and isinstance(expected[0], dict):
        found = [
            {"url": case["text"][start:end], "indices": [start, end]} for start, end in x_text.link_spans(case["text"])
        ]
        assert found == expected
    else:
        assert links(case["text"]) == expected


def test_the_conformance_file_holds_every_vector_of_its_sections() -> None:
    """A guard against a truncated copy: the counts of twitter-text 3.1.0."""
    assert {name: len(cases) for name, cases in CONFORMANCE["tests"].items()} == {
        "WeightedTweetsCounterTest": 20,
        "WeightedTweetsWithDiscountedEmojiCounterTest": 22,
        "UnicodeDirectionalMarkerCounterTest": 2,
    }
    assert sum(len(cases) for cases in CONFORMANCE["extract"].values()) == 108


# -- what a care team writes ------------------------------------------------------------------------------------
RULE = rule_for("x")


def test_200_emoji_count_400_and_are_refused() -> None:
    assert RULE.count("😷" * 200) == 400
    assert "X counts this as 400 characters" in (RULE.problem("😷" * 200) or "")


def test_200_cjk_characters_count_400_and_are_refused() -> None:
    assert RULE.count("故" * 200) == 400
    assert RULE.problem("故" * 200) is not None


def test_140_cjk_characters_count_280_and_fit() -> None:
    assert RULE.count("故" * 140) == 280 and RULE.problem("故" * 140) is None
    assert RULE.problem("故" * 140 + "a") is not None


def test_a_long_link_counts_23() -> None:
    link = "https://www.example.com/orders/123456789/refund?reason=late&note=" + "x" * 200
    assert RULE.count(link) == 23
    assert RULE.count(f"Track it here: {link} thanks") == len("Track it here:  thanks") + 23


def test_a_bare_domain_counts_23_like_a_link() -> None:
    assert RULE.count("example.com") == 23
    assert RULE.count("see example.com/help.") == len("see .") + 23  # the final period is not part of the link
    assert RULE.count("example.notatld") == len("example.notatld")  # not a domain: its characters count


def test_emoji_sequences_count_2_each() -> None:
    family, skin_tone, flag, keycap = "👨‍👩‍👧‍👦", "🙋🏽", "🇫🇷", "1️⃣"
    for emoji in (family, skin_tone, flag, keycap):
        assert RULE.count(emoji) == 2, emoji
    assert RULE.count(family * 140) == 280 and RULE.problem(family * 140) is None


def test_text_is_counted_once_normalised() -> None:
    assert RULE.count("cafe\u0301") == RULE.count("café") == 4


def test_latin_cyrillic_and_arabic_letters_count_1_and_hangul_2() -> None:
    assert RULE.count("Привет مرحبا") == 12
    assert RULE.count("안녕") == 4


def test_an_invisible_character_x_refuses_is_named() -> None:
    assert "U+FEFF" in (RULE.problem("Sorry about that\ufeff") or "")


def test_the_refusal_says_how_x_counts() -> None:
    problem = RULE.problem("a" * 270 + " 😷😷😷😷😷")
    assert problem == (
        "X counts this as 281 characters; the limit here is 280 (links count 23, emoji and CJK characters count 2). "
        "Please shorten it by 1."
    )
    assert XLengthRule(280).describe() == "X counts links as 23 and emoji/CJK as 2."


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=".")))
def test_ascii_without_a_dot_counts_one_per_character(text: str) -> None:
    """No dot, no link: every printable ASCII character weighs 1."""
    assert x_text.weighted_length(text) == len(text)


@given(st.text(max_size=300))
def test_any_text_is_weighed_without_error(text: str) -> None:
    result = x_text.parse(text)
    assert result.weighted_length >= 0 and result.display_range[1] >= result.valid_range[1]
