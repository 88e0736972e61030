"""A desk's decisions, written through the services: posts as they arrive, then answered or ignored by the team."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bot.services import cases, ingest
from connectors.base import Author, InboundMention

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def post(session: Session, n: int, text: str, *, at: datetime = NOW) -> int:
    mention = InboundMention(
        platform="twitter",
        external_id=f"post-{n}",
        author=Author(id=f"author-{n}", handle=f"cust{n}", name=f"Customer {n}"),
        text=text,
        posted_at=at,
    )
    return ingest.ingest(session, mention=mention, connector="generic", channel="C0CARE", now=at).case_id


def answer(session: Session, case_id: int, kind: str = "replied") -> None:
    case = cases.get_case(session, case_id)
    cases.record(session, case, actor="U0ALICE", kind=kind, now=NOW, text_sent="Hi, sorry about that!")


def ignore(session: Session, case_id: int, reason: str = "spam") -> None:
    cases.ignore(session, case_id=case_id, user_id="U0ALICE", reason=reason, comment=None, now=NOW)
