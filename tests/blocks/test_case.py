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
