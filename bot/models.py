"""The stored domain: cases, the customer's mentions, the append-only event log, and the outbox.

The database is the source of truth for everything shown in Slack: the Slack message is re-rendered
from these rows, never read back from Slack.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class CaseStatus:
    OPEN = "open"
    RESOLVED = "resolved"
    IGNORED = "ignored"
    CLOSED = (RESOLVED, IGNORED)


FACT_KEYS = ("platform", "owner_id", "priority")  # what the figures group a period's cases by


class Case(Base):
    """One customer's conversation with the brand on one platform."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    connector: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[str] = mapped_column(String(128))
    author_handle: Mapped[str] = mapped_column(String(128))
    author_name: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    slack_channel: Mapped[str] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    drafting_by: Mapped[str | None] = mapped_column(String(32))
    drafting_since: Mapped[datetime | None]
    draft_text: Mapped[str | None] = mapped_column(Text)
    draft_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    moved_offline_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The customer wrote again after a staff response: the next-response clock runs from here.
    awaiting_reply_since: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    follow_up_by: Mapped[str | None] = mapped_column(String(32))
    # When the reminder sweep must look at this case again; NULL: at the next sweep. Never later than a
    # reminder falls due: any change to what the clocks depend on clears it (see _clocks_changed below).
    reminder_check_at: Mapped[datetime | None]
    # `first_response_at - created_at` in microseconds, kept by _first_response_wait below: the figures
    # count and rank waits in SQL instead of subtracting timestamps per case in Python.
    first_response_wait: Mapped[int | None] = mapped_column(BigInteger)
    # The surge batch (SurgeBatch.id) that lists this case in the spike alert's thread instead of a case message
    # of its own; NULL for a case with its own message, and again once someone opens it as a case.
    gathered_in: Mapped[int | None] = mapped_column(Integer)
    # When the customer last wrote to us privately (a DM): the case message shows it, and Meta's 24-hour messaging
    # window is counted from it. `last_customer_at` is their last message of any kind: the follow-through clock of a
    # case moved to DM counts from it (see `follow_through_start`). Both are the post's time, never in the future.
    last_private_at: Mapped[datetime | None]
    last_customer_at: Mapped[datetime | None]

    mentions: Mapped[list[Mention]] = relationship(
        back_populates="case", order_by="Mention.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )
    reminders: Mapped[list[Reminder]] = relationship(
        order_by="Reminder.id", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_cases_open_author", "platform", "connector", "author_id", "status"),
        # the figures, the queues and the sweep select by these, never by scanning every case; the
        # columns after the times make them covering, so a period's figures never read the table itself
        Index("ix_cases_status_created", "status", "created_at"),
        Index("ix_cases_created_facts", "created_at", *FACT_KEYS, "first_response_wait"),
        Index("ix_cases_closed_facts", "closed_at", "status", "created_at", *FACT_KEYS),
        # in the order the figures group by, so the open cases are counted without sorting them
        Index("ix_cases_status_facts", "status", *FACT_KEYS, "created_at", "first_response_wait"),
        # a person's queue: counted by priority and listed oldest first, straight from the index
        Index("ix_cases_owner_queue", "owner_id", "status", "priority", "created_at"),
        Index("ix_cases_status_check", "status", "reminder_check_at"),
        # a customer's earlier cases on the desk (bot/services/customers.py), newest first, from the index alone
        Index("ix_cases_author_history", "platform", "author_id", "id"),
    )

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN

    @property
    def follow_through_since(self) -> datetime | None:
        return follow_through_start(self.moved_offline_at, self.last_customer_at)

    @property
    def latest_mention(self) -> Mention:
        return self.mentions[-1]


class Mention(Base):
    """A customer's post. (platform, external_id) is unique: that is what makes ingest idempotent."""

    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(256))
    author_id: Mapped[str] = mapped_column(String(128))
    author_handle: Mapped[str] = mapped_column(String(128))
    author_name: Mapped[str | None] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2048))
    posted_at: Mapped[datetime]
    received_at: Mapped[datetime]
    sentiment: Mapped[float] = mapped_column(Float)
    # the triage policy's verdict on this post (bot/services/triage.py); None on posts stored before it gave one
    needs_reply: Mapped[bool | None]
    triage_score: Mapped[float | None] = mapped_column(Float)
    triage_reason: Mapped[str | None] = mapped_column(String(300))  # "High · needs a reply: 'refund' · tone calm"
    triage_kind: Mapped[str | None] = mapped_column(String(16))  # "praise", "troll" or ""
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # a message the customer sent us privately (a DM), not a public post
    private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    case: Mapped[Case] = relationship(back_populates="mentions")

    __table_args__ = (
        UniqueConstraint("platform", "external_id"),
        Index("ix_mentions_received_sentiment", "received_at", "sentiment"),  # sentiment by day (covering), praise
    )


