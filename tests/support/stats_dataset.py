"""A fixed week of cases with known timestamps, for figures checked by hand (tests of stats, digest, /care, Home).

Times are local to Europe/Berlin (UTC+1 in November); business hours Mon–Fri 09:00–17:00; first
response due within 1 h, or 15 min for urgent cases. Monday 23 November 2026 is "today".

| case | platform  | priority | created (local)  | first response    | state now                  | owner | mention score |
|------|-----------|----------|------------------|-------------------|----------------------------|-------|---------------|
| A    | twitter   | normal   | Mon 23 09:10     | 09:40 (30 min)    | open                       | Alice | -0.6          |
| B    | twitter   | high     | Mon 23 09:30     | 11:00 (90 min)    | resolved Mon 23 12:00      | Alice | -0.4          |
| C    | facebook  | urgent   | Mon 23 10:00     | 10:10 (10 min)    | open                       | Bob   | -0.8          |
| D    | facebook  | normal   | Mon 23 13:30     | none              | open                       | —     | -0.2          |
| E    | instagram | low      | Mon 23 14:30     | none              | open                       | —     | +0.6          |
| F    | twitter   | normal   | Mon 23 00:30     | none              | ignored Mon 23 00:35       | —     | -0.9          |
| G    | twitter   | normal   | Fri 20 16:30     | Mon 23 09:20      | resolved Mon 23 10:00      | Bob   | -0.7          |
| H    | reddit    | high     | Wed 18 10:00     | 10:20 (20 min)    | resolved Wed 18 12:00      | Alice | -0.5          |
| I    | reddit    | normal   | Sat 14 12:00     | none              | open                       | —     | -0.3, and -0.1 on Sun 22 12:00 |

F was created at 23:30 UTC on Sunday: it belongs to Monday in the team's time zone. G waited 64 h 50 min
on the wall clock but only 50 min of working time (30 min on Friday, 20 on Monday), so it met its target.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.models import Case, CaseStatus, Mention
from bot.sla import BusinessHours, SlaPolicy, SlaTargets

TZ = ZoneInfo("Europe/Berlin")
CHANNEL = "C0CARE"
ALICE, BOB = "U0ALICE", "U0BOB"
ENV = {
    "CARE_TIMEZONE": "Europe/Berlin",
    "CARE_BUSINESS_HOURS": "Mon-Fri 09:00-17:00",
    "CARE_SLA_FIRST_RESPONSE": "1h",
    "CARE_SLA_URGENT_FIRST_RESPONSE": "15m",
}
POLICY = SlaPolicy(
    normal=SlaTargets(first_response=timedelta(hours=1)),
    urgent=SlaTargets(first_response=timedelta(minutes=15)),
    hours=BusinessHours.parse("Mon-Fri 09:00-17:00", TZ),
)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, Berlin time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


NOW = local(23, 15, 0)  # Monday afternoon
TS = {name: f"17950000{n:02d}.000100" for n, name in enumerate("ABCDEFGHI", start=1)}


def add_case(
    session: Session,
    name: str,
    *,
    platform: str,
    priority: str,
    created: datetime,
    scores: list[tuple[datetime, float]],
    first_response: datetime | None = None,
    status: str = CaseStatus.OPEN,
    closed: datetime | None = None,
    owner: str | None = None,
    ts: str | None = None,
) -> Case:
    case = Case(
        platform=platform,
        connector="generic",
        author_id=f"author-{name}",
        author_handle=f"cust_{name.lower()}",
        author_name=f"Customer {name}",
        status=status,
        priority=priority,
        owner_id=owner,
        slack_channel=CHANNEL,
        slack_ts=ts or TS.get(name),
        created_at=created,
        updated_at=created,
        first_response_at=first_response,
        closed_at=closed,
        outcome={"resolved": "resolved", "ignored": "spam"}.get(status),
    )
    session.add(case)
    session.flush()
    for n, (received, score) in enumerate(scores):
        session.add(
            Mention(
                case_id=case.id,
                platform=platform,
                external_id=f"{name}-{n}",
                author_id=case.author_id,
                author_handle=case.author_handle,
                author_name=case.author_name,
                text=f"Post {n + 1} by customer {name}",
                url=f"https://example.com/{name}/{n}",
                posted_at=received,
                received_at=received,
                sentiment=score,
                extra={},
            )
        )
    session.flush()
    return case


def build(session: Session) -> dict[str, int]:
    """Insert the table above; returns each case's id by letter."""
    resolved, ignored = CaseStatus.RESOLVED, CaseStatus.IGNORED
    rows = [
        add_case(
            session,
            "A",
            platform="twitter",
            priority="normal",
            created=local(23, 9, 10),
            first_response=local(23, 9, 40),
            owner=ALICE,
            scores=[(local(23, 9, 10), -0.6)],
        ),
        add_case(
            session,
            "B",
            platform="twitter",
            priority="high",
            created=local(23, 9, 30),
            first_response=local(23, 11, 0),
            status=resolved,
            closed=local(23, 12, 0),
            owner=ALICE,
            scores=[(local(23, 9, 30), -0.4)],
        ),
        add_case(
            session,
            "C",
            platform="facebook",
            priority="urgent",
            created=local(23, 10, 0),
            first_response=local(23, 10, 10),
            owner=BOB,
            scores=[(local(23, 10, 0), -0.8)],
        ),
        add_case(
            session,
            "D",
            platform="facebook",
            priority="normal",
            created=local(23, 13, 30),
            scores=[(local(23, 13, 30), -0.2)],
        ),
        add_case(
            session,
            "E",
            platform="instagram",
            priority="low",
            created=local(23, 14, 30),
            scores=[(local(23, 14, 30), 0.6)],
        ),
        add_case(
            session,
            "F",
            platform="twitter",
            priority="normal",
            created=local(23, 0, 30),
            status=ignored,
            closed=local(23, 0, 35),
            scores=[(local(23, 0, 30), -0.9)],
        ),
        add_case(
            session,
            "G",
            platform="twitter",
            priority="normal",
            created=local(20, 16, 30),
            first_response=local(23, 9, 20),
            status=resolved,
            closed=local(23, 10, 0),
            owner=BOB,
            scores=[(local(20, 16, 30), -0.7)],
        ),
        add_case(
            session,
            "H",
            platform="reddit",
            priority="high",
            created=local(18, 10, 0),
            first_response=local(18, 10, 20),
            status=resolved,
            closed=local(18, 12, 0),
            owner=ALICE,
            scores=[(local(18, 10, 0), -0.5)],
        ),
        add_case(
            session,
            "I",
            platform="reddit",
            priority="normal",
            created=local(14, 12, 0),
            scores=[(local(14, 12, 0), -0.3), (local(22, 12, 0), -0.1)],
        ),
    ]
    return {name: case.id for name, case in zip("ABCDEFGHI", rows, strict=False)}
