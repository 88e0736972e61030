"""Teammates' names, cached: outgoing messages use the staff member's first name."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.models import StaffMember

FRESH_FOR = timedelta(days=1)


def cached_first_name(session: Session, *, user_id: str, now: datetime) -> str | None:
    member = session.get(StaffMember, user_id)
    if member is None or now - member.fetched_at > FRESH_FOR:
        return None
    return member.first_name


def remember(session: Session, *, user_id: str, first_name: str, display_name: str, now: datetime) -> None:
    member = session.get(StaffMember, user_id)
    if member is None:
        session.add(StaffMember(user_id=user_id, first_name=first_name, display_name=display_name, fetched_at=now))
    else:
        member.first_name, member.display_name, member.fetched_at = first_name, display_name, now
