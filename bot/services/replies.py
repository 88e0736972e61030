"""What staff send to customers: replies, the move-offline message, and the closing reply after it.

Only these paths ever queue anything for a platform. A send is queued in the staff member's
transaction (with their text saved as the case's draft), delivered by the platform worker, and its
outcome recorded here: success clears the draft; failure keeps it, so nothing typed is lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.models import Case, OutboxItem
from bot.services import cases, followups, outbox, triage
from bot.services.cases import get_case, record, require_open
from connectors.base import Author, LengthRule

REPLY = "reply"
MOVE_TO_DM = "move_to_dm"
PRIVATE_MESSAGE = "private_message"
CLOSING = "closing"
RESPONSES = (REPLY, MOVE_TO_DM)  # what stops the first- and next-response clocks


def customer_first_name(case: Case) -> str:
    return Author(id=case.author_id, handle=case.author_handle, name=case.author_name).first_name


def reply_problem(text: str, rule: LengthRule) -> str | None:
    """Why this reply cannot be sent as written, in words for the modal; None when it can."""
    if not text or not text.strip():
        return "Write a reply before sending."
    return rule.problem(text.strip())


def _queue_send(
    session: Session, case: Case, *, purpose: str, text: str, visibility: str, actor: str, now: datetime
) -> OutboxItem:
    latest = case.latest_mention
    return outbox.enqueue(
        session,
        lane=outbox.PLATFORM,
        kind="send",
        case_id=case.id,
        priority_rank=triage.PRIORITY_RANK[case.priority],
        now=now,
        payload={
            "purpose": purpose,
            "text": text,
            "visibility": visibility,
            "actor": actor,
            "platform": case.platform,
            "in_reply_to": latest.external_id,
            "author_id": case.author_id,
            "context": {**latest.extra, "posted_at": latest.posted_at.isoformat()},
        },
    )


def submit_reply(
    session: Session,
    *,
    case_id: int,
    user_id: str,
    text: str,
    rule: LengthRule,
    now: datetime,
    follow_up: datetime | None = None,
) -> Case:
    """Queue a public reply; `follow_up` also records the promise to get back to the customer then."""
    problem = reply_problem(text, rule)
    if problem:
        raise UserError(problem)
    case = require_open(session, case_id)
    text = text.strip()
    case.draft_text, case.draft_by = text, user_id
    if case.drafting_by == user_id:
        case.drafting_by, case.drafting_since = None, None
    if case.owner_id is None:
        case.owner_id = user_id  # whoever answers first owns the conversation
    _queue_send(session, case, purpose=REPLY, text=text, visibility="public", actor=user_id, now=now)
    outbox.staff_action(session, case_id=case.id)  # the clicker sees "replied" at once, ahead of new cases
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now)
    if follow_up is not None:
        followups.set_follow_up(session, case_id=case.id, user_id=user_id, due=follow_up, now=now)
    return case


def move_to_dm(
    session: Session,
    *,
    case_id: int,
    user_id: str,
    agent_first_name: str,
    template: str,
    private_template: str | None,
    contact: str,
    now: datetime,
    private_unavailable: str | None = None,
) -> Case:
    """Queue the public move-offline message, and the private one where the platform allows it.

    `private_unavailable` says why the platform would refuse a private message now (e.g. too old):
    the thread is told, so nobody waits for a message that cannot arrive.
    """
    case = require_open(session, case_id)
    if case.moved_offline_at is not None:
        raise UserError("This case has already been moved to DM. Use Reply to write to the customer again.")
    customer = customer_first_name(case)
    public_text = template.format(customer=customer, agent=agent_first_name, contact=contact)
    case.moved_offline_at = now
    if case.owner_id is None:
        case.owner_id = user_id
    _queue_send(session, case, purpose=MOVE_TO_DM, text=public_text, visibility="public", actor=user_id, now=now)
    if private_template:
        private_text = private_template.format(customer=customer, agent=agent_first_name, contact=contact)
        _queue_send(
            session, case, purpose=PRIVATE_MESSAGE, text=private_text, visibility="private", actor=user_id, now=now
        )
    elif private_unavailable:
        record(
            session, case, actor=user_id, kind="private_unavailable", now=now, detail={"reason": private_unavailable}
        )
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now)
    return case


class ClosingReplyProblem(UserError):
    """The closing reply cannot be sent as written (shown on the closing reply's field)."""


def closing_text(case: Case, *, template: str, agent_first_name: str) -> str:
    """The public closing reply offered when a case that moved to DM is resolved (CARE_CLOSING_TEMPLATE)."""
    return template.format(customer=customer_first_name(case), agent=agent_first_name)


def resolve(
    session: Session,
    *,
    case_id: int,
    user_id: str,
    outcome: str,
    comment: str | None,
    closing: str | None,
    rule: LengthRule,
    now: datetime,
) -> Case:
    """Resolve the case; with `closing` (the staff member ticked the confirmation) post it publicly too."""
    if closing is not None:
        problem = reply_problem(closing, rule)
        if problem:
            raise ClosingReplyProblem(problem)
    case = cases.resolve(session, case_id=case_id, user_id=user_id, outcome=outcome, comment=comment, now=now)
    if closing is not None:
        _queue_send(session, case, purpose=CLOSING, text=closing.strip(), visibility="public", actor=user_id, now=now)
    return case


_SENT_KIND = {
    REPLY: "replied",
    MOVE_TO_DM: "moved_to_dm",
    PRIVATE_MESSAGE: "private_message_sent",
    CLOSING: "closing_reply_sent",
}


def record_sent(
    session: Session,
    *,
    case_id: int,
    payload: dict[str, Any],
    external_id: str | None,
    now: datetime,
    note: str | None = None,
) -> None:
    case = get_case(session, case_id, for_update=True)
    text, actor = payload["text"], payload["actor"]
    if payload["purpose"] in RESPONSES:
        if case.first_response_at is None:
            case.first_response_at = now
        case.awaiting_reply_since = None  # answered: the next-response clock stops
    if payload["purpose"] == REPLY and case.draft_text == text:
        case.draft_text, case.draft_by = None, None
    record(
        session,
        case,
        actor=actor,
        kind=_SENT_KIND[payload["purpose"]],
        now=now,
        text_sent=text,
        detail={"visibility": payload["visibility"], "external_id": external_id, "note": note},
    )


def record_send_failed(session: Session, *, case_id: int, payload: dict[str, Any], error: str, now: datetime) -> None:
    """The platform would not take it: say so in the thread and keep the text for the next attempt."""
    case = get_case(session, case_id, for_update=True)
    purpose = payload["purpose"]
    if purpose == REPLY:
        case.draft_text, case.draft_by = payload["text"], payload["actor"]
    withheld = 0
    if purpose == MOVE_TO_DM:
        case.moved_offline_at = None  # let staff try again
        # The private half must not arrive without the public one, nor twice when staff try again.
        withheld = outbox.cancel_pending_sends(
            session, case_id=case.id, purpose=PRIVATE_MESSAGE, now=now, reason="the public move-to-DM message failed"
        )
    record(
        session,
        case,
        actor=payload["actor"],
        kind="send_failed",
        now=now,
        detail={
            "purpose": purpose,
            "error": error,
            "text": payload["text"],
            "visibility": payload["visibility"],
            "private_withheld": bool(withheld),
        },
    )