class CaseEvent(Base):
    """Append-only record of everything that happened to a case: who, what, when, and the exact text sent."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    text_sent: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


class OutboxItem(Base):
    """Work that must reach Slack or a platform exactly once, written in the same transaction as its cause.

    `lane` separates Slack deliveries from platform sends so a slow platform never holds up Slack.
    `sequence_key` orders items that must not overtake each other (a case's thread notes).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    lane: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    priority_rank: Mapped[int] = mapped_column(Integer, default=2)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # Within a priority, worst first: a new case's post carries its sentiment (-1 the worst), so in a storm a
    # furious complaint goes ahead of the milder ones that arrived before it. 0 for everything else.
    severity: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    __table_args__ = (
        Index("ix_outbox_ready", "lane", "state", "priority_rank", "severity", "available_at"),
        # "is an older item of this case still pending?", asked of every candidate a worker looks at: without
        # it each question scanned the whole pending queue (a storm's thousands), 20 ms a lease
        Index("ix_outbox_case_state", "case_id", "state"),
    )


class Reminder(Base):
    """A reminder that was sent: one row per case, clock, stage and clock start, never two.

    The row is written in the same transaction as the reminder's outbox items, and the unique
    constraint is what keeps two sweeps (two processes, or a restart mid-sweep) from sending it twice.
    `clock_start` tells apart the rounds of a clock that can run more than once (the customer writing
    again, a new follow-up).
    """

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    clock_start: Mapped[datetime]
    sent_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("case_id", "clock", "stage", "clock_start"),
        Index("ix_reminders_clock_start", "clock_start"),  # the digest's breaches of the day
    )


class StaffMember(Base):
    """Cached Slack profile of a teammate, so messages can use their first name without a lookup each time."""

    __tablename__ = "staff"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(256))
    fetched_at: Mapped[datetime]


class PollCursor(Base):
    """Where a polling connector got to, and which process may poll it now.

    The cursor is written in the same transaction as the mentions it covers, so a restart resumes
    exactly there: nothing missed, nothing twice. `next_poll_at` keeps the configured pace across
    restarts and processes (X bills every read); the lease lets one process of several poll at a time.
    """

    __tablename__ = "poll_cursors"

    connector: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # "rate_limited", "refused" (credentials or permissions: a person must act) or "failed" (it retries)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    failures: Mapped[int] = mapped_column(Integer, default=0)


class DigestMarker(Base):
    """The daily digest for (day, recipient) has been queued: the unique key makes it once a day.

    Written in the same transaction as the digest's outbox item, so several processes ticking at the
    same minute queue it once between them, and a restarted process does not queue it again.
    """

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    recipient: Mapped[str] = mapped_column(String(32))
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("day", "recipient"),)


class ConnectorCredential(Base):
    """A connector's rotating OAuth credentials, shared by every process: X's single-use refresh token.

    X returns a new refresh token on every refresh and the old one stops working, so the newest must
    outlive the process and be the one every replica uses. The refresh happens under this row's lock
    (SELECT … FOR UPDATE; SQLite's write lock), and the access token is kept too, so a process that
    lost the race adopts the winner's token instead of refreshing again. `seeded_from` is a SHA-256 of
    the configured refresh token the row started from: when the operator re-authorizes and sets a new
    one, it replaces the stored chain.
    """

    __tablename__ = "connector_credentials"

    connector: Mapped[str] = mapped_column(String(32), primary_key=True)
    refresh_token: Mapped[str] = mapped_column(Text)
    seeded_from: Mapped[str] = mapped_column(String(64))
    access_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class DeskStart(Base):
    """When this desk first ran: one row, written by the first process that ever starts on the database.

    The daily digest reports only on whole days from here on, so a new installation never sends its
    managers a report about a day on which it did not exist.
    """

    __tablename__ = "desk_start"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1: there is one desk
    started_at: Mapped[datetime]
    # the SLA settings every open case's next reminder check was planned with (bot/services/reminders.py
    # `recheck_if_changed`): a restart with the same settings need not look at every open case again
    sla_fingerprint: Mapped[str | None] = mapped_column(String(64))


