"""Follow-up promises: "I'll get back to you in 4 hours", kept by a reminder when the moment comes.

A case holds at most one promise (`follow_up_at`, set by `follow_up_by`). It can be set with a reply,
from the follow-up menu under the move-to-DM note, or with the case's Follow up button, which also
clears it. The reminder sweep (services/reminders.py) delivers it once, in the thread and by DM.
Durations are wall-clock time: a promise made to a customer does not pause at closing time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.models import Case
from bot.services.cases import record, require_open
from bot.sla import parse_duration

CUSTOM = "custom"
CLEAR = "clear"
TOMORROW = "tomorrow"
TOMORROW_AT = time(9, 0)
PRESETS: dict[str, timedelta | None] = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    TOMORROW: None,
    "3d": timedelta(days=3),
}
LABELS = {
    "1h": "In 1 hour",
    "4h": "In 4 hours",
    TOMORROW: "Tomorrow at 09:00",
    "3d": "In 3 days",
    CUSTOM: "Custom…",
    CLEAR: "Clear the follow-up",
}


class FollowUpInvalid(UserError):
    """A follow-up choice that cannot be used; `field` says which modal input to mark."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def due_from_choice(choice: str | None, custom: str | None, *, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The moment a menu choice (or a custom duration like `90m`) means; None for no follow-up."""
    custom = (custom or "").strip()
    if custom and choice not in (None, "", CUSTOM):
        raise FollowUpInvalid("Choose “Custom…” to use your own duration, or empty this field.", field="custom")
    if choice == CUSTOM or custom:
        try:
            return now + parse_duration(custom)
        except ValueError as exc:
            raise FollowUpInvalid(f"Write {exc}.", field="custom") from None
    if not choice or choice == CLEAR:
        return None
    if choice == TOMORROW:
        tomorrow = now.astimezone(tz).date() + timedelta(days=1)
        return datetime.combine(tomorrow, TOMORROW_AT, tzinfo=tz).astimezone(UTC)
    if choice not in PRESETS:
        raise FollowUpInvalid("Pick when to follow up.", field="choice")
    delta = PRESETS[choice]
    assert delta is not None
    return now + delta


def set_follow_up(session: Session, *, case_id: int, user_id: str, due: datetime, now: datetime) -> Case:
    case = require_open(session, case_id)
    case.follow_up_at, case.follow_up_by = due, user_id
    record(
        session,
        case,
        actor=user_id,
        kind="follow_up_set",
        now=now,
        detail={"due": due.isoformat(), "in_seconds": (due - now).total_seconds()},
    )
    return case


def clear_follow_up(session: Session, *, case_id: int, user_id: str, now: datetime) -> Case:
    case = require_open(session, case_id)
    if case.follow_up_at is not None:
        case.follow_up_at, case.follow_up_by = None, None
        record(session, case, actor=user_id, kind="follow_up_cleared", now=now)
    return case


def choose(
    session: Session, *, case_id: int, user_id: str, choice: str | None, custom: str | None, now: datetime, tz: ZoneInfo
) -> Case:
    """Set or clear a case's follow-up from a menu choice; FollowUpInvalid for a choice that makes no sense."""
    if choice == CLEAR and not (custom or "").strip():
        return clear_follow_up(session, case_id=case_id, user_id=user_id, now=now)
    due = due_from_choice(choice, custom, now=now, tz=tz)
    if due is None:
        raise FollowUpInvalid("Pick when to follow up.", field="choice")
    return set_follow_up(session, case_id=case_id, user_id=user_id, due=due, now=now)
