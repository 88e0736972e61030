"""Praise: thank the customer warmly, and share the win with the wider team (once).

Why a path of its own: praise answered warmly and shown to the people who earned it is half of what a care
team is for, and it was getting the same buttons as a complaint. Nothing here is automatic: a person clicks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.models import Case, CaseEvent, Mention
from bot.services import outbox, triage
from bot.services.cases import get_case, record
from bot.services.replies import customer_first_name

SHARE = "share_win"  # outbox kind: the win posted to CARE_WINS_CHANNEL; payload event_id, channel
SHARED = "win_shared"  # case event kind
THANK_TEMPLATE = "Hi {customer}, thank you so much for the kind words! I'll pass them on to the team. {agent}"
NO_CHANNEL = "Sharing wins needs CARE_WINS_CHANNEL: ask whoever runs the desk to set it to a channel ID."


def is_praise(case: Case) -> bool:
    """The case's latest post was read as praise (its message then offers Thank and Share win)."""
    return bool(case.mentions) and case.mentions[-1].triage_kind == triage.PRAISE


def praised(case: Case) -> Mention:
    """The post to quote: the latest read as praise, else the latest."""
    return next((m for m in reversed(case.mentions) if m.triage_kind == triage.PRAISE), case.mentions[-1])


def thank_text(case: Case, *, agent_first_name: str) -> str:
    """A warm reply with both first names, for the agent to edit in the Reply modal before it is sent."""
    return THANK_TEMPLATE.format(customer=customer_first_name(case), agent=agent_first_name)


def share(session: Session, *, case_id: int, user_id: str, channel: str | None, now: datetime) -> Case:
    """Queue the win for CARE_WINS_CHANNEL and note it in the thread; a second click (anyone's) shares nothing."""
    if channel is None:
        raise UserError(NO_CHANNEL)
    case = get_case(session, case_id, for_update=True)  # two clicks at once: the second waits, then sees the first
    earlier = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == SHARED).limit(1))
    if earlier is not None:
        raise UserError(f"<@{earlier.actor}> shared this win in <#{earlier.detail.get('channel')}> already.")
    mention = praised(case)
    event = record(
        session, case, actor=user_id, kind=SHARED, now=now, detail={"channel": channel, "mention_id": mention.id}
    )
    outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=SHARE,
        case_id=case.id,
        priority_rank=triage.PRIORITY_RANK["low"],
        payload={"event_id": event.id, "channel": channel},
        now=now,
    )
    return case
