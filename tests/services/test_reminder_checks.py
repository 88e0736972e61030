"""The sweep reads only the cases whose next reminder may be due (`Case.reminder_check_at`), and that check is
never later than the truth, whichever code path changed the case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import db
from bot.models import Case
from bot.services import cases, desk, reminders
from bot.sla import SlaPolicy, SlaTargets
from tests.support.stats_dataset import add_case

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = SlaPolicy()  # first response in 1 h: near 48 min, breach 60 min, escalation 120 min


def new_case(sessions, priority: str = "normal") -> int:
    with db.session_scope(sessions) as s:
        return add_case(s, "A", platform="twitter", priority=priority, created=START, scores=[(START, -0.5)]).id


def sweep(sessions, at: datetime) -> list[tuple[str, str]]:
    with db.session_scope(sessions) as s:
        return [(r.clock, r.stage) for r in reminders.sweep(s, policy=POLICY, now=START + (at - START))]


def check(sessions, case_id: int) -> datetime | None:
    with sessions() as s:
        found = s.get(Case, case_id)
        assert found is not None
        return found.reminder_check_at


def test_a_swept_case_is_next_looked_at_when_its_next_reminder_falls_due(sessions) -> None:
    case_id = new_case(sessions)
    assert check(sessions, case_id) is None  # new: the next sweep looks at it
    assert sweep(sessions, START + timedelta(minutes=1)) == []
    assert check(sessions, case_id) == START + timedelta(minutes=48)  # the near-breach moment
    assert sweep(sessions, START + timedelta(minutes=48)) == [("first_response", "near")]
    assert check(sessions, case_id) == START + timedelta(minutes=60)  # then the breach


def test_a_case_not_yet_due_for_a_check_is_not_read_even_if_a_reminder_is_due(sessions) -> None:
    """Proof that the sweep selects by the check: a check wrongly far ahead holds the reminder back."""
    new_case(sessions)
    with db.session_scope(sessions) as s:
        s.execute(Case.__table__.update().values(reminder_check_at=START + timedelta(days=1)))
    assert sweep(sessions, START + timedelta(minutes=50)) == []


def test_any_change_to_what_the_clocks_depend_on_brings_the_check_forward(sessions) -> None:
    case_id = new_case(sessions)
    sweep(sessions, START + timedelta(minutes=1))
    assert check(sessions, case_id) == START + timedelta(minutes=48)
    with db.session_scope(sessions) as s:
        cases.claim(s, case_id=case_id, user_id="U0ALICE", now=START + timedelta(minutes=2))
    assert check(sessions, case_id) is None  # cleared by the claim, whatever service made it
    sweep(sessions, START + timedelta(minutes=3))
    assert check(sessions, case_id) == START + timedelta(minutes=60)  # claimed: no near-breach nudge, the breach next


def test_a_snoozed_reminder_is_checked_when_the_snooze_ends(sessions) -> None:
    case_id = new_case(sessions)
    with db.session_scope(sessions) as s:
        reminders.snooze(s, case_id=case_id, user_id="U0ALICE", now=START + timedelta(minutes=40))
        until = s.get(Case, case_id).snoozed_until
    assert sweep(sessions, START + timedelta(minutes=50)) == []  # the near-breach is held by the snooze
    assert check(sessions, case_id) == until


def test_a_start_with_new_sla_settings_has_every_open_case_looked_at_again_and_a_plain_restart_not(sessions) -> None:
    """The checks were planned with the SLA settings: a process starting with other ones (or on a desk that never
    recorded them) has the next sweep look at every open case; a restart with the same ones leaves them be."""
    case_id = new_case(sessions)

    def start(policy: SlaPolicy) -> bool:
        with db.session_scope(sessions) as s:
            desk.record_start(s, now=START)
            return reminders.recheck_if_changed(s, policy=policy)

    assert start(POLICY)  # the first start on this desk
    sweep(sessions, START + timedelta(minutes=1))
    planned = check(sessions, case_id)
    assert planned is not None
    assert not start(POLICY)  # a restart, same settings
    assert check(sessions, case_id) == planned
    faster = SlaPolicy(normal=SlaTargets(first_response=timedelta(minutes=30)))
    assert start(faster)  # CARE_SLA_FIRST_RESPONSE changed
    assert check(sessions, case_id) is None
    assert not start(faster)
    assert start(POLICY)  # and back again
