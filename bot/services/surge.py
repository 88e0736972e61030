"""Surges: when mentions come faster than the care channel can show them, one alert says so and keeps up.

A tick (bot/schedule/jobs.py, every few seconds in every process) reads two numbers from the database: the
mentions received in the last minute (the indexed `mentions.received_at`) and the backlog, the new case
messages still waiting for their turn in the channel (pending `post_parent` items; Slack takes about one a
second). Either reaching the threshold (CARE_SPIKE_PER_MIN) starts a surge: a `surges` row and the alert's
post, queued in one transaction. While it lasts, each tick measures again and queues an update of that one
message only when something it shows changed. It ends once the rate is under the threshold and the backlog
is down to a few seconds of channel time (CALM_BACKLOG) for QUIET in a row: a final update gives its totals
and how long it lasted (from its start to the moment it went quiet).

Exactly once with any number of processes: the unique `surges.ongoing` lets one INSERT win a start, and every
later change is a conditional UPDATE on `surges.revision`, so two ticks seeing the same state queue one
update between them. Every Slack effect is an outbox item written with the state change that caused it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import updated
from bot.models import Case, Mention, OutboxItem, Surge
from bot.services import outbox

POST = "surge_alert"  # the alert's chat.postMessage
UPDATE = "surge_update"  # its chat.update: one of outbox.UPDATE_KINDS, so the updates worker sends it
KINDS = (POST, UPDATE)
# The alert goes before every new case message and beside what people did: a storm's whole point is that the
# team hears of it at once, and it is one message per surge, so it can hold nothing up for long.
ALERT_RANK = outbox.STAFF_RANK

WINDOW = timedelta(minutes=1)  # "a minute": the rate is the mentions received in the last one
QUIET = timedelta(minutes=3)  # calm for this long in a row, and the surge is over
CALM_BACKLOG = 10  # case messages waiting: about ten seconds of the channel's time
NEGATIVE, POSITIVE = -0.05, 0.05  # VADER's documented compound thresholds
WORST = 5  # the most negative mentions shown, each with its case's buttons
TERMS, PHRASES = 6, 4
TEXT_SAMPLE = 5000  # the most recent mentions whose words are counted (a tick stays cheap in a huge surge)


@dataclass(frozen=True)
class Reading:
    rate: int  # mentions received in the last minute
    backlog: int  # new case messages not yet posted


@dataclass(frozen=True)
class Tick:
    surge_id: int | None = None
    started: bool = False
    updated: bool = False
    ended: bool = False


def reading(session: Session, *, now: datetime) -> Reading:
    """The two numbers a surge is judged by, each one indexed count."""
    rate = session.scalar(
        select(func.count()).select_from(Mention).where(Mention.received_at > now - WINDOW, Mention.received_at <= now)
    )
    backlog = session.scalar(
        select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.lane == outbox.SLACK, OutboxItem.state == outbox.PENDING, OutboxItem.kind == "post_parent")
    )
    return Reading(rate=int(rate or 0), backlog=int(backlog or 0))


def current(session: Session) -> Surge | None:
    """The surge going on now, if any (item 3 asks this of every new mention, so it is one unique-key lookup)."""
    return session.scalars(select(Surge).where(Surge.ongoing == 1)).first()


def tick(session: Session, *, now: datetime, threshold: int, channel: str, escalate_to: Iterable[str] = ()) -> Tick:
    """Start, update or end the surge as the database says; idempotent, and safe in several processes at once."""
    found = reading(session, now=now)
    surge = current(session)
    if surge is None:
        if found.rate < threshold and found.backlog < threshold:
            return Tick()
        return _start(session, now=now, found=found, channel=channel, escalate_to=tuple(escalate_to))
    calm = found.rate < threshold and found.backlog <= CALM_BACKLOG
    calm_since = (surge.calm_since or now) if calm else None
    ending = calm_since is not None and now - calm_since >= QUIET
    peak = max(surge.peak_per_min, found.rate)
    until = calm_since if ending and calm_since is not None else now
    shown = summary(session, since=surge.started_at - WINDOW, until=until, found=found, peak=peak)
    changed = shown != surge.shown
    if not (changed or ending or calm_since != surge.calm_since or peak != surge.peak_per_min):
        return Tick(surge_id=surge.id)
    values: dict[str, Any] = {"calm_since": calm_since, "peak_per_min": peak, "shown": shown}
    if ending:
        values.update(ongoing=None, ended_at=calm_since)
    won = updated(
        session,
        update(Surge)
        .where(Surge.id == surge.id, Surge.revision == surge.revision, Surge.ongoing == 1)
        .values(revision=Surge.revision + 1, **values)
        .execution_options(synchronize_session=False),
    )
    if not won:  # another process took this tick: it queued whatever was needed
        return Tick(surge_id=surge.id)
    if changed or ending:
        _enqueue_update(session, surge_id=surge.id, now=now)
    return Tick(surge_id=surge.id, updated=changed or ending, ended=ending)


def _start(session: Session, *, now: datetime, found: Reading, channel: str, escalate_to: tuple[str, ...]) -> Tick:
    surge = Surge(
        ongoing=1,
        started_at=now,
        peak_per_min=found.rate,
        revision=0,
        shown={},
        slack_channel=channel,
    )
    try:
        with session.begin_nested():
            session.add(surge)
    except IntegrityError:  # another process started it a moment ago: its alert is the one
        return Tick()
    surge.shown = summary(session, since=now - WINDOW, until=now, found=found, peak=found.rate)
    outbox.enqueue(
        session,
        lane=outbox.SLACK,
        kind=POST,
        priority_rank=ALERT_RANK,
        payload={"surge_id": surge.id, "notify": list(escalate_to)},
        now=now,
    )
    return Tick(surge_id=surge.id, started=True)


def _enqueue_update(session: Session, *, surge_id: int, now: datetime) -> None:
    """Queue a re-render of the alert, unless one not yet started is queued: it renders the latest when sent."""
    waiting = session.scalars(
        select(OutboxItem.payload).where(
            OutboxItem.kind.in_(KINDS), OutboxItem.state == outbox.PENDING, OutboxItem.lease_until.is_(None)
        )
    ).all()
    if any(payload.get("surge_id") == surge_id for payload in waiting):
        return
    outbox.enqueue(
        session, lane=outbox.SLACK, kind=UPDATE, priority_rank=ALERT_RANK, payload={"surge_id": surge_id}, now=now
    )


def record_alert(session: Session, *, surge_id: int, ts: str) -> None:
    """Slack took the alert: its updates (and item 3's gathered mentions) go to this message."""
    session.execute(
        update(Surge)
        .where(Surge.id == surge_id, Surge.slack_ts.is_(None))
        .values(slack_ts=ts)
        .execution_options(synchronize_session=False)
    )


# -- what the alert shows -------------------------------------------------------------------------
def summary(session: Session, *, since: datetime, until: datetime, found: Reading, peak: int) -> dict[str, Any]:
    """The figures of the surge's mentions (received after `since`, up to `until`), as stored in `surges.shown`.

    Plain JSON, compared with the stored one to decide whether the alert needs an update."""
    window = (Mention.received_at > since, Mention.received_at <= until)
    mix = session.execute(
        select(
            func.coalesce(func.sum(case((Mention.sentiment <= NEGATIVE, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Mention.sentiment >= POSITIVE, 1), else_=0)), 0),
            func.count(),
        ).where(*window)
    ).one()
    negative, positive, mentions = int(mix[0]), int(mix[1]), int(mix[2])
    cases = session.execute(
        select(func.count(), func.count(Case.first_response_wait)).where(
            Case.created_at > since, Case.created_at <= until
        )
    ).one()
    texts = session.scalars(select(Mention.text).where(*window).order_by(Mention.id.desc()).limit(TEXT_SAMPLE))
    terms, phrases = common_terms(texts)
    worst = _worst(session, window)
    states = {row.id: [row.status, row.owner_id] for row in _states(session, [c for c, _ in worst])}
    return {
        "rate": found.rate,
        "backlog": found.backlog,
        "peak": peak,
        "mentions": mentions,
        "cases": int(cases[0]),
        "answered": int(cases[1]),
        "mix": [negative, mentions - negative - positive, positive],
        "terms": [[t, n] for t, n in terms],
        "phrases": [[p, n] for p, n in phrases],
        # each shown with its case's buttons and state: a claim or a resolve changes what the alert must show
        "worst": [[case_id, mention_id, *states.get(case_id, [None, None])] for case_id, mention_id in worst],
    }


def _worst(session: Session, window: tuple[Any, ...]) -> list[tuple[int, int]]:
    """The most negative mentions of the window, one per case: (case id, mention id), worst first."""
    rows = session.execute(
        select(Mention.case_id, Mention.id)
        .where(*window, Mention.sentiment <= NEGATIVE)
        .order_by(Mention.sentiment, Mention.id)
        .limit(WORST * 4)
    ).all()
    picked: dict[int, int] = {}
    for case_id, mention_id in rows:
        picked.setdefault(case_id, mention_id)
    return list(picked.items())[:WORST]


def _states(session: Session, case_ids: list[int]) -> list[Any]:
    if not case_ids:
        return []
    return list(session.execute(select(Case.id, Case.status, Case.owner_id).where(Case.id.in_(case_ids))))


# English function words, and what social posts are full of without saying anything (rt, amp from &amp;, via)
_STOP_TEXT = """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
    few for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's i i'd i'll i'm i've if im in into is isn't it it's its itself just let's
    me more most mustn't my myself no nor not now of off on once only or other ought our ours ourselves out over
    own same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through to too under
    until up us very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's
    which while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves also still really one will yes yeah ok okay oh please thanks thank hi hey
    rt amp via http https www com"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_WORD = re.compile(r"#?[a-z0-9][a-z0-9']*")
_CLAUSE = re.compile(r"[.,;:!?()\n]+")


def words(text: str) -> list[str]:
    """A post's words, lower case, in order: links and @handles left out (they name the brand, not the problem)."""
    return _words(_clean(text))


def _clean(text: str) -> str:
    return _HANDLE.sub(" ", _URL.sub(" ", text.lower().replace("\u2019", "'")))


def _words(cleaned: str) -> list[str]:
    return [w.rstrip("'") for w in _WORD.findall(cleaned)]


def _content(word: str) -> bool:
    bare = word.lstrip("#")
    return len(bare) >= 3 and word not in STOP_WORDS and not bare.isdigit()


def common_terms(
    texts: Iterable[str], *, terms: int = TERMS, phrases: int = PHRASES
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The most common words and two-word phrases (adjacent, neither a stop word), each counted once per post so one
    angry thread cannot outweigh a hundred customers; only those in at least two posts. Ties go alphabetically,
    so the same posts always give the same answer."""
    single: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for text in texts:
        cleaned = _clean(text)
        single.update({w for w in _words(cleaned) if _content(w)})
        post_pairs: set[str] = set()
        for clause in _CLAUSE.split(cleaned):  # a phrase never runs across a full stop or a comma
            found = _words(clause)
            post_pairs.update(f"{a} {b}" for a, b in zip(found, found[1:], strict=False) if _content(a) and _content(b))
        pairs.update(post_pairs)
    return _top(single, terms), _top(pairs, phrases)


def _top(counts: Counter[str], n: int) -> list[tuple[str, int]]:
    return sorted(((k, v) for k, v in counts.items() if v >= 2), key=lambda kv: (-kv[1], kv[0]))[:n]


# -- rendering's data ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Example:
    case: Case
    mention: Mention


@dataclass(frozen=True)
class Alert:
    """A surge as its alert shows it: read by the Slack lane at delivery, rendered by bot/blocks/surge.py."""

    surge_id: int
    channel: str
    ts: str | None
    started_at: datetime
    ended_at: datetime | None
    shown: dict[str, Any]
    examples: list[Example]


def alert(session: Session, *, surge_id: int) -> Alert | None:
    surge = session.get(Surge, surge_id)
    if surge is None:
        return None
    examples = []
    for case_id, mention_id, *_ in surge.shown.get("worst", []):
        found_case, found_mention = session.get(Case, case_id), session.get(Mention, mention_id)
        if found_case is not None and found_mention is not None:  # an erased case is no longer shown
            examples.append(Example(found_case, found_mention))
    return Alert(
        surge_id=surge.id,
        channel=surge.slack_channel,
        ts=surge.slack_ts,
        started_at=surge.started_at,
        ended_at=surge.ended_at,
        shown=dict(surge.shown),
        examples=examples,
    )
