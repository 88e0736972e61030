"""The triage policy file: the shipped default, what a team can tune, and every mistake refused in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.services import triage, triage_policy

GOOD = """
format = 1
[score]
bias = -2.0
tone = 1.0
needs_reply = 0.5
high = 0.9
[cues.refund]
label = "a refund"
weight = 3.0
words = ["refund*", "money back"]
[cues.vip]
label = "a VIP"
weight = 0.5
priority = "urgent"
words = ["platinum member"]
[cues.question]
label = "a question to us"
quote = false
weight = 2.0
patterns = ['\\?']
[cues.thanks]
weight = -1.0
kind = "praise"
words = ["thank*"]
[cues.rude]
weight = -1.0
kind = "troll"
words = ["idiot*"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_default_loads_and_names_every_cue_group_the_issue_asks_for() -> None:
    names = {cue.name for cue in triage_policy.default().cues}
    for group in ("refund", "delay", "lost", "billing", "accessibility", "safety_legal", "question", "praise", "abuse"):
        assert group in names
    assert triage_policy.current() == triage_policy.default()  # nothing installed: the default is in force


def test_a_teams_file_decides_scores_priorities_and_reasons(tmp_path: Path) -> None:
    policy = triage_policy.load(write(tmp_path, GOOD))
    refund = policy.assess("I want my money back")
    assert (refund.needs_reply, refund.priority) == (True, "normal")  # -2 + 3 = 1: 0.73, below high
    assert refund.reason == "Normal · needs a reply: 'money back' · tone calm"
    both = policy.assess("Refunded? When?")
    assert both.priority == "high" and both.score >= 0.9
    assert both.reason.startswith("High · needs a reply: 'refunded', a question to us")  # a stem, a label
    assert policy.assess("As a platinum member I expected better").priority == "urgent"  # a floor
    plain = policy.assess("nice weather")
    assert (plain.needs_reply, plain.priority, plain.reason) == (False, "low", "Low · no reply needed · tone positive")
    with triage_policy.using(policy):
        assert triage_policy.assess("refund please").needs_reply
    assert triage_policy.current() == triage_policy.default()  # and the default is back


def test_words_match_whole_words_stems_and_phrases_across_spacing_and_case(tmp_path: Path) -> None:
    policy = triage_policy.load(write(tmp_path, GOOD))
    assert [c.name for c, _ in policy.matched("MONEY   BACK now")] == ["refund"]
    assert policy.matched("a refundable ticket")[0][1] == "refundable"  # refund* takes any ending
    assert policy.matched("moneyback") == []  # a phrase is its words, not the letters run together
    assert [c.name for c, _ in policy.matched("thanks, idiots")] == ["thanks", "rude"]
    late = triage_policy.default()
    assert "delay" not in [c.name for c, _ in late.matched("chocolate cake")]  # "late" is a word, not letters
    assert "delay" in [c.name for c, _ in late.matched("my flight is late")]
    assert [w for c, w in late.matched("where’s my bag") if c.name == "lost"] == ["where's my"]  # curly apostrophe


def test_praise_and_trolls_are_named_and_a_complaint_with_abuse_is_still_a_complaint() -> None:
    praise = triage_policy.assess("Thank you so much, the crew was wonderful!")
    assert (praise.kind, praise.needs_reply, praise.priority) == (triage.PRAISE, False, "low")
    assert praise.reason.startswith("Low · praise: 'thank'")
    troll = triage_policy.assess("you idiots")
    assert troll.kind == triage.TROLL
    assert "looks like a troll ('idiots'): no reply needed?" in troll.reason
    angry = triage_policy.assess("you idiots lost my bag")
    assert angry.kind == "" and angry.needs_reply and "'lost'" in angry.reason


def test_a_complaint_is_never_called_positive_whatever_vader_says() -> None:
    text = "wifi never worked on my flight. Refund please?"
    assert triage.sentiment(text) > 0  # VADER reads it as friendly
    verdict = triage_policy.assess(text)
    assert verdict.needs_reply and "positive" not in verdict.reason and "+0." not in verdict.reason
    assert verdict.reason.endswith("tone calm")
    assert triage.tone_words(0.7, needs_reply=False) == "very positive"
    assert triage.tone_words(-0.7, needs_reply=True) == "very negative"


def test_a_low_star_review_is_high_and_says_so() -> None:
    verdict = triage_policy.assess("Lovely staff, great coffee.", stars=1)
    assert verdict.priority == "high" and verdict.needs_reply
    assert verdict.reason.startswith("High · needs a reply: a 1-star review")


def test_hostile_text_keeps_the_reason_short() -> None:
    verdict = triage_policy.assess("refund" + "d" * 5000 + " now?")
    assert len(verdict.reason) < 200
    assert "'refund" in verdict.reason and "…'" in verdict.reason
    assert 0.0 <= verdict.score <= 1.0


BAD = [
    ("format = 2", "format must be 1"),
    ("format = 1\n[score]\nneeds_reply = 1.5", "[score] needs_reply must be between 0 and 1"),
    ("format = 1\n[score]\nneeds_reply = 0.8\nhigh = 0.6", "[score] high (0.6) must not be below needs_reply (0.8)"),
    ("format = 1\n[score]\nbias = 'low'", "[score] bias must be a number"),
    ("format = 1\n[score]\nthreshold = 0.5", "[score] has an unknown setting 'threshold'"),
    ("format = 1\n[stars]\nhigh_at_most = 9", "[stars] high_at_most must be a whole number of stars from 0 to 5"),
    ("format = 1\n[cues.refund]\nwieght = 2\nwords = ['refund']", "[cues.refund] has an unknown setting 'wieght'"),
    ("format = 1\n[cues.refund]\nweight = 'heavy'\nwords = ['refund']", "[cues.refund] weight must be a number"),
    ("format = 1\n[cues.refund]\nweight = 1", "[cues.refund] needs at least one entry in words or patterns"),
    ("format = 1\n[cues.refund]\nwords = 'refund'", "[cues.refund] words must be a list of non-empty texts"),
    ("format = 1\n[cues.refund]\nwords = ['re*fund']", "[cues.refund] word 're*fund' must be a word or a phrase"),
    ("format = 1\n[cues.refund]\npatterns = ['(unclosed']", "[cues.refund] pattern '(unclosed' is not a regular"),
    ("format = 1\n[cues.refund]\nwords = ['x']\npriority = 'low'", '[cues.refund] priority must be "urgent" or'),
    ("format = 1\n[cues.refund]\nwords = ['x']\nkind = 'spam'", '[cues.refund] kind must be "praise" or "troll"'),
    ("format = 1\n[cues.Refund]\nwords = ['x']", "a cue group's name must be lower-case"),
    ("format = 1\n[cues]\nrefund = 3", "[cues.refund] must be a table of settings"),
    ("format = 1\nscore = 3", "[score] must be a table"),
    ("format = 1\n[score\n", "is not valid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_every_mistake_in_a_policy_file_is_one_sentence_naming_the_setting_and_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        triage_policy.load(path)
    message = str(caught.value)
    assert message.startswith(f"CARE_TRIAGE_FILE ({path})"), message
    assert expected in message, message
    assert "\n" not in message and message.endswith(".")


def test_a_missing_file_a_directory_and_a_binary_file_are_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^CARE_TRIAGE_FILE \(.*nope.toml\) does not exist"):
        triage_policy.load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="names a directory, not a policy file"):
        triage_policy.load(tmp_path)
    binary = tmp_path / "policy.bin"
    binary.write_bytes(b"\xff\xfe\x00format")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        triage_policy.load(binary)


def test_configured_takes_the_default_without_a_file_and_refuses_a_bad_model_in_one_sentence(tmp_path: Path) -> None:
    assert triage_policy.configured(None, None) == triage_policy.default()
    assert triage_policy.configured(write(tmp_path, GOOD), None).bias == -2.0
    with pytest.raises(ConfigError, match=r"^CARE_TRIAGE_MODEL: .*does not exist"):
        triage_policy.configured(None, tmp_path / "model.json")
