"""Ingest: a customer's post becomes a mention of a case, once, and its Slack delivery is queued.

Idempotent on (platform, external_id). A new post by an author whose case is still open joins that
case (it appears in the case's thread) instead of opening a second parent message. A customer's private message
(a DM, `InboundMention.private`) is ingested the same way: it joins their open case or opens one, and the case
remembers when they last wrote privately (`last_private_at`) and at all (`last_customer_at`, which the
follow-through clock of a case moved to DM counts from).

A private message that opens a case on Facebook or Instagram names its sender only by a scoped id: the case also
queues a `profile` item on the platform lane, whose worker asks Meta for the name once (bot/outbox/platform_lane.py,
then `customers.name_author`). Never here: a webhook request only stores and enqueues.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from bot.db import note
from bot.models import Case, CaseEvent, CaseStatus, Mention, OutboxItem, follow_through_start
from bot.services import erasure, outbox, triage, triage_policy
from bot.services.cases import lock_author, record
from connectors.base import Author, Change, InboundMention, MentionDeleted, MentionEdited

logger = logging.getLogger(__name__)

Scored = list[tuple[Change, triage.Assessment | None]]  # changes, each new post with its score

PROFILE = "profile"  # the platform-lane item that looks up the name of a new case's customer
# The connectors whose private messages name the sender only by an id and which can be asked the name
# (connectors.base.ProfileConnector): Meta's. Decided by the connector's name, so a post the generic webhook
# brings "from facebook" asks nobody.
NAMES_LOOKED_UP = frozenset({"facebook", "instagram"})
LOOKUP_RANK = len(triage.PRIORITIES)  # after every send: a name can wait, a reply to a customer should not


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


def assess(mention: InboundMention) -> triage.Assessment:
    """Score a post before its transaction opens: scoring is the slow part, and no lock waits for it."""
    return triage_policy.assess(mention.text, stars=mention.extra.get("stars"))


def verdict(assessment: triage.Assessment) -> dict[str, Any]:
    """A post's stored triage columns (every path that writes a post's score writes these with it)."""
    return {
        "sentiment": assessment.sentiment,
        "needs_reply": assessment.needs_reply,
        "triage_score": assessment.score,
        "triage_reason": assessment.reason,
        "triage_kind": assessment.kind,
    }


# The hot path in Core statements, built once (SQLAlchemy caches their compiled form): the ORM's unit of work
# cost about 4 ms a post here (three flushes and a savepoint), these about a tenth of that.
_cases, _mentions, _events, _outbox = (cast(Table, m.__table__) for m in (Case, Mention, CaseEvent, OutboxItem))
_FIND_MENTION = select(_mentions.c.id, _mentions.c.case_id).where(
    _mentions.c.platform == bindparam("platform"), _mentions.c.external_id == bindparam("external_id")
)
_FIND_OPEN_CASE = (
    select(
        _cases.c.id,
        _cases.c.priority,
        _cases.c.author_name,
        _cases.c.author_handle,
        _cases.c.first_response_at,
        _cases.c.awaiting_reply_since,
        _cases.c.reminder_check_at,
        _cases.c.moved_offline_at,
        _cases.c.last_private_at,
        _cases.c.last_customer_at,
    )
    .where(
        _cases.c.platform == bindparam("platform"),
        _cases.c.connector == bindparam("connector"),
        _cases.c.author_id == bindparam("author_id"),
        _cases.c.status == CaseStatus.OPEN,
    )
    .order_by(_cases.c.id.desc())
    .limit(1)
)
_NEW_CASE = insert(_cases).returning(_cases.c.id)
_NEW_EVENT = insert(_events).returning(_events.c.id)
_NEW_ITEM = insert(_outbox)
JOIN_CASE = (
    update(_cases)
    .where(_cases.c.id == bindparam("case_id"))
    .values(
        priority=bindparam("priority"),
        author_name=bindparam("author_name"),
        author_handle=bindparam("author_handle"),
        updated_at=bindparam("updated_at"),
        awaiting_reply_since=bindparam("awaiting_reply_since"),
        reminder_check_at=bindparam("reminder_check_at"),
        last_private_at=bindparam("last_private_at"),
        last_customer_at=bindparam("last_customer_at"),
    )
)
_DROP_CASE = delete(_cases).where(_cases.c.id == bindparam("case_id"))


# INSERT … ON CONFLICT (platform, external_id) DO NOTHING RETURNING id: a post stored meanwhile by another
# transaction costs neither a savepoint nor an exception.
_NEW_MENTION = {
    "postgresql": postgresql.insert(_mentions)
    .on_conflict_do_nothing(index_elements=["platform", "external_id"])
    .returning(_mentions.c.id),
    "sqlite": sqlite.insert(_mentions)
    .on_conflict_do_nothing(index_elements=["platform", "external_id"])
    .returning(_mentions.c.id),
}
_WAITING_REFRESH = select(_outbox.c.id).where(_outbox.c.case_id == bindparam("case_id"), outbox.PARENT_WAITING).limit(1)


def wrote_at(mention: InboundMention, now: datetime) -> datetime:
    """When the customer wrote this post, for the case's clocks: its time on the platform, never in the future."""
    return min(mention.posted_at, now)


