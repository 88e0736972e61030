"""Ingest: a customer's post becomes a mention of a case, once, and its Slack delivery is queued.

Idempotent on (platform, external_id). A new post by an author whose case is still open joins that
case (it appears in the case's thread) instead of opening a second parent message.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Case, CaseEvent, CaseStatus, Mention
from bot.services import outbox, triage
from bot.services.cases import record
from connectors.base import Change, InboundMention, MentionDeleted, MentionEdited

logger = logging.getLogger(__name__)

Scored = list[tuple[Change, triage.Assessment | None]]  # changes, each new post with its score


@dataclass(frozen=True)
class IngestResult:
    case_id: int
    mention_id: int
    duplicate: bool
    new_case: bool


def _existing(session: Session, mention: Change) -> Mention | None:
    """The stored post a new mention, an edit or a deletion is about (by its platform id), if we hold it."""
    return session.scalar(
        select(Mention).where(Mention.platform == mention.platform, Mention.external_id == mention.external_id)
    )


def _lock_author(session: Session, *, platform: str, author_id: str) -> None:
    """Serialise ingest per author on PostgreSQL so two posts arriving together join one case.

    SQLite needs nothing here: every write transaction there already holds the database write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"{platform}:{author_id}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def assess(mention: InboundMention) -> triage.Assessment:
    """Score a post before its transaction opens: scoring is the slow part, and no lock waits for it."""
    return triage.assess(mention.text, stars=mention.extra.get("stars"))


def ingest(
    session: Session,
    *,
    mention: InboundMention,
    connector: str,
    channel: str,
    now: datetime,
    assessment: triage.Assessment | None = None,
) -> IngestResult:
    """Store a post once: as a new case, or in its author's open case. `assessment` from `assess`, if the caller
    scored it already (outside the transaction)."""
    _lock_author(session, platform=mention.platform, author_id=mention.author.id)
    found = _existing(session, mention)
    if found is not None:
        return IngestResult(found.case_id, found.id, duplicate=True, new_case=False)

    assessment = assessment or assess(mention)
    case = session.scalar(
        select(Case)
        .where(
            Case.platform == mention.platform,
            Case.connector == connector,
            Case.author_id == mention.author.id,
            Case.status == CaseStatus.OPEN,
        )
        .order_by(Case.id.desc())
        .limit(1)
    )
    new_case = case is None
    if case is None:
        case = Case(
            platform=mention.platform,
            connector=connector,
            author_id=mention.author.id,
            author_handle=mention.author.handle,
            author_name=mention.author.name,
            status=CaseStatus.OPEN,
            priority=assessment.priority,
            slack_channel=channel,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        session.flush()
    else:
        case.priority = triage.escalate_priority(case.priority, assessment.priority)
        case.author_name = mention.author.name or case.author_name
        case.author_handle = mention.author.handle or case.author_handle
        case.updated_at = now
        if case.first_response_at is not None and case.awaiting_reply_since is None:
            case.awaiting_reply_since = now  # the customer wrote again after we answered: next-response clock

    row = Mention(
        case_id=case.id,
        platform=mention.platform,
        external_id=mention.external_id,
        author_id=mention.author.id,
        author_handle=mention.author.handle,
        author_name=mention.author.name,
        text=mention.text,
        url=mention.url,
        posted_at=mention.posted_at,
        received_at=now,
        sentiment=assessment.sentiment,
        extra=dict(mention.extra),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another process stored the same post between our check and our insert.
        found = _existing(session, mention)
        if found is None:
            raise
        if new_case:
            session.delete(case)
            session.flush()
        return IngestResult(found.case_id, found.id, duplicate=True, new_case=False)

    rank = triage.PRIORITY_RANK[case.priority]
    if new_case:
        session.add(
            CaseEvent(
                case_id=case.id,
                at=now,
                actor="customer",
                kind="received",
                detail={"mention_id": row.id, "priority_reason": assessment.reason},
            )
        )
        outbox.enqueue(session, lane=outbox.SLACK, kind="post_parent", case_id=case.id, priority_rank=rank, now=now)
    else:
        event = CaseEvent(
            case_id=case.id, at=now, actor="customer", kind="mention_added", detail={"mention_id": row.id}
        )
        session.add(event)
        session.flush()
        outbox.enqueue(
            session,
            lane=outbox.SLACK,
            kind="thread_note",
            case_id=case.id,
            priority_rank=rank,
            payload={"event_id": event.id},
            now=now,
        )
        outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=rank, now=now)
    return IngestResult(case.id, row.id, duplicate=False, new_case=new_case)


def apply_edit(session: Session, *, change: MentionEdited, now: datetime) -> bool:
    """Replace an edited post's text (and the facts in `change.extra`, e.g. a review's new stars) and tell
    the thread; False when we do not hold it or nothing changed. A worse rating raises the case's priority."""
    row = _existing(session, change)
    if row is None:
        return False
    extra = {**row.extra, **change.extra}
    if row.text == change.text and extra == row.extra:
        return False
    previous, previous_stars = row.text, row.extra.get("stars")
    row.text = change.text
    row.extra = extra
    row.edited_at = change.edited_at
    assessment = triage.assess(change.text, stars=extra.get("stars"))
    row.sentiment = assessment.sentiment
    case = session.get(Case, row.case_id)
    assert case is not None
    if case.status == CaseStatus.OPEN:
        case.priority = triage.escalate_priority(case.priority, assessment.priority)
    detail = {"mention_id": row.id, "previous_text": previous}
    if previous_stars != extra.get("stars"):
        detail["previous_stars"] = previous_stars
    record(session, case, actor="customer", kind="mention_edited", now=now, detail=detail)
    return True


def apply_deletion(session: Session, *, change: MentionDeleted, now: datetime) -> bool:
    """Note a deleted post in the thread; the case and its history stay. False if unknown or already noted."""
    row = _existing(session, change)
    if row is None or row.deleted_at is not None:
        return False
    row.deleted_at = change.deleted_at
    case = session.get(Case, row.case_id)
    assert case is not None
    record(session, case, actor="customer", kind="mention_deleted", now=now, detail={"mention_id": row.id})
    return True


def scored(changes: Sequence[Change]) -> Scored:
    """The changes with each new post scored, before the transaction that stores them opens."""
    return [(change, assess(change) if isinstance(change, InboundMention) else None) for change in changes]


def apply_changes(session: Session, *, changes: Scored, connector: str, channel: str, now: datetime) -> int:
    """Store what a poll or a platform webhook brought (scored by `scored`), in order; returns how many changed
    anything."""
    applied = 0
    for change, assessment in changes:
        if isinstance(change, InboundMention):
            applied += not ingest(
                session, mention=change, connector=connector, channel=channel, now=now, assessment=assessment
            ).duplicate
        elif isinstance(change, MentionEdited):
            applied += apply_edit(session, change=change, now=now)
        elif isinstance(change, MentionDeleted):
            applied += apply_deletion(session, change=change, now=now)
        else:  # pragma: no cover - the connectors only produce the three kinds
            logger.warning("ignoring unknown change %r", type(change).__name__)
    return applied
