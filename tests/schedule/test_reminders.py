"""SLA reminders as the team sees them: in the case thread, in the managers' DMs, on the parent message.

Time is a ManualClock; the sweep is the scheduler's own job function (`sweep_tick`), run by hand.
Default targets here: first response 1 h, next response 2 h, resolution 3 d (kept out of the way).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.models import OutboxItem, Reminder
from bot.schedule.jobs import sweep_tick
from bot.services import outbox
from tests.support.desk import Desk, ReminderDesk
from tests.support.env import CHANNEL, make_env
from tests.support.slack_requests import block_action, post_interaction
from tests.support.webhooks import post_webhook, webhook_body

BASE_ENV = {"CARE_MANAGERS": "U0BOSS,U0CHIEF", "CARE_SLA_RESOLUTION": "3d"}
MANAGER = "U0BOSS"  # reassigning is for managers (CARE_MANAGERS above)
GROUP = "<@U0LEAD> <!subteam^S0MANAGERS>"  # CARE_ESCALATE_TO in tests/support/env.py


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {}


@pytest.fixture
def env(slack, database_url, env_overrides) -> dict[str, str]:
    return make_env(slack, database_url, **{**BASE_ENV, **env_overrides})


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> ReminderDesk:
    return ReminderDesk(app_url, rt, slack, listeners)


def reply(
    desk: Desk, case_id: int, text: str = "Hi Jane, so sorry. Looking into it now.", user: str = "U0ALICE"
) -> None:
    desk.click("case_reply", case_id, user=user)
    desk.send_reply(desk.last_view(), text, user=user)


def test_each_stage_fires_once_and_only_once(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    desk.new_case()
    desk.at(47, start)
    assert desk.reminder_texts() == []

    desk.at(48, start)
    near = (
        ":hourglass_flowing_sand: "
        + GROUP
        + " *First response due in 12 min* (target 1 h): Jane has been waiting 48 min."
    )
    assert desk.reminder_texts() == [near]
    assert desk.buttons(desk.reminders()[0]) == ["Claim", "Snooze 15 min", "Reassign"]
    assert "SLA breached" not in desk.parent_text()

    desk.at(59, start)
    assert len(desk.reminders()) == 1
    desk.at(60, start)
    breach = (
        ":rotating_light: " + GROUP + " *First response overdue:* the 1 h target has passed; Jane has been waiting 1 h."
    )
    assert desk.reminder_texts() == [near, breach]
    assert "*SLA breached:* first response" in desk.parent_text()  # the parent message shows it
    assert desk.dms("U0BOSS") == []

    desk.at(120, start)
    escalation = (
        ":sos: " + GROUP + " *First response at twice its target* (1 h): escalated to "
        "<@U0BOSS> <@U0CHIEF> by direct message."
    )
    assert desk.reminder_texts() == [near, breach, escalation]
    link = f"https://standin.slack.com/archives/{CHANNEL}/p{desk.parent.ts.replace('.', '')}"
    for manager in ("U0BOSS", "U0CHIEF"):
        assert desk.dms(manager) == [
            (
                ":sos: First response on case #1 (:bird: X · Jane Doe) is at twice its 1 h target. "
                f"Owner: nobody (unclaimed). <{link}|Open the thread>"
            )
        ]

    desk.at(600, start, sweeps=3)  # hours later, restarts or not: nothing is repeated
    assert desk.reminder_texts() == [near, breach, escalation]
    assert all(len(desk.dms(m)) == 1 for m in ("U0BOSS", "U0CHIEF"))
    with desk.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Reminder)) == 3


def test_a_stage_missed_while_nothing_ran_is_not_sent_late(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    desk.new_case()
    desk.at(65, start)  # the process was down at the 80% mark: only the breach is worth saying now
    assert [t.split("*")[1] for t in desk.reminder_texts()] == ["First response overdue:"]


def test_the_parent_shows_the_breach_when_the_escalation_is_the_first_reminder_sent(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    desk.new_case()
    desk.at(125, start)  # nothing ran from before the 80% mark until past twice the target (or a snooze held it)
    assert [t.split("*")[1] for t in desk.reminder_texts()] == ["First response at twice its target"]
    assert "*SLA breached:* first response" in desk.parent_text()


def test_a_reply_before_the_reminders_prevents_them(desk: ReminderDesk, clock, slack) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(30, start)
    reply(desk, case_id)
    desk.at(48, start)
    desk.at(60, start)
    desk.at(120, start)
    assert desk.reminder_texts() == []
    assert desk.dms("U0BOSS") == []
    assert "SLA breached" not in desk.parent_text()


def test_a_reply_landing_after_the_sweep_cancels_the_queued_reminder(desk: ReminderDesk, clock, slack) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.click("case_reply", case_id)  # Alice is writing her answer...
    clock.set(start + timedelta(minutes=48))
    sweep_tick(desk.rt)  # ...the sweep queues the near-breach reminder...
    desk.send_reply(desk.last_view(), "Hi Jane, on it. – Alice")  # ...and her reply lands first (nothing to coach)
    assert desk.reminder_texts() == []
    assert "replied publicly" in desk.thread_texts()[-1]
    with desk.rt.sessions() as s:  # it was queued, and dropped at delivery
        item = s.scalars(select(OutboxItem).where(OutboxItem.kind == "reminder")).one()
        assert item.state == "done" and item.result == {"skipped": "answered"}


def test_claiming_early_skips_the_pick_up_nudge_but_not_the_breach(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(10, start)
    desk.click("case_claim", case_id, user="U0BOB")
    desk.at(48, start)
    assert desk.reminder_texts() == []  # claimed: nobody needs asking to pick it up
    desk.at(60, start)
    assert desk.reminder_texts() == [
        ":rotating_light: <@U0BOB> *First response overdue:* the 1 h target has passed; Jane has been waiting 1 h."
    ]
    assert desk.buttons(desk.reminders()[0]) == ["Snooze 15 min", "Reassign"]  # no Claim on an owned case


def test_claiming_after_the_nudge_sends_the_breach_to_the_owner(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(48, start)
    assert GROUP in desk.reminder_texts()[0]
    desk.click("case_claim", case_id, user="U0BOB")  # the reminder's own Claim button
    desk.at(60, start)
    assert desk.reminder_texts()[-1].startswith(":rotating_light: <@U0BOB> *First response overdue:*")
    assert "<@U0LEAD>" not in desk.reminder_texts()[-1]


def test_claim_and_reply_before_the_nudge_prevent_every_reminder(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(5, start)
    desk.click("case_claim", case_id)
    reply(desk, case_id)
    for minute in (48, 60, 120):
        desk.at(minute, start)
    assert desk.reminder_texts() == []


def test_snooze_holds_the_next_reminder_for_15_minutes(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(50, start)
    desk.click("case_snooze", case_id, user="U0BOB")
    until = int((start + timedelta(minutes=65)).timestamp())
    assert desk.thread_texts()[-1].startswith(
        f":zzz: <@U0BOB> snoozed reminders on this case for 15 min, until <!date^{until}^"
    )
    desk.at(60, start)
    desk.at(64, start)
    assert len(desk.reminders()) == 1  # only the near-breach from before the snooze
    desk.at(65, start)
    assert "*First response overdue:*" in desk.reminder_texts()[-1]
    assert "Jane has been waiting 1 h 05 min" in desk.reminder_texts()[-1]


def test_snooze_does_not_hold_back_the_managers(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(119, start)
    desk.click("case_snooze", case_id)
    desk.at(120, start)
    assert "*First response at twice its target*" in desk.reminder_texts()[-1]
    assert len(desk.dms("U0BOSS")) == 1


def test_reassign_picks_a_teammate_who_is_mentioned_from_then_on(desk: ReminderDesk, clock, slack) -> None:
    start = clock.now()
    case_id = desk.new_case()
    desk.at(48, start)
    desk.click("case_reassign", case_id, user=MANAGER)
    view = desk.last_view()
    assert view["callback_id"] == "reassign_modal"
    select_block = next(b for b in view["blocks"] if b["type"] == "input")
    assert select_block["element"]["type"] == "users_select"

    chosen = {"assignee": {"user": {"type": "users_select", "selected_user": "U0BOB"}}}
    assert desk.submit(view, chosen, user=MANAGER) == {}
    assert desk.thread_texts()[-1] == f":busts_in_silhouette: <@{MANAGER}> reassigned this case to <@U0BOB>."
    assert desk.case(case_id).owner_id == "U0BOB" and "<@U0BOB>" in desk.parent_text()
    desk.at(60, start)
    assert desk.reminder_texts()[-1].startswith(":rotating_light: <@U0BOB> ")

    desk.click("case_reassign", case_id, user=MANAGER)
    answer = desk.submit(desk.last_view(), chosen, user=MANAGER)
    assert answer == {"response_action": "errors", "errors": {"assignee": "That teammate already owns this case."}}
    answer = desk.submit(
        desk.last_view(), {"assignee": {"user": {"type": "users_select", "selected_user": None}}}, user=MANAGER
    )
    assert answer["errors"] == {"assignee": "Pick the teammate who should take this case."}


def test_next_response_clock_runs_when_the_customer_writes_again(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    reply(desk, case_id)
    desk.at(30, start)
    response = post_webhook(desk.url, webhook_body(id="1790000000000000099", text="@acme hello?? still waiting"))
    assert response.json()["case_id"] == case_id
    desk.settle()
    desk.at(30 + 95, start)
    assert desk.reminder_texts() == []
    desk.at(30 + 96, start)  # 80% of the 2 h next-response target
    assert desk.reminder_texts() == [
        ":hourglass_flowing_sand: <@U0ALICE> *Next response due in 24 min* (target 2 h): "
        "Jane has been waiting 1 h 36 min."
    ]
    reply(desk, case_id, "Hi Jane, the refund went out today.")
    desk.at(30 + 200, start)
    assert len(desk.reminders()) == 1  # answered: no breach

    # she writes a third time: a new round of the same clock, with its own reminders
    post_webhook(desk.url, webhook_body(id="1790000000000000100", text="@acme got it, but only half of it"))
    desk.settle()
    desk.at(230 + 120, start)
    assert "*Next response overdue:*" in desk.reminder_texts()[-1]
    assert len(desk.reminders()) == 2


@pytest.mark.parametrize(
    "env_overrides", [{"CARE_TIMEZONE": "Europe/Berlin", "CARE_BUSINESS_HOURS": "Mon-Fri 09:00-17:30"}]
)
def test_business_hours_pause_the_clock(desk: ReminderDesk, clock) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    clock.set(datetime(2026, 11, 20, 17, 20, tzinfo=berlin))  # Friday, ten minutes before closing
    desk.new_case()
    for moment in (datetime(2026, 11, 20, 18, 30), datetime(2026, 11, 21, 12, 0), datetime(2026, 11, 23, 9, 37)):
        clock.set(moment.replace(tzinfo=berlin))
        desk.sweep(2)
    assert desk.reminder_texts() == []  # 10 min on Friday + 37 min on Monday = 47 min of working time
    clock.set(datetime(2026, 11, 23, 9, 38, tzinfo=berlin))
    desk.sweep(2)
    assert desk.reminder_texts() == [
        ":hourglass_flowing_sand: "
        + GROUP
        + " *First response due in 12 min* (target 1 h): Jane has been waiting 48 min."
    ]


@pytest.mark.parametrize("env_overrides", [{"CARE_SLA_URGENT_FIRST_RESPONSE": "15m"}])
def test_urgent_cases_follow_the_urgent_targets(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    desk.new_case(text="@acme your seat broke and injured me, my lawyer will be in touch")
    assert desk.case(1).priority == "urgent"
    desk.at(12, start)
    assert desk.reminder_texts() == [
        ":hourglass_flowing_sand: "
        + GROUP
        + " *First response due in 3 min* (target 15 min): Jane has been waiting 12 min."
    ]


@pytest.mark.parametrize("env_overrides", [{"CARE_MANAGERS": ""}])
def test_without_managers_the_thread_says_nobody_else_was_told(desk: ReminderDesk, clock, slack) -> None:
    start = clock.now()
    desk.new_case()
    desk.at(120, start)
    assert desk.reminder_texts()[-1].endswith("no CARE_MANAGERS are set, so nobody outside this channel was told.")
    assert slack.calls_to("conversations.open") == []


def test_resolution_clock_reminds_even_after_the_first_response(desk: ReminderDesk, clock) -> None:
    start = clock.now()
    case_id = desk.new_case()
    reply(desk, case_id)
    desk.at(3 * 24 * 60, start)
    assert desk.reminder_texts() == [
        ":rotating_light: <@U0ALICE> *Resolution overdue:* the 3 d target has passed; the case has been open 3 d."
    ]
    assert "*SLA breached:* resolution" in desk.parent_text()


def test_reminder_buttons_work_from_the_reminder_itself(desk: ReminderDesk, clock, app_url) -> None:
    """The buttons carry the case id, and their action ids are the case's own: Claim here is the usual Claim."""
    start = clock.now()
    desk.new_case()
    desk.at(48, start)
    claim = next(b for b in desk.reminders()[0].blocks if b["type"] == "actions")["elements"][0]
    response = post_interaction(app_url, block_action(claim["action_id"], claim["value"], user="U0BOB"))
    assert response.status_code == 200
    desk.settle()
    assert desk.thread_texts()[-1] == ":raising_hand: <@U0BOB> claimed this case."
    assert json.dumps(desk.parent.blocks).count("<@U0BOB>") == 1


