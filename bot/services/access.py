"""Who may act: the care team acts on cases; managers may also take over, reassign and ask for the digest.

The team is CARE_TEAM (user IDs, and user groups expanded to their members) or, when that is unset, the
members of the care channel; managers (CARE_MANAGERS) always belong. Who is in a group or the channel is
Slack's to say, so the caller looks the lists up and hands them in as plain values (`team_from`);
`TeamCache` keeps the answer for at most a minute of the app's clock, so someone removed from the
channel or the group loses access within a minute, and Slack is asked at most once a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.errors import UserError

TTL = timedelta(seconds=60)

# What someone needs for an action: to be on the care team, or to be a manager.
TEAM = "team"
MANAGERS = "managers"


class NotAllowed(UserError):
    """The person is not on the care team (or not a manager) for what they tried; nothing was done."""


class TeamUnknown(UserError):
    """Slack did not tell us who is on the team just now: acting is refused until it does (fail closed)."""

    def __init__(self) -> None:
        super().__init__(
            "I couldn't check who is on the care team just now, so nothing was done. Please try again in a moment."
        )


@dataclass(frozen=True)
class Team:
    members: frozenset[str]
    managers: frozenset[str]

    def allows(self, user_id: str, need: str) -> bool:
        """With no CARE_MANAGERS, the team holds the managers' rights: a small team must still be able to take
        over an absent colleague's case, and an unset setting should not lock everyone out of it."""
        if need == MANAGERS and self.managers:
            return user_id in self.managers
        return user_id in self.members or user_id in self.managers


def team_from(
    *,
    configured: Iterable[str],
    managers: Iterable[str],
    channel_members: Iterable[str] = (),
    group_members: Mapping[str, Iterable[str]] | None = None,
) -> Team:
    """The team from CARE_TEAM (user IDs and S… groups, given their members), else the channel's members."""
    configured = tuple(configured)
    groups = group_members or {}
    if configured:
        members = {entry for entry in configured if not entry.startswith("S")}
        for entry in configured:
            if entry.startswith("S"):
                members.update(groups.get(entry, ()))
    else:
        members = set(channel_members)
    return Team(members=frozenset(members), managers=frozenset(managers))


def check(team: Team, *, user_id: str, need: str, what: str) -> None:
    """Raise `NotAllowed` with the sentence the person sees unless `user_id` may do `what`."""
    if team.allows(user_id, need):
        return
    who = "managers" if need == MANAGERS else "the care team"
    raise NotAllowed(f"Only {who} can {what}.")


class TeamCache:
    """The team as last looked up, for at most `ttl` of the app's clock; one lookup at a time.

    A failed lookup is not cached: the next request asks again (and is refused meanwhile).
    """

    def __init__(self, load: Callable[[], Team], clock: Clock, ttl: timedelta = TTL) -> None:
        self._load, self._clock, self._ttl = load, clock, ttl
        self._lock = threading.Lock()
        self._team: Team | None = None
        self._until: datetime | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> TeamCache:
        """Shared, never copied: Bolt deep-copies a request's context for its lazy listeners."""
        return self

    def get(self) -> Team:
        with self._lock:
            now = self._clock.now()
            if self._team is None or self._until is None or now >= self._until:
                self._team = self._load()
                self._until = now + self._ttl
            return self._team

    def forget(self) -> None:
        with self._lock:
            self._team, self._until = None, None
