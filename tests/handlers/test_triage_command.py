"""`/care triage` over signed HTTP: how often triage agreed with what the team did, read from what reached Slack."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.db import session_scope
from bot.models import Mention
from bot.services import cases
from tests.support.blocks import all_text
from tests.support.slack_requests import post_command
from tests.support.triage_desk import NOW, answer, ignore, post


def ask(app_url: str, slack, listeners, user: str = "U0ALICE") -> str:
    reply = post_command(app_url, text="triage", user=user, response_url=slack.response_url(f"{user}-triage"))
    assert reply.status_code == 200 and reply.content == b""  # acknowledged at once, answered after
    listeners.wait_idle()
    (answered,) = slack.responses
    assert answered["response_type"] == "ephemeral"
    return all_text(answered["blocks"])


def test_triage_agreement_over_the_last_30_days(app_url, rt, slack, listeners, clock) -> None:
    clock.set(NOW + timedelta(hours=1))
    with session_scope(rt.sessions) as s:
        answer(s, post(s, 1, "my refund is late, where is it?"))  # flagged, answered
        answer(s, post(s, 2, "my bag is lost"))  # flagged, answered
        answer(s, post(s, 3, "Thanks, lovely crew"), "moved_to_dm")  # not flagged, answered: missed
        ignore(s, post(s, 4, "you are all useless, worst airline"), "troll")  # flagged, ignored
        ignore(s, post(s, 5, "follow me for free followers"), "spam")  # not flagged, ignored
        old = post(s, 6, "my parcel is late")
        answer(s, old)
        s.execute(update(Mention).where(Mention.case_id == old).values(needs_reply=None))
        cases.resolve(
            s, case_id=post(s, 7, "nobody decided this"), user_id="U0BOB", outcome="resolved", comment=None, now=NOW
        )
    text = ask(app_url, slack, listeners)
    assert "Triage agreement · Last 30 days" in text
    assert "The team decided on 5 cases created in this period." in text
    assert "Said *needs a reply*: 3 — the team answered 2, ignored 1" in text
    assert "Said *no reply needed*: 2 — the team answered 1, ignored 1" in text
    assert "*Precision* 67%" in text and "*Recall* 67%" in text
    assert "1 decided case came before verdicts were kept." in text
    assert "care-bot triage learn --out model.json" in text  # recall below 90 %: time to re-learn


def test_triage_with_nothing_decided_says_what_counts(app_url, rt, slack, listeners, clock) -> None:
    clock.set(NOW)
    text = ask(app_url, slack, listeners, user="U0STRANGER")  # it quotes no customer: open to everyone
    assert "No decided cases yet" in text and "ignored it as spam, a troll or not for us" in text
