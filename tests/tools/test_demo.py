"""`care-bot demo` shows a newcomer the whole loop working, with no credentials."""

from __future__ import annotations

import io

from bot.tools.demo import run_demo


def test_demo_prints_cases_with_threads_and_replies() -> None:
    out = io.StringIO()
    assert run_demo(out) == 0
    text = out.getvalue()
    assert text.count("[Claim]  [Reply]  [Move to DM]  [Escalate]  [Ignore]  [Resolve]") >= 9
    assert "└ Jane wrote again" in text  # the follow-up joined Jane's case thread
    assert "@Alice replied publicly to Jane:" in text
    assert "@Bob moved the conversation offline. Sent publicly:" in text
    assert "@Alice escalated this case (now urgent)" in text
    assert "@Bob ignored this case: Troll" in text
    assert "@Alice took this case over from @Bob." in text
    assert "Status: Resolved · Owner: @Alice" in text
    assert "15 posts in, 13 cases in Slack" in text
    assert "private reply to instagram-" in text
    # Lena answers the DM privately; Bob's reply goes to her privately (the modal starts there)
    assert "└ Private message from Lena:\n│     > Hi Bob, my booking reference is QX7P2L." in text
    assert "└ @Bob replied privately to Lena:\n│     > Thanks Lena. I've found your blue Samsonite" in text
    assert "Owner: @Bob · in DM · last private message 2026-11-22 10:00 UTC" in text
    assert "instagram private reply to instagram-1790000000000000098: Thanks Lena." in text
