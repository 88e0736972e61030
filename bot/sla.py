"""Service-level clocks: how long a customer may wait, counted only while the team is at work.

Why a module of its own: the reminder sweep, `/care stats`, the digest and the Home tab must all agree
on when a case is due and whether it breached; they all ask this one policy.

Business hours are written like `Mon-Fri 09:00-17:30` (several ranges separated by commas, e.g.
`Mon-Fri 09:00-17:30, Sat 10:00-14:00`) and read in `CARE_TIMEZONE`. Without them (or with `24/7`) the
clocks run around the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.clock import as_utc

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# One part of a duration: an amount (ASCII digits, perhaps a decimal point) and its unit, short or spelt out:
# `90s`, `1.5h`, `90 minutes`; parts combine largest unit first (`1h30m`, `1 hour 30 minutes`).
_DURATION_PART = re.compile(
    r"\s*(?P<amount>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*"
    r"(?P<unit>d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)(?![a-z])\s*",
    re.IGNORECASE | re.ASCII,
)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}  # keyed by the unit's first letter, largest first
MAX_DURATION = timedelta(days=365)  # a longer SLA or reminder is a typo, and would overflow datetime arithmetic
_RANGE = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+(?P<t1>\d{1,2}:\d{2})\s*-\s*(?P<t2>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `1h30m`, `1.5h`, `2d`, `90 minutes` → timedelta, from a second up to a year.

    ValueError with a plain message otherwise (garbage, zero, more than a year, a repeated unit)."""
    parts: list[tuple[str, str]] = []
    position, text = 0, text or ""
    while position < len(text) or not parts:
        match = _DURATION_PART.match(text, position)
        if not match:
            raise ValueError("a duration like 90s, 30m, 4h or 2d")
        parts.append((match.group("amount"), match.group("unit")[0].lower()))
        position = match.end()
    units = [unit for _, unit in parts]
    if units != sorted(set(units), key=list(_UNIT_SECONDS).index):  # each unit once, largest first
        raise ValueError("a duration like 90s, 30m, 4h or 2d")
    # Decimal: exact for `1.5h`, and no overflow or digit limit whatever the amount's length
    seconds = sum((Decimal(amount) * _UNIT_SECONDS[unit] for amount, unit in parts), Decimal(0))
    if seconds > Decimal(MAX_DURATION.total_seconds()):
        raise ValueError("a duration of at most a year (365d), like 90s, 30m, 4h or 2d")
    delta = timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))
    if delta <= timedelta(0):
        raise ValueError("a duration greater than zero, like 90s, 30m, 4h or 2d")
    return delta


def format_duration(delta: timedelta) -> str:
    """A short human form for messages: `45s`, `12 min`, `3 h 05 min`, `2 d 4 h`."""
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d" if hours == 0 else f"{days} d {hours} h"


def _shown(part: str, limit: int = 60) -> str:
    """A range as an error message quotes it: on one line, and cut short if long."""
    part = part.strip()
    return repr(part) if len(part) <= limit else repr(part[:limit]) + "…"


def _clock_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError
    return time(hours, minutes)