def latest(known: datetime | None, new: datetime | None) -> datetime | None:
    """The later of two moments, either perhaps unknown (posts may arrive out of order)."""
    if known is None or new is None:
        return new if known is None else known
    return max(known, new)


def handle_for(author: Author, known: str | None) -> str:
    """The handle a joined case keeps: a connector that knows only the author's id (a Messenger DM gives no name)
    uses the id as the handle, and that must not replace the @username a public post taught us."""
    if known and author.handle == author.id:
        return known
    return author.handle or known or author.id


def case_times(mention: InboundMention, now: datetime) -> dict[str, Any]:
    """The customer-message columns of a case a post opens."""
    at = wrote_at(mention, now)
    return {"last_private_at": at if mention.private else None, "last_customer_at": at}


def joined_times(row: Any, mention: InboundMention, now: datetime) -> tuple[datetime | None, datetime | None]:
    """A joined case's (last_private_at, last_customer_at) once `mention` is in; `row` has both columns."""
    at = wrote_at(mention, now)
    private = latest(row["last_private_at"], at) if mention.private else row["last_private_at"]
    return private, latest(row["last_customer_at"], at)


def clocks_moved(row: Any, changed: dict[str, Any]) -> bool:
    """Whether a post joining a case (`row` as read, `changed` its new values) moves a clock's start or target,
    so the reminder sweep must look at the case again (what the models' before_flush hook does for the ORM)."""
    if changed["priority"] != row["priority"] or changed["awaiting_reply_since"] != row["awaiting_reply_since"]:
        return True
    before = follow_through_start(row["moved_offline_at"], row["last_customer_at"])
    return before != follow_through_start(row["moved_offline_at"], changed["last_customer_at"])


