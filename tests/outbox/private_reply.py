"""A private reply to a customer's DM, queued for the platform lane exactly as the reply service queues a send
(bot/services/replies.py): until the Reply modal offers the choice, tests drive the private-message path with it."""

from __future__ import annotations

from typing import Any

from bot.models import Case
from bot.services import outbox, triage


def queue_private_reply(rt: Any, case_id: int, text: str, *, user: str = "U0ALICE") -> None:
    """Answer the case's latest private message, privately: the send's context is that message's `extra`."""
    with rt.unit() as session:
        case = session.get(Case, case_id)
        assert case is not None
        answered = [m for m in case.mentions if m.private][-1]
        outbox.enqueue(
            session,
            lane=outbox.PLATFORM,
            kind="send",
            case_id=case.id,
            priority_rank=triage.PRIORITY_RANK[case.priority],
            now=rt.now(),
            payload={
                "purpose": "private_message",
                "text": text,
                "visibility": "private",
                "actor": user,
                "platform": case.platform,
                "in_reply_to": answered.external_id,
                "author_id": case.author_id,
                "context": {**answered.extra, "posted_at": answered.posted_at.isoformat()},
            },
        )
