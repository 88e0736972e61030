from __future__ import annotations

import pytest

from bot.services import triage, triage_policy


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("I'm calling my lawyer about this", "urgent"),
        ("Your food gave my son food poisoning", "urgent"),
        ("Flight delayed 3 hours and no update at the gate", "high"),
        ("Worst airline ever, absolutely terrible service", "high"),
        ("Where is my parcel?", "high"),  # something lost, asked of us
        ("What time does the lounge open?", "normal"),
        ("Thank you so much, the crew was wonderful!", "low"),
    ],
)
def test_priority_policy(text: str, priority: str) -> None:
    assert triage_policy.assess(text).priority == priority


def test_low_star_review_is_a_complaint_whatever_its_wording() -> None:
    assert triage_policy.assess("Lovely staff, great coffee.", stars=1).priority == "high"


def test_priority_only_rises_as_the_customer_writes_more() -> None:
    assert triage.escalate_priority("normal", "urgent") == "urgent"
    assert triage.escalate_priority("high", "low") == "high"