def test_a_direct_message_is_not_sent_twice_after_a_crash(desk: ReminderDesk, clock, slack, rt) -> None:
    """A worker opens the DM and posts, then dies before recording it; the next worker finds the post."""
    start = clock.now()
    desk.new_case()
    clock.set(start + timedelta(minutes=120))
    sweep_tick(rt)
    assert rt.deliverer.run_once(outbox.SLACK)  # the escalation reminder in the thread
    with rt.sessions.begin() as s:
        leased = outbox.lease_next(s, lane=outbox.SLACK, owner="dead-worker", now=clock.now())
    assert leased is not None and leased.kind == "direct_message" and leased.payload["user"] == "U0BOSS"
    channel = rt.slack.conversations_open(users="U0BOSS")["channel"]["id"]
    rt.slack.chat_postMessage(
        channel=channel,
        text="the escalation, posted by a worker that then died",
        metadata={"event_type": "care_bot_delivery", "event_payload": {"outbox_id": leased.id}},
    )
    clock.advance(outbox.LEASE_SECONDS + 1)
    desk.settle()
    assert len(desk.dms("U0BOSS")) == 1 and len(desk.dms("U0CHIEF")) == 1


def test_the_sweep_works_a_page_of_cases_per_transaction_and_misses_none(
    desk: ReminderDesk, clock, monkeypatch
) -> None:
    """After a storm many new cases need a look at once: each transaction takes a page of them (so a webhook
    writes between pages rather than waiting out the whole sweep), and every case still gets its reminder once."""
    from bot.services import reminders

    monkeypatch.setattr(reminders, "SWEEP_PAGE", 3)
    start = clock.now()
    for n in range(8):
        desk.new_case(id=f"17900000000000001{n:02d}", author={"id": f"4{n}", "handle": f"c{n}", "name": f"C{n}"})
    transactions: list[int] = []
    real_page = reminders.sweep_page

    def counting_page(session, **kwargs):  # type: ignore[no-untyped-def]
        page = real_page(session, **kwargs)
        transactions.append(len(page.sent))
        return page

    monkeypatch.setattr(reminders, "sweep_page", counting_page)
    desk.rt.clock.set(start + timedelta(minutes=65))  # every case past its 1 h target (each was posted 1.1 s apart)
    sweep_tick(desk.rt)
    assert transactions == [3, 3, 2, 0]  # three pages of at most three cases, then an empty look that ends it
    sweep_tick(desk.rt)  # the next tick: nothing is sent twice
    desk.settle()
    with desk.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Reminder)) == 8
    notes = [
        m
        for m in desk.slack.state.calls
        if m.method == "chat.postMessage" and "First response overdue" in str(m.params)
    ]
    assert len(notes) == 8