@dataclass(frozen=True)
class BusinessHours:
    """Working windows per weekday (0 = Monday) in one time zone; `always` means the clocks never stop."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    windows: tuple[tuple[tuple[time, time], ...], ...] = ((),) * 7
    always: bool = True

    @classmethod
    def parse(cls, text: str | None, tz: ZoneInfo) -> BusinessHours:
        """Read `Mon-Fri 09:00-17:30[, Sat 10:00-14:00]`; ValueError names what is expected."""
        if not text or not text.strip() or text.strip().lower() in ("24/7", "always"):
            return cls(tz=tz)
        per_day: list[list[tuple[time, time]]] = [[] for _ in DAYS]
        for part in text.split(","):
            match = _RANGE.match(part)
            if not match:
                raise ValueError(f"could not read {_shown(part)}")
            first = match.group("d1").lower()
            last = (match.group("d2") or first).lower()
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"unknown day in {_shown(part)}")
            try:
                start, end = _clock_time(match.group("t1")), _clock_time(match.group("t2"))
            except ValueError:
                raise ValueError(f"bad time in {_shown(part)}") from None
            if end <= start:
                raise ValueError(f"the range {_shown(part)} ends before it starts")
            index = DAYS.index(first)
            while True:
                per_day[index].append((start, end))
                if DAYS[index] == last:
                    break
                index = (index + 1) % 7
        return cls(tz=tz, windows=tuple(tuple(sorted(day)) for day in per_day), always=False)

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working windows as UTC instants (DST-correct: built in local time, then converted)."""
        spans = []
        for start, end in self.windows[day.weekday()]:
            local_start = datetime.combine(day, start, tzinfo=self.tz)
            local_end = (
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
                if end == time.max
                else datetime.combine(day, end, tzinfo=self.tz)
            )
            spans.append((local_start.astimezone(UTC), local_end.astimezone(UTC)))
        return spans

    def is_open(self, at: datetime) -> bool:
        if self.always:
            return True
        at = as_utc(at)
        local_day = at.astimezone(self.tz).date()
        return any(start <= at < end for start, end in self._spans(local_day))

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero if end is not after start)."""
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            return timedelta(0)
        if self.always:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        while day <= last:
            for span_start, span_end in self._spans(day):
                lo, hi = max(start, span_start), min(end, span_end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of working time has passed since `start`."""
        start = as_utc(start)
        if self.always or amount <= timedelta(0):
            return start + amount
        remaining = amount
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(366 * 20):  # bounded: parse() guarantees at least one window a week
            for span_start, span_end in self._spans(day):
                lo = max(start, span_start)
                if span_end <= lo:
                    continue
                available = span_end - lo
                if available >= remaining:
                    return lo + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("business hours leave no working time")  # pragma: no cover


@dataclass(frozen=True)
class SlaTargets:
    first_response: timedelta = timedelta(hours=1)
    next_response: timedelta = timedelta(hours=2)
    resolution: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class SlaPolicy:
    """The targets per priority, the offline follow-through limit, and the hours the clocks run."""

    normal: SlaTargets = field(default_factory=SlaTargets)
    urgent: SlaTargets = field(default_factory=SlaTargets)
    offline: timedelta = timedelta(hours=24)
    hours: BusinessHours = field(default_factory=BusinessHours)

    def targets(self, priority: str) -> SlaTargets:
        return self.urgent if priority == "urgent" else self.normal

    def due(self, started: datetime, limit: timedelta, fraction: float = 1.0) -> datetime:
        """When `fraction` of `limit` has run, counting working time only (0.8 = the near-breach moment)."""
        return self.hours.add(started, limit * fraction)

    def elapsed(self, started: datetime, until: datetime) -> timedelta:
        return self.hours.working_time(started, until)

    def met(self, started: datetime, answered: datetime, limit: timedelta) -> bool:
        return self.elapsed(started, answered) <= limit


# The clocks the reminder sweep watches, and the stages at which it speaks (fractions of the limit).
FIRST_RESPONSE = "first_response"  # from the case's creation until the first reply or move to DM
NEXT_RESPONSE = "next_response"  # from the customer writing again until the next staff response
RESOLUTION = "resolution"  # from creation until resolved or ignored
OFFLINE = "offline"  # from the move to DM until resolved (CARE_SLA_OFFLINE)
FOLLOW_UP = "follow_up"  # a promise staff made: due at a wall-clock moment, not a fraction of a limit

NEAR, BREACH, ESCALATION, DUE = "near", "breach", "escalation", "due"
SLA_STAGES: tuple[tuple[str, float], ...] = ((NEAR, 0.8), (BREACH, 1.0), (ESCALATION, 2.0))
OFFLINE_STAGES: tuple[tuple[str, float], ...] = ((DUE, 1.0),)
