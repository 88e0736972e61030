"""Erasure: a customer's personal data leaves the desk (on request, after CARE_RETENTION_DAYS, or a deleted post).

What goes: their name, handle and platform id, the text and URL of their posts, the platform details kept with
them, what staff wrote to or about them (replies, drafts, comments, the text of failed sends) and the outbox
payloads that carry any of it; queued sends to them are withdrawn. What stays, so `/care stats` and the digest
keep counting right: every row, with its timestamps, priority, sentiment score, status, outcome, owner and the
staff who acted. The platform's id of each post stays too: it is how the same post arriving again is known as
stored, so a re-delivery or a re-poll cannot bring the words back.

Slack is told through the outbox like everything else: the case message is re-rendered from the erased rows,
and each other message that named or quoted the customer (thread notes, the rest of a long post continued in
the thread, reminders, DMs about the case) is queued as a `REDACT` item, an in-place update to
"[removed on request]". The messages are found by the ts their outbox items recorded (`ts`, and `part_ts`
for each part of a message posted in several).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.models import Case, CaseEvent, CaseStatus, Mention, OutboxItem
from bot.services import outbox, reminders, surge, triage
from bot.services.cases import lock_author

REMOVED = "[removed on request]"  # what is left of a text, and what Slack shows instead of it
REMOVED_ID = "[removed]"  # what is left of an author's id and handle: no platform id or handle has brackets
REDACT = "redact_message"  # outbox kind: chat.update of one posted message to REMOVED; payload channel, ts

# Event detail fields that can hold words about the customer (theirs, staff's, or a platform's error quoting them).
# (priority_reason quotes the post; private_text is a withheld private message; in_reply_to names their post)
_FREE_TEXT = ("previous_text", "comment", "text", "note", "error", "priority_reason", "private_text", "in_reply_to")
# Platform payload fields of a send that identify the customer or repeat what was said.
_SEND_PERSONAL = ("text", "author_id", "in_reply_to", "context")
# The only platform details of a post that are kept: a review's stars are a count, not a person.
_KEEP_EXTRA = ("stars",)
# Thread notes that name nobody but staff: every other note of an erased case is redacted in Slack.
_STAFF_ONLY_NOTES = frozenset(
    {"claimed", "took_over", "escalated", "reopened", "reassigned", "snoozed", "follow_up_cleared"}
)
# Notes that quote one post (found by the mention id in their detail).
_POST_NOTES = ("mention_added", "mention_edited")


@dataclass(frozen=True)
class Erased:
    """What an erasure changed, by kind. All zero: there was nothing (left) to erase."""

    cases: int = 0
    posts: int = 0
    events: int = 0
    drafts: int = 0
    outbox_payloads: int = 0
    sends_withdrawn: int = 0
    slack_updates: int = 0

    def __add__(self, other: Erased) -> Erased:
        return Erased(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def changed(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def counts(self) -> list[tuple[str, int]]:
        """(what, how many) in the words the CLI prints."""
        return [
            ("cases", self.cases),
            ("posts", self.posts),
            ("case events", self.events),
            ("drafts", self.drafts),
            ("outbox payloads", self.outbox_payloads),
            ("unsent messages withdrawn", self.sends_withdrawn),
            ("Slack messages to update", self.slack_updates),
        ]


def forget(
    session: Session, *, platform: str, now: datetime, author_id: str | None = None, handle: str | None = None
) -> Erased:
    """Erase everything stored about one person on one platform, found by their platform id or their handle.

    One transaction (the caller's): all of it or none. Raises UserError, changing nothing, while a message to
    them is being sent (the send would write its text back): a minute later it has finished.
    """
    if (author_id is None) == (handle is None):
        raise ValueError("name the person by exactly one of author_id and handle")
    ids = _author_ids(session, platform=platform, author_id=author_id, handle=handle)
    for found in sorted(ids):
        lock_author(session, platform=platform, author_id=found)
    cases = session.scalars(
        select(Case)
        .where(Case.platform == platform, Case.author_id.in_(sorted(ids)))
        .order_by(Case.id)
        .with_for_update()
    ).all()
    busy = [case.id for case in cases if _send_in_flight(session, case.id, now)]
    if busy:
        raise UserError(
            f"A message to this customer (case #{busy[0]}) is being sent right now, so nothing was changed: "
            "run the command again in a minute."
        )
    total = Erased()
    for case in cases:
        total += erase_case(session, case=case, now=now)
    return total


def erase_case(session: Session, *, case: Case, now: datetime) -> Erased:
    """Erase one case's personal data and queue the Slack updates; nothing changes for an erased case."""
    erased = Erased(cases=_erase_author(case))
    if case.draft_text is not None:
        case.draft_text, case.draft_by = None, None
        erased = replace(erased, drafts=1)
    erased = replace(erased, posts=sum(_erase_post(m) for m in case.mentions))
    erased = replace(erased, events=sum(_erase_event(e) for e in case.events))
    payloads, withdrawn = _erase_payloads(session, case.id, now)
    erased = replace(erased, outbox_payloads=payloads, sends_withdrawn=withdrawn)
    if not erased.changed:
        return erased
    session.flush()
    notes = [e.id for e in case.events if e.kind not in _STAFF_ONLY_NOTES]
    redactions = _redact_messages(session, case, notes=notes, first_post=True, about_them=True, now=now)
    redactions += surge.redraw_listings(session, case_id=case.id, now=now)
    return replace(erased, slack_updates=redactions + _refresh_parent(session, case, now))


def forget_mention(session: Session, *, platform: str, external_id: str, now: datetime) -> Erased:
    """A post deleted on the platform: its text, URL and details go, and the Slack messages quoting it update.

    The author is not erased (they deleted one post, not themselves); the row, its score and the case stay.
    False-y (all zero) when we never held the post or it is erased already.
    """
    mention = session.scalar(select(Mention).where(Mention.platform == platform, Mention.external_id == external_id))
    if mention is None or not _erase_post(mention, keep_author=True):
        return Erased()
    case = mention.case
    quoting = [e for e in case.events if e.kind in _POST_NOTES and (e.detail or {}).get("mention_id") == mention.id]
    events = sum(_erase_event(e) for e in quoting)
    session.flush()
    first_post = mention.id == case.mentions[0].id
    notes = [e.id for e in quoting]
    redactions = _redact_messages(session, case, notes=notes, first_post=first_post, about_them=False, now=now)
    redactions += surge.redraw_listings(session, case_id=case.id, now=now)
    return Erased(posts=1, events=events, slack_updates=redactions + _refresh_parent(session, case, now))


def expired_case_ids(session: Session, *, older_than: timedelta, now: datetime, limit: int = 100) -> list[int]:
    """Closed cases past the retention period and not yet erased (oldest first), at most `limit` of them."""
    return list(
        session.scalars(
            select(Case.id)
            .where(
                Case.status.in_(CaseStatus.CLOSED),
                Case.closed_at < now - older_than,
                Case.author_id != REMOVED_ID,
            )
            .order_by(Case.closed_at, Case.id)
            .limit(limit)
        )
    )


def erase_expired(session: Session, *, case_id: int, older_than: timedelta, now: datetime) -> Erased:
    """Erase one case found by `expired_case_ids`, if it is still closed and past the period (it may have been
    reopened since it was found) and no message to the customer is being sent this moment."""
    case = session.get(Case, case_id, with_for_update=True)
    if (
        case is None
        or case.status not in CaseStatus.CLOSED
        or case.closed_at is None
        or case.closed_at >= now - older_than
        or _send_in_flight(session, case.id, now)
    ):
        return Erased()
    return erase_case(session, case=case, now=now)


# -- the rows ----------------------------------------------------------------------------------------


def _author_ids(session: Session, *, platform: str, author_id: str | None, handle: str | None) -> set[str]:
    """The platform ids of the person: given, or every id stored with that handle (on a case or any post)."""
    if author_id is not None:
        return {author_id} - {REMOVED_ID}
    on_cases = select(Case.author_id).where(Case.platform == platform, Case.author_handle == handle)
    on_posts = select(Mention.author_id).where(Mention.platform == platform, Mention.author_handle == handle)
    return (set(session.scalars(on_cases)) | set(session.scalars(on_posts))) - {REMOVED_ID}


def _set(row: Any, **values: Any) -> bool:
    """Assign the values that differ; True if any did (so a second erasure counts nothing)."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    return bool(changed)


def _erase_author(case: Case) -> bool:
    return _set(case, author_id=REMOVED_ID, author_handle=REMOVED_ID, author_name=None)


def _erase_post(mention: Mention, *, keep_author: bool = False) -> bool:
    kept = {k: v for k, v in (mention.extra or {}).items() if k in _KEEP_EXTRA}
    author = {} if keep_author else {"author_id": REMOVED_ID, "author_handle": REMOVED_ID, "author_name": None}
    # the reason quotes the post's words: it goes with them (the message then shows the tone in words)
    return _set(mention, text=REMOVED, url=None, extra=kept, triage_reason=None, **author)


def _erase_event(event: CaseEvent) -> bool:
    detail = dict(event.detail or {})
    for key in _FREE_TEXT:
        if isinstance(detail.get(key), str):
            detail[key] = REMOVED
    return _set(event, text_sent=None if event.text_sent is None else REMOVED, detail=detail)


def _erase_payloads(session: Session, case_id: int, now: datetime) -> tuple[int, int]:
    """Blank what the case's outbox items carry about the customer; withdraw the sends not yet started.
    Returns (payloads changed, sends withdrawn)."""
    changed = withdrawn = 0
    for item in session.scalars(select(OutboxItem).where(OutboxItem.case_id == case_id)):
        personal = _SEND_PERSONAL if item.lane == outbox.PLATFORM else ("text", "blocks")  # old DMs rendered early
        payload = {k: (REMOVED if k == "text" else None) if k in personal else v for k, v in item.payload.items()}
        changed += _set(item, payload=payload)
        if item.lane == outbox.PLATFORM and item.state == outbox.PENDING and not _held(item, now):
            item.state, item.done_at, item.last_error = outbox.CANCELLED, now, "withdrawn: the customer was erased"
            withdrawn += 1
    return changed, withdrawn


def _held(item: OutboxItem, now: datetime) -> bool:
    return item.lease_owner is not None and item.lease_until is not None and item.lease_until > now


def _send_in_flight(session: Session, case_id: int, now: datetime) -> bool:
    items = session.scalars(
        select(OutboxItem).where(
            OutboxItem.case_id == case_id, OutboxItem.lane == outbox.PLATFORM, OutboxItem.state == outbox.PENDING
        )
    )
    return any(_held(item, now) for item in items)


# -- Slack -------------------------------------------------------------------------------------------


def _refresh_parent(session: Session, case: Case, now: datetime) -> int:
    """Queue the case message's re-render from the erased rows (the not-yet-posted message needs none)."""
    if case.slack_ts is None:
        return 0
    outbox.enqueue_parent_refresh(session, case_id=case.id, priority_rank=triage.PRIORITY_RANK[case.priority], now=now)
    return 1


def _redact_messages(
    session: Session, case: Case, *, notes: Iterable[int], first_post: bool, about_them: bool, now: datetime
) -> int:
    """Queue a REDACT for each posted message of the case that names or quotes what is erased: the thread notes
    of the events `notes`; with `first_post`, the rest of a long first post continued under the case message;
    with `about_them`, every reminder and DM about the case. Messages not posted yet need nothing (they are
    rendered from the erased rows when they go), and one already queued for redaction is not queued again."""
    wanted = set(notes)
    kinds = ("post_parent", "thread_note", REDACT) + ((reminders.REMINDER, reminders.DIRECT_MESSAGE) * about_them)
    items = session.scalars(
        select(OutboxItem)
        .where(OutboxItem.case_id == case.id, OutboxItem.lane == outbox.SLACK, OutboxItem.kind.in_(kinds))
        .order_by(OutboxItem.id)
    ).all()
    done = {(i.payload.get("channel"), i.payload.get("ts")) for i in items if i.kind == REDACT}
    queued = 0
    for item in items:
        if item.kind == REDACT or item.state != outbox.DONE:
            continue
        if item.kind == "post_parent" and not first_post:
            continue
        if item.kind == "thread_note" and item.payload.get("event_id") not in wanted:
            continue
        channel = (item.result or {}).get("channel") or case.slack_channel
        for ts in _posted(item):
            if (channel, ts) in done or (item.kind == "post_parent" and ts == case.slack_ts):
                continue  # the case message itself is re-rendered, not redacted
            outbox.enqueue(
                session,
                lane=outbox.SLACK,
                kind=REDACT,
                case_id=case.id,
                priority_rank=triage.PRIORITY_RANK[case.priority],
                payload={"channel": channel, "ts": ts},
                now=now,
            )
            done.add((channel, ts))
            queued += 1
    return queued


def _posted(item: OutboxItem) -> list[str]:
    """The ts of every message a delivered item posted: its first, and each part of a long one (`part_ts`)."""
    result = item.result or {}
    found = [result.get("ts"), *(result.get("part_ts") or [])]
    return [ts for ts in dict.fromkeys(found) if isinstance(ts, str)]
