"""The one rule for customer text and the one way to fit rendered text: what a reader sees in Slack."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks import limits
from bot.blocks.mrkdwn import inert, quote


def test_a_customers_formatting_reads_as_typed_and_their_control_sequences_are_text() -> None:
    shown = inert("*refund now* _urgent_ ~lies~ `code` <!channel> <https://evil.example|click> & jane_doe 2*3")
    assert shown == (
        "∗refund now∗ ˍurgentˍ ∼lies∼ ˋcodeˋ &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; jane_doe 2*3"
    )


def test_fitting_never_cuts_an_entity_or_a_link_in_half() -> None:
    assert limits.fit("ab&amp;cd", 6) == "ab…"
    assert limits.fit("see <https://example.com/a|View post> now", 20) == "see…"
    assert limits.fit("short", 5) == "short"


def test_emoji_count_twice_as_slack_may_count_them() -> None:
    assert limits.size("😀") == 2
    assert limits.size(limits.fit("😀" * 2000, 3000)) <= 3000


def test_a_quote_excerpt_fits_after_its_quote_marks() -> None:
    shown = quote(inert("a\n" * 5000))
    assert limits.size(shown) <= limits.SECTION_TEXT and shown.startswith("> a\n> a") and shown.endswith("…")


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(["a", " ", "\n", "&", "<", ">", "😀", "|"]), max_size=9000))
def test_quoted_parts_are_each_within_the_limit_and_together_the_whole_text(text: str) -> None:
    escaped = inert(text)
    parts = limits.quoted_parts(escaped, 500)
    assert all(limits.size(p) <= 500 for p in parts)
    lines = [line.removeprefix("> ") for p in parts for line in p.split("\n")]
    assert "".join(lines) == "".join(escaped.splitlines())
    for p in parts:  # no part ends inside an entity
        tail = p[p.rfind("&") :] if "&" in p else ""
        assert not tail or ";" in tail
