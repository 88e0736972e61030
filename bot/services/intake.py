"""Intake: webhook posts on their way to the group-commit writer, stored a batch per transaction.

`bot.group_commit.GroupCommit` hands a batch of these units to one transaction. `PendingMention.write_all` stores a
batch of posts with a handful of statements in all (one SELECT for the posts already held, one for their
authors' open cases, then one INSERT per table with the rows of all), deciding in Python, in arrival order, exactly
what `ingest.ingest` would decide one post at a time: a repeated post is a duplicate (also within the
batch), a post by an author whose case is open joins it (also a case opened earlier in the same batch),
and each case's outbox items are written in the order one-at-a-time ingest would write them (a new case's
name lookup, `ingest.profile_row`, included). If the batch fails (another replica stored one of its posts
meanwhile), the writer retries each unit alone with `write`, which is `ingest.ingest` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from bot.models import Case, CaseEvent, CaseStatus, Mention, OutboxItem
from bot.services import outbox, triage
from bot.services.cases import lock_authors
from bot.services.ingest import (
    JOIN_CASE,
    IngestResult,
    Scored,
    apply_changes,
    assess,
    case_times,
    clocks_moved,
    event_row,
    handle_for,
    ingest,
    joined_times,
    profile_row,
    scored,
    stored,
    verdict,
)
from connectors.base import Change, InboundMention

_cases, _mentions, _events, _outbox = (cast(Table, m.__table__) for m in (Case, Mention, CaseEvent, OutboxItem))
_CASES_ROWS, _MENTION_ROWS, _EVENT_ROWS, _ITEM_ROWS = (insert(t) for t in (_cases, _mentions, _events, _outbox))
# Built once, lists bound at execution ("expanding"): building a statement costs more than running these.
_HELD = select(_mentions.c.platform, _mentions.c.external_id, _mentions.c.id, _mentions.c.case_id).where(
    # both columns of the unique index, so each key is one index lookup
    _mentions.c.platform.in_(bindparam("platforms", expanding=True)),
    _mentions.c.external_id.in_(bindparam("external_ids", expanding=True)),
)
_OPEN = (
    select(_cases)
    .where(  # the columns of ix_cases_open_author, in its order: index lookups, never a scan
        _cases.c.platform.in_(bindparam("platforms", expanding=True)),
        _cases.c.connector.in_(bindparam("connectors", expanding=True)),
        _cases.c.author_id.in_(bindparam("authors", expanding=True)),
        _cases.c.status == CaseStatus.OPEN,
    )
    .order_by(_cases.c.id)
)
_WAITING = select(_outbox.c.case_id).where(
    _outbox.c.case_id.in_(bindparam("case_ids", expanding=True)), outbox.PARENT_WAITING
)


_TOPS = select(*(select(func.max(t.c.id)).scalar_subquery() for t in (_cases, _mentions, _events)))


def _new_ids(session: Session, cases: int, rows: int) -> tuple[list[int], list[int], list[int]]:
    """Primary keys for `cases` new cases and `rows` new mentions and events each, so the batch is one
    multi-row INSERT per table without RETURNING (which SQLAlchemy would send row by row to keep ids in order).

    SQLite: the batch's transaction holds the database's write lock, so nobody else inserts until it
    commits, and max(id) + 1 … is what SQLite would have chosen itself (these tables have no AUTOINCREMENT);
    one statement reads the three (a bare max() reads one index entry). PostgreSQL: taken from each
    column's own sequence, as a default would take them.
    """
    conn = session.connection()
    counts = (cases, rows, rows)
    if conn.dialect.name == "postgresql":
        taken = [
            [
                int(n)
                for n in conn.execute(
                    text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                    {"t": table.name, "n": count},
                ).scalars()
            ]
            for table, count in zip((_cases, _mentions, _events), counts, strict=True)
        ]
        return taken[0], taken[1], taken[2]
    tops = [int(top or 0) for top in conn.execute(_TOPS).one()]
    case_ids, mention_ids, event_ids = (list(range(t + 1, t + 1 + n)) for t, n in zip(tops, counts, strict=True))
    return case_ids, mention_ids, event_ids


@dataclass
class PendingMention:
    """One post for the writer: `prepare` scores it outside the transaction, `write` stores it alone,
    `write_all` stores a batch of them together."""

    mention: InboundMention
    connector: str
    channel: str
    now: datetime
    assessment: triage.Assessment | None = None

    def prepare(self) -> None:
        self.assessment = assess(self.mention)

    def write(self, session: Session) -> IngestResult:
        return ingest(
            session,
            mention=self.mention,
            connector=self.connector,
            channel=self.channel,
            now=self.now,
            assessment=self.assessment,
        )

    @staticmethod
    def write_all(session: Session, units: Sequence[PendingMention]) -> list[IngestResult]:
        return _Batch(session, units).store()


@dataclass
class PendingChanges:
    """A platform webhook's changes for the writer (new posts, edits, deletions), stored in order."""

    changes: Sequence[Change]
    connector: str
    channel: str
    now: datetime
    ready: Scored | None = None

    def prepare(self) -> None:
        self.ready = scored(self.changes)

    def write(self, session: Session) -> int:
        ready = self.ready if self.ready is not None else scored(self.changes)
        return apply_changes(session, changes=ready, connector=self.connector, channel=self.channel, now=self.now)