class HandledDelivery(Base):
    """A staff action, submission or event from Slack that has been acted on: its key makes it act once.

    Slack may deliver the same thing more than once (a double submit, its retries, a click sent again),
    possibly to different replicas. The first delivery inserts the key before acting; every other one
    finds it taken and is acknowledged without acting. `key` is a digest of what identifies the
    delivery (see handlers/gate.py); `kind` says what it was, for the curious and for pruning.
    """

    __tablename__ = "handled_deliveries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    handled_at: Mapped[datetime] = mapped_column(index=True)  # prune() deletes by age


# What the SLA clocks of a case depend on: a change to any of them may bring a reminder forward.
CLOCK_INPUTS = (
    "status",
    "priority",
    "created_at",
    "first_response_at",
    "awaiting_reply_since",
    "moved_offline_at",
    "last_customer_at",
    "snoozed_until",
    "follow_up_at",
    "owner_id",
)


@event.listens_for(Session, "before_flush")
def _clocks_changed(session: Session, _context: object, _instances: object) -> None:
    """Keep `Case.reminder_check_at` honest whatever code path changed a case: the sweep looks again next time."""
    for case in session.dirty:
        if isinstance(case, Case) and any(inspect(case).attrs[name].history.has_changes() for name in CLOCK_INPUTS):
            case.reminder_check_at = None


def follow_through_start(moved_offline_at: datetime | None, last_customer_at: datetime | None) -> datetime | None:
    """When the follow-through clock of a case moved to DM starts: the move, or the customer's last message after
    it (public or private: a conversation going on in the DM is not a case left alone). None: not moved."""
    if moved_offline_at is None:
        return None
    if last_customer_at is None or last_customer_at <= moved_offline_at:
        return moved_offline_at
    return last_customer_at


def wait_microseconds(created_at: datetime, first_response_at: datetime | None) -> int | None:
    """The stored form of a first-response wait (exact: timedelta's own resolution); the migration shares it."""
    if first_response_at is None:
        return None
    return (as_utc(first_response_at) - as_utc(created_at)) // timedelta(microseconds=1)


@event.listens_for(Session, "before_flush")
def _first_response_wait(session: Session, _context: object, _instances: object) -> None:
    """Keep `Case.first_response_wait` equal to its timestamps whatever ORM path set them (replies, tests, tools)."""
    for case in (*session.new, *session.dirty):
        if isinstance(case, Case) and case.created_at is not None:
            wait = wait_microseconds(case.created_at, case.first_response_at)
            if case.first_response_wait != wait:
                case.first_response_wait = wait


class ChannelPace(Base):
    """When the next message may be posted to a Slack channel, one row per channel for every replica.

    Slack allows about one chat.postMessage per second per channel; the outbox takes each moment with a
    conditional UPDATE (bot/services/outbox.py `claim_post`), and a 429's Retry-After moves it later.
    """

    __tablename__ = "channel_pace"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[datetime]


class Surge(Base):
    """A spike of mentions, and the one alert in the care channel that shows it (bot/services/surge.py).

    `ongoing` is 1 while the surge lasts and NULL once it is over: its unique constraint lets one surge last at a
    time, so two processes that see the same spike start one between them (the second INSERT fails). Every change
    is a conditional UPDATE on `revision`, so of two processes ticking at once only one queues the alert's update.
    `shown` is what the alert shows (the figures the last tick measured), `calm_since` when the spike last went
    quiet. The alert's ts is recorded once Slack has taken it; the alert's thread is where item 3 gathers mentions.
    """

    __tablename__ = "surges"

    id: Mapped[int] = mapped_column(primary_key=True)
    ongoing: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    calm_since: Mapped[datetime | None]
    peak_per_min: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    shown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    slack_channel: Mapped[str] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("ongoing"),)


class SurgeBatch(Base):
    """One message in a surge alert's thread listing several low- and normal-priority posts (bot/services/surge.py).

    `entries` are [case id, mention id, wrote again (0/1)], each post listed once in all batches; written in the
    transaction that withdrew those cases' own messages, so every post is either a case message or in a batch.
    The message's ts is recorded once Slack has taken it (an "Open as case" click updates it in place).
    """

    __tablename__ = "surge_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    surge_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime]
    entries: Mapped[list[Any]] = mapped_column(JSON, default=list)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
