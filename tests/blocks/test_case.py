"""The case message: whatever the customer wrote, nothing in it can ping anyone or forge a link in Slack,
in the blocks or in the fallback `text` that notifications show."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from bot.blocks.case import parent_message
from bot.models import Case, Mention

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE = "<!channel> <!here> <@U0BOSS> <!subteam^S0ALL> <https://evil.example|click here> & more"
# Slack's control sequences: a mention, a special mention, a user-group ping or a link
CONTROL = re.compile(r"<[!@#]|<https?:")


def hostile_case() -> Case:
    case = Case(
        id=7,
        platform="twitter",
        connector="generic",
        author_id="1",
        author_handle="<!here>",
        author_name="<!channel> Eve",
        status="open",
        priority="high",
        slack_channel="C0CARE",
        created_at=NOW,
        updated_at=NOW,
    )
    case.mentions = [
        Mention(
            platform="twitter",
            external_id="1",
            author_id="1",
            author_handle="<!here>",
            author_name="<!channel> Eve",
            text=HOSTILE,
            url=None,
            posted_at=NOW,
            received_at=NOW,
            sentiment=-0.5,
            extra={},
        )
    ]
    case.reminders = []
    return case


def test_a_hostile_post_is_inert_in_the_fallback_text_and_the_blocks() -> None:
    text, blocks = parent_message(hostile_case())
    assert not CONTROL.search(text), text
    assert "&lt;!channel&gt; Eve" in text and "&lt;https://evil.example|click here&gt; &amp; more" in text
    rendered = json.dumps(blocks)
    assert not CONTROL.search(rendered), rendered  # unclaimed: no mention of staff either


def facts_line(case: Case) -> str:
    _, blocks = parent_message(case)
    return next(b["elements"][0]["text"] for b in blocks if b["type"] == "context" and "Priority" in json.dumps(b))


def test_the_reason_quoting_a_hostile_post_is_as_inert_as_the_post() -> None:
    case = hostile_case()
    case.mentions[0].triage_reason = "High · needs a reply: '<!channel>', '*refund*' · tone negative"
    line = facts_line(case)
    assert not CONTROL.search(line), line
    assert "needs a reply: '&lt;!channel&gt;', '∗refund∗' · tone negative" in line  # no bold, no ping
    assert line.count("High") == 1  # the case's badge says the priority once; the reason does not repeat it


def test_the_message_explains_the_priority_with_the_post_that_set_it_not_a_milder_later_one() -> None:
    case = hostile_case()
    first, later = case.mentions[0], Mention(**{c: getattr(case.mentions[0], c) for c in ("platform", "author_id")})
    first.triage_reason = "High · needs a reply: 'refund' · tone negative"
    later.triage_reason, later.sentiment, later.text = "Low · praise: 'thanks' · tone positive", 0.6, "thanks"
    case.mentions.append(later)
    assert "needs a reply: 'refund' · tone negative" in facts_line(case)
    case.priority = "low"  # set by hand: the latest post's reason
    assert "praise: 'thanks' · tone positive" in facts_line(case)


def test_a_post_stored_before_reasons_shows_its_tone_in_words_never_a_raw_score() -> None:
    case = hostile_case()  # no triage_reason: stored by an earlier version
    line = facts_line(case)
    assert "tone negative" in line and "-0.50" not in line and "Sentiment" not in line