@dataclass
class _CaseState:
    """A case as the batch leaves it: an open case already stored (`stored`) or one the batch opens."""

    row: dict[str, Any]
    stored: dict[str, Any] | None = None  # the columns as read, for a case the batch joins
    id: int | None = None
    refresh: bool = False  # a parent refresh is queued for it by this batch


@dataclass
class _Batch:
    session: Session
    units: Sequence[PendingMention]
    new_cases: list[_CaseState] = field(default_factory=list)
    mentions: list[tuple[int, _CaseState, dict[str, Any]]] = field(default_factory=list)  # (unit, case, row)

    def store(self) -> list[IngestResult]:
        session, units = self.session, self.units
        session.flush()
        lock_authors(session, [(u.mention.platform, u.mention.author.id) for u in units])
        conn = session.connection()
        platforms = list({u.mention.platform for u in units})
        held = {
            (r.platform, r.external_id): IngestResult(r.case_id, r.id, duplicate=True, new_case=False)
            for r in conn.execute(
                _HELD, {"platforms": platforms, "external_ids": [u.mention.external_id for u in units]}
            )
        }
        open_cases: dict[tuple[str, str, str], _CaseState] = {}
        authors = {
            "authors": list({u.mention.author.id for u in units}),
            "connectors": list({u.connector for u in units}),
        }
        for r in conn.execute(_OPEN, {"platforms": platforms, **authors}):
            stored = dict(r._mapping)
            open_cases[(r.platform, r.connector, r.author_id)] = _CaseState(dict(stored), stored, id=r.id)

        # Decide in arrival order, as one-at-a-time ingest would.
        # ("held", IngestResult) | ("same", earlier unit) | ("new"/"join", state), with the case's rank then
        plan: list[tuple[str, Any, int]] = []
        first_of: dict[tuple[str, str], int] = {}
        for n, unit in enumerate(units):
            m, a = unit.mention, unit.assessment or assess(unit.mention)
            unit.assessment = a
            key = (m.platform, m.external_id)
            if key in held:
                plan.append(("held", held[key], 0))
                continue
            if key in first_of:
                plan.append(("same", first_of[key], 0))
                continue
            first_of[key] = n
            author_key = (m.platform, unit.connector, m.author.id)
            state = open_cases.get(author_key)
            if state is None:
                state = _CaseState(self._new_case_row(unit, a))
                open_cases[author_key] = state
                self.new_cases.append(state)
                plan.append(("new", state, triage.PRIORITY_RANK[a.priority]))
            else:
                self._join(state, unit, a)
                plan.append(("join", state, triage.PRIORITY_RANK[state.row["priority"]]))
            self.mentions.append((n, state, self._mention_row(unit, a)))

        if not self.mentions:  # every post was a repeat: nothing to write
            return self._record(plan, {}, [], [])
        # Write: one statement per table for the whole batch.
        case_ids, new_mention_ids, event_ids = _new_ids(session, len(self.new_cases), len(self.mentions))
        if self.new_cases:
            for state, case_id in zip(self.new_cases, case_ids, strict=True):
                state.id = case_id
            conn.execute(_CASES_ROWS, [{**s.row, "id": s.id} for s in self.new_cases])
        mention_ids = {n: mention_id for (n, _, _), mention_id in zip(self.mentions, new_mention_ids, strict=True)}
        rows = [{**row, "id": mention_ids[n], "case_id": state.id} for n, state, row in self.mentions]
        conn.execute(_MENTION_ROWS, rows)
        joined = [s for s in {id(s): s for _, s, _ in self.mentions}.values() if s.stored is not None]
        if joined:
            conn.execute(JOIN_CASE, [self._join_params(s) for s in joined])
            for state in joined:  # a case the session's ORM holds (an edit earlier in this transaction) is stale now
                held_case = session.identity_map.get(identity_key(Case, state.id))
                if held_case is not None:
                    session.expire(held_case)
        return self._record(plan, mention_ids, event_ids, joined)

    def _record(
        self,
        plan: list[tuple[str, Any, int]],
        mention_ids: dict[int, int],
        event_ids: list[int],
        joined: list[_CaseState],
    ) -> list[IngestResult]:
        """The events and outbox items, in arrival order; the results."""
        conn = self.session.connection()
        waiting = set()
        if joined:
            waiting = set(conn.execute(_WAITING, {"case_ids": [s.id for s in joined]}).scalars())
        events, notes = [], []  # notes: (index into events, rank) of each thread note
        items: list[dict[str, Any]] = []
        results: list[IngestResult] = []
        for n, (how, what, rank) in enumerate(plan):
            if how == "held":
                results.append(what)
                continue
            if how == "same":
                first = results[what]
                results.append(IngestResult(first.case_id, first.mention_id, duplicate=True, new_case=False))
                continue
            unit, state = self.units[n], what
            assert unit.assessment is not None and state.id is not None
            mention_id = mention_ids[n]
            if how == "new":
                detail = {"mention_id": mention_id, "priority_reason": unit.assessment.reason}
                events.append(event_row(state.id, "received", unit.now, detail))
                items.append(outbox.row("post_parent", state.id, rank, unit.now, severity=unit.assessment.sentiment))
                lookup = profile_row(unit.mention, connector=unit.connector, case_id=state.id, now=unit.now)
                if lookup is not None:  # as `ingest` writes it: right after the case message
                    items.append(lookup)
            else:
                notes.append((len(events), len(items)))
                events.append(event_row(state.id, "mention_added", unit.now, {"mention_id": mention_id}))
                items.append(outbox.row("thread_note", state.id, rank, unit.now))
                if state.stored is not None and state.id not in waiting and not state.refresh:
                    state.refresh = True
                    items.append(outbox.row("update_parent", state.id, rank, unit.now))
            stored(
                self.session,
                case_id=state.id,
                platform=unit.mention.platform,
                connector=unit.connector,
                new_case=how == "new",
            )
            results.append(IngestResult(state.id, mention_id, duplicate=False, new_case=how == "new"))
        if events:  # one per post written, and each brings an outbox item
            conn.execute(_EVENT_ROWS, [{**event, "id": n} for event, n in zip(events, event_ids, strict=True)])
            for event_at, item_at in notes:
                items[item_at]["payload"] = {"event_id": event_ids[event_at]}
            conn.execute(_ITEM_ROWS, items)
        return results

    @staticmethod
    def _new_case_row(unit: PendingMention, a: triage.Assessment) -> dict[str, Any]:
        m = unit.mention
        return {
            "platform": m.platform,
            "connector": unit.connector,
            "author_id": m.author.id,
            "author_handle": m.author.handle,
            "author_name": m.author.name,
            "status": CaseStatus.OPEN,
            "priority": a.priority,
            "slack_channel": unit.channel,
            "created_at": unit.now,
            "updated_at": unit.now,
            **case_times(m, unit.now),
        }

    @staticmethod
    def _mention_row(unit: PendingMention, a: triage.Assessment) -> dict[str, Any]:
        m = unit.mention
        return {
            "platform": m.platform,
            "external_id": m.external_id,
            "author_id": m.author.id,
            "author_handle": m.author.handle,
            "author_name": m.author.name,
            "text": m.text,
            "url": m.url,
            "posted_at": m.posted_at,
            "received_at": unit.now,
            **verdict(a),
            "extra": dict(m.extra),
            "private": m.private,
        }

    @staticmethod
    def _join(state: _CaseState, unit: PendingMention, a: triage.Assessment) -> None:
        """What `ingest.ingest` does to the author's open case when a post joins it."""
        row, author = state.row, unit.mention.author
        row["priority"] = triage.escalate_priority(row["priority"], a.priority)
        row["author_name"] = author.name or row["author_name"]
        row["author_handle"] = handle_for(author, row["author_handle"])
        row["updated_at"] = unit.now
        row["last_private_at"], row["last_customer_at"] = joined_times(row, unit.mention, unit.now)
        if state.stored is not None and row["first_response_at"] is not None and row["awaiting_reply_since"] is None:
            row["awaiting_reply_since"] = unit.now  # the customer wrote again after we answered

    @staticmethod
    def _join_params(state: _CaseState) -> dict[str, Any]:
        row, stored = state.row, state.stored
        assert stored is not None
        return {
            "case_id": state.id,
            "priority": row["priority"],
            "author_name": row["author_name"],
            "author_handle": row["author_handle"],
            "updated_at": row["updated_at"],
            "awaiting_reply_since": row["awaiting_reply_since"],
            "last_private_at": row["last_private_at"],
            "last_customer_at": row["last_customer_at"],
            "reminder_check_at": None if clocks_moved(stored, row) else stored["reminder_check_at"],
        }
