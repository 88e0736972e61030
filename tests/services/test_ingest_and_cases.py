"""Services are plain functions over a session: tested here with a real database and no Slack at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot import db
from bot.errors import CaseClosed, OwnedByOther, UserError
from bot.models import Case, CaseEvent, Mention, OutboxItem
from bot.services import cases, ingest, replies
from connectors.base import Author, InboundMention, XLengthRule, rule_for

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def mention(external_id: str = "1", author: str = "42", text: str = "My order never arrived", **kw) -> InboundMention:
    return InboundMention(
        platform="twitter",
        external_id=external_id,
        author=Author(id=author, handle="jane_doe", name="Jane Doe"),
        text=text,
        posted_at=NOW,
        **kw,
    )


def take(sessions, m: InboundMention) -> ingest.IngestResult:
    with db.session_scope(sessions) as s:
        return ingest.ingest(s, mention=m, connector="generic", channel="C0CARE", now=NOW)


def count(sessions, model) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_same_post_twice_is_one_case_one_mention_one_parent(sessions) -> None:
    first, again = take(sessions, mention()), take(sessions, mention())
    assert (first.duplicate, again.duplicate) == (False, True)
    assert first.case_id == again.case_id
    assert count(sessions, Case) == 1 and count(sessions, Mention) == 1
    with sessions() as s:
        assert s.scalars(select(OutboxItem.kind)).all() == ["post_parent"]


def test_new_post_by_same_author_joins_open_case_and_raises_priority(sessions) -> None:
    first = take(sessions, mention("1", text="Thanks for the quick delivery!"))
    second = take(sessions, mention("2", text="Actually the box was damaged and I want a refund, this is unacceptable"))
    assert second.case_id == first.case_id and not second.new_case
    with sessions() as s:
        case = s.get(Case, first.case_id)
        assert case.priority == "high" and len(case.mentions) == 2
        assert s.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)).all() == [
            "post_parent",
            "thread_note",
        ]  # the queued parent post already shows the new state


def test_closed_case_means_a_new_post_opens_a_new_case(sessions) -> None:
    first = take(sessions, mention("1"))
    with db.session_scope(sessions) as s:
        cases.resolve(s, case_id=first.case_id, user_id="U1", outcome="resolved", comment=None, now=NOW)
    assert take(sessions, mention("2")).case_id != first.case_id


def test_claim_take_over_and_closed_case_rules(sessions) -> None:
    case_id = take(sessions, mention()).case_id
    with db.session_scope(sessions) as s:
        cases.claim(s, case_id=case_id, user_id="U1", now=NOW)
    with pytest.raises(OwnedByOther), db.session_scope(sessions) as s:
        cases.claim(s, case_id=case_id, user_id="U2", now=NOW)
    with db.session_scope(sessions) as s:
        assert cases.claim(s, case_id=case_id, user_id="U2", now=NOW, take_over=True).owner_id == "U2"
        cases.ignore(s, case_id=case_id, user_id="U2", reason="spam", comment=None, now=NOW)
    with pytest.raises(CaseClosed), db.session_scope(sessions) as s:
        cases.escalate(s, case_id=case_id, user_id="U2", now=NOW, targets=())
    with pytest.raises(UserError), db.session_scope(sessions) as s:
        cases.reopen(s, case_id=case_id, user_id="U2", now=NOW)
        cases.ignore(s, case_id=case_id, user_id="U2", reason="bored", comment=None, now=NOW)
    with sessions() as s:  # the failed unit of work left nothing half-done
        assert s.get(Case, case_id).status == "ignored"
        kinds = s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        assert kinds == ["received", "claimed", "took_over", "ignored"]


def test_reply_validation_and_draft_lifecycle(sessions) -> None:
    case_id = take(sessions, mention()).case_id
    rule = rule_for("twitter")
    assert replies.reply_problem("  ", rule) == "Write a reply before sending."
    assert "limit here is 280" in (replies.reply_problem("x" * 300, rule) or "")
    with db.session_scope(sessions) as s:
        replies.submit_reply(s, case_id=case_id, user_id="U1", text=" Sorry Jane! ", rule=rule, now=NOW)
    with db.session_scope(sessions) as s:
        item = s.scalars(select(OutboxItem).where(OutboxItem.kind == "send")).one()
        assert item.payload["text"] == "Sorry Jane!" and item.payload["in_reply_to"] == "1"
        replies.record_send_failed(s, case_id=case_id, payload=item.payload, error="HTTP 503", now=NOW)
    with db.session_scope(sessions) as s:
        case = s.get(Case, case_id)
        assert case.draft_text == "Sorry Jane!" and case.first_response_at is None
        replies.record_sent(s, case_id=case_id, payload=item.payload, external_id="9", now=NOW)
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case.draft_text is None and case.first_response_at == NOW


def test_x_length_rule_counts_links_as_23() -> None:
    rule = XLengthRule(280)
    assert rule.count("see https://example.com/a/very/long/path/indeed") == len("see ") + 23
    assert rule.problem("a" * 256 + " https://x.co") is None  # 256 + 1 + 23 = 280
    assert rule.problem("a" * 257 + " https://x.co") is not None