def event_row(case_id: int, kind: str, now: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    """A customer's case event as a row, for Core INSERTs here and in `intake`."""
    return {"case_id": case_id, "at": now, "actor": "customer", "kind": kind, "text_sent": None, "detail": detail}


def profile_row(mention: InboundMention, *, connector: str, case_id: int, now: datetime) -> dict[str, Any] | None:
    """The platform-lane item asking who wrote the private message that opened case `case_id`, when the connector
    named them only by an id and can look them up; None otherwise. Written with the case's first Slack item, here
    and in `intake`, so a repeated delivery (a duplicate opens nothing) never asks twice."""
    if not mention.private or mention.author.name or connector not in NAMES_LOOKED_UP:
        return None
    payload = {"platform": mention.platform, "author_id": mention.author.id}
    return {**outbox.row(PROFILE, case_id, LOOKUP_RANK, now, payload), "lane": outbox.PLATFORM}


def stored(session: Session, *, case_id: int, platform: str, connector: str, new_case: bool) -> None:
    """Note a post stored (and a case opened) for the metrics and the log, told once the unit commits."""
    note(session, "mention_ingested", case_id=case_id, platform=platform, connector=connector)
    if new_case:
        note(session, "case_opened", case_id=case_id, platform=platform, connector=connector)


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
    scored it already (outside the transaction).

    Written with Core statements on the session's connection, so anything the ORM holds pending is flushed
    first and a case it holds is expired after we change it underneath.
    """
    session.flush()
    lock_author(session, platform=mention.platform, author_id=mention.author.id)
    conn = session.connection()
    key = {"platform": mention.platform, "external_id": mention.external_id}
    found = conn.execute(_FIND_MENTION, key).first()
    if found is not None:
        return IngestResult(found.case_id, found.id, duplicate=True, new_case=False)

    assessment = assessment or assess(mention)
    author = mention.author
    case = conn.execute(
        _FIND_OPEN_CASE, {"platform": mention.platform, "connector": connector, "author_id": author.id}
    ).first()
    new_case = case is None
    if case is None:
        priority = assessment.priority
        case_id = conn.execute(
            _NEW_CASE,
            {
                "platform": mention.platform,
                "connector": connector,
                "author_id": author.id,
                "author_handle": author.handle,
                "author_name": author.name,
                "status": CaseStatus.OPEN,
                "priority": priority,
                "slack_channel": channel,
                "created_at": now,
                "updated_at": now,
                **case_times(mention, now),
            },
        ).scalar_one()
    else:
        case_id, priority = case.id, triage.escalate_priority(case.priority, assessment.priority)

    mention_id = conn.execute(
        _NEW_MENTION[conn.dialect.name],
        {
            **key,
            "case_id": case_id,
            "author_id": author.id,
            "author_handle": author.handle,
            "author_name": author.name,
            "text": mention.text,
            "url": mention.url,
            "posted_at": mention.posted_at,
            "received_at": now,
            **verdict(assessment),
            "extra": dict(mention.extra),
            "private": mention.private,
        },
    ).scalar()
    if mention_id is None:
        # Another transaction stored the same post since we looked (it waited for it to commit): theirs stands.
        if new_case:
            conn.execute(_DROP_CASE, {"case_id": case_id})
        again = conn.execute(_FIND_MENTION, key).one()
        return IngestResult(again.case_id, again.id, duplicate=True, new_case=False)

    rank = triage.PRIORITY_RANK[priority]
    stored(session, case_id=case_id, platform=mention.platform, connector=connector, new_case=new_case)
    if new_case:
        detail = {"mention_id": mention_id, "priority_reason": assessment.reason}
        conn.execute(_NEW_EVENT, event_row(case_id, "received", now, detail))
        conn.execute(_NEW_ITEM, outbox.row("post_parent", case_id, rank, now, severity=assessment.sentiment))
        if (lookup := profile_row(mention, connector=connector, case_id=case_id, now=now)) is not None:
            conn.execute(_NEW_ITEM, lookup)
        return IngestResult(case_id, mention_id, duplicate=False, new_case=True)

    assert case is not None
    awaiting = case.awaiting_reply_since
    if case.first_response_at is not None and awaiting is None:
        awaiting = now  # the customer wrote again (in public or in a DM) after our answer: the next-response clock runs
    last_private, last_customer = joined_times(case._mapping, mention, now)
    joined = {
        "case_id": case_id,
        "priority": priority,
        "author_name": author.name or case.author_name,
        "author_handle": handle_for(author, case.author_handle),
        "updated_at": now,
        "awaiting_reply_since": awaiting,
        "last_private_at": last_private,
        "last_customer_at": last_customer,
    }
    # what the models' before_flush hook does for the ORM: the sweep must look at this case again
    joined["reminder_check_at"] = None if clocks_moved(case._mapping, joined) else case.reminder_check_at
    conn.execute(JOIN_CASE, joined)
    held = session.identity_map.get(identity_key(Case, case_id))
    if held is not None:
        session.expire(held)
    event = event_row(case_id, "mention_added", now, {"mention_id": mention_id})
    event_id = conn.execute(_NEW_EVENT, event).scalar_one()
    conn.execute(_NEW_ITEM, outbox.row("thread_note", case_id, rank, now, {"event_id": event_id}))
    if conn.execute(_WAITING_REFRESH, {"case_id": case_id}).first() is None:  # as outbox.enqueue_parent_refresh
        conn.execute(_NEW_ITEM, outbox.row("update_parent", case_id, rank, now))
    return IngestResult(case_id, mention_id, duplicate=False, new_case=False)


def apply_edit(session: Session, *, change: MentionEdited, now: datetime) -> bool:
    """Replace an edited post's text (and the facts in `change.extra`, e.g. a review's new stars) and tell
    the thread; False when we do not hold it or nothing changed. A worse rating raises the case's priority."""
    row = _existing(session, change)
    if row is None or row.deleted_at is not None or row.text == erasure.REMOVED:
        return False  # an erased post stays erased: a late edit must not bring the words back
    extra = {**row.extra, **change.extra}
    if row.text == change.text and extra == row.extra:
        return False
    previous, previous_stars = row.text, row.extra.get("stars")
    row.text = change.text
    row.extra = extra
    row.edited_at = change.edited_at
    assessment = triage_policy.assess(change.text, stars=extra.get("stars"))
    for column, value in verdict(assessment).items():
        setattr(row, column, value)
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
    # the customer took the words back: we keep no copy, and the Slack messages quoting them are updated
    erasure.forget_mention(session, platform=change.platform, external_id=change.external_id, now=now)
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
