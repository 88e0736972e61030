"""The scheduler and several processes: each reminder goes out once, whoever sweeps, however often.

The last test is the issue's "done when": the app served over HTTP with its real scheduler and
outbox workers, CARE_SLA_FIRST_RESPONSE=20s and CARE_SWEEP_SECONDS=1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_bolt_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.models import Case, OutboxItem
from bot.runtime import Runtime, build_runtime
from bot.schedule.jobs import sweep_tick
from bot.schedule.scheduler import PeriodicJob, Scheduler, jobs
from bot.web.routes import build_http_app
from bot.web.server import BackgroundServer
from tests.support.desk import ReminderDesk
from tests.support.env import CHANNEL, EMPTY_ENV_FILE, make_env
from tests.support.slack_requests import block_action, post_interaction, text_value, view_payload
from tests.support.waiting import TrackingExecutor, wait_for
from tests.support.webhooks import post_webhook, webhook_body


@pytest.fixture
def env(slack, database_url) -> dict[str, str]:
    return make_env(slack, database_url, CARE_MANAGERS="U0BOSS", CARE_SLA_RESOLUTION="7d", CARE_SWEEP_SECONDS="1")


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> ReminderDesk:
    return ReminderDesk(app_url, rt, slack, listeners)


@pytest.fixture
def rt2(settings, clock) -> Iterator[Runtime]:
    """A second bot process on the same database (and the same Slack)."""
    runtime = build_runtime(settings, clock=clock, sleep=lambda seconds: clock.advance(seconds))
    yield runtime
    runtime.close()


def together(*calls: Any) -> None:
    """Run the calls at the same moment from separate threads, as separate processes would."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


def test_two_processes_sweeping_one_database_send_nothing_twice(desk: ReminderDesk, rt, rt2, clock) -> None:
    start = clock.now()
    desk.new_case()
    for minute in (48, 60, 120, 130):
        clock.set(start + timedelta(minutes=minute))
        together(*[lambda r=r: sweep_tick(r) for r in (rt, rt2, rt, rt2)])
        together(rt.deliverer.drain, rt2.deliverer.drain)
    texts = desk.reminder_texts()
    assert [t.split("*")[1] for t in texts] == [
        "First response due in 12 min",
        "First response overdue:",
        "First response at twice its target",
    ]
    assert len(desk.dms("U0BOSS")) == 1


@pytest.mark.realtime
def test_two_real_schedulers_on_one_database_send_nothing_twice(desk: ReminderDesk, rt, rt2, clock) -> None:
    start = clock.now()
    desk.new_case()
    first, second = Scheduler(rt), Scheduler(rt2)
    first.start()
    second.start()
    try:
        clock.set(start + timedelta(minutes=48))

        def queued() -> list[OutboxItem]:
            with rt.sessions() as s:
                return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == "reminder")))

        wait_for(queued, timeout=10)
        time.sleep(2.5)  # each scheduler sweeps at least twice more
    finally:
        first.stop()
        second.stop()
    together(rt.deliverer.drain, rt2.deliverer.drain)
    assert len(queued()) == 1
    assert [t.split("*")[1] for t in desk.reminder_texts()] == ["First response due in 12 min"]


@pytest.mark.realtime
def test_a_failing_job_is_logged_and_runs_again(rt, caplog) -> None:
    runs: list[int] = []

    def flaky(_: Runtime) -> None:
        runs.append(1)
        raise RuntimeError("database blip")

    scheduler = Scheduler(rt, [PeriodicJob("flaky", flaky, 0.2)])
    scheduler.start()
    try:
        wait_for(lambda: len(runs) >= 2, timeout=5)
    finally:
        scheduler.stop()
    assert "scheduled job flaky failed" in caplog.text


def test_the_sweep_runs_every_care_sweep_seconds_and_the_digest_is_checked_at_least_twice_a_minute(settings) -> None:
    hourly = [("prune_handled", 3600.0)]
    surge = [("surge_watch", 10.0)]
    assert [(job.id, job.seconds) for job in jobs(settings)] == [
        ("sla_sweep", 1.0),
        ("daily_digest", 1.0),
        *surge,
        *hourly,
    ]
    slower = jobs(load_settings({**_env_of(settings), "CARE_SWEEP_SECONDS": "45"}))
    assert [(job.id, job.seconds) for job in slower] == [("sla_sweep", 45.0), ("daily_digest", 30.0), *surge, *hourly]


def _env_of(settings: Any) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "CARE_CHANNEL": settings.care_channel,
        "CARE_ENV_FILE": EMPTY_ENV_FILE,
    }


# -- the "done when" ------------------------------------------------------------------------
@pytest.fixture
def served(slack, database_url) -> Iterator[tuple[str, Runtime, ManualClock, TrackingExecutor]]:
    """The whole app as `care-bot serve` runs it: HTTP, outbox workers and the scheduler, on a manual clock."""
    settings = load_settings(make_env(slack, database_url, CARE_SLA_FIRST_RESPONSE="20s", CARE_SWEEP_SECONDS="1"))
    clock = ManualClock()
    runtime = build_runtime(settings, clock=clock, pace_seconds=0.0, poll_seconds=0.05)
    executor = TrackingExecutor()
    server = BackgroundServer(build_http_app(runtime, build_bolt_app(runtime, listener_executor=executor))).start()
    yield server.url, runtime, clock, executor
    server.stop()
    executor.shutdown(wait=True)
    runtime.close()


@pytest.mark.realtime
def test_done_when_near_breach_and_breach_reminders_arrive_once_each_unless_claimed_and_answered(served, slack) -> None:
    url, rt, clock, listeners = served
    start = clock.now()
    unclaimed = post_webhook(url, webhook_body()).json()["case_id"]
    answered = post_webhook(
        url,
        webhook_body(
            id="1790000000000000002",
            text="@acme my bag is lost, please help",
            author={"id": "77", "handle": "max_p", "name": "Max Power"},
        ),
    ).json()["case_id"]

    def case(case_id: int) -> Case:
        with rt.sessions() as s:
            found = s.get(Case, case_id)
            assert found is not None
            return found

    wait_for(lambda: case(unclaimed).slack_ts and case(answered).slack_ts)
    # Bob claims the second complaint and answers it, well within the 16 s
    assert post_interaction(url, block_action("case_claim", str(answered), user="U0BOB")).status_code == 200
    wait_for(lambda: case(answered).owner_id == "U0BOB")
    assert post_interaction(url, block_action("case_reply", str(answered), user="U0BOB")).status_code == 200
    view = wait_for(lambda: [v["view"] for v in slack.state.views if v["view"]["callback_id"] == "reply_modal"])[0]
    submitted = post_interaction(
        url,
        view_payload(
            "view_submission",
            view,
            text_value("reply", "text", "Hi Max, so sorry. I've opened a trace for your bag. – Bob"),
            user="U0BOB",
        ),
    )
    assert submitted.status_code == 200
    wait_for(lambda: case(answered).first_response_at is not None)

    def reminders(case_id: int) -> list[str]:
        return [m.text for m in slack.thread(CHANNEL, str(case(case_id).slack_ts)) if m.blocks]

    clock.set(start + timedelta(seconds=17))
    wait_for(lambda: reminders(unclaimed), timeout=10)
    time.sleep(2.5)  # the scheduler sweeps twice more in the meantime
    near = (
        ":hourglass_flowing_sand: <@U0LEAD> <!subteam^S0MANAGERS> *First response due in 3s* (target 20s): "
        "Jane has been waiting 17s."
    )
    assert reminders(unclaimed) == [near]

    clock.set(start + timedelta(seconds=21))
    wait_for(lambda: len(reminders(unclaimed)) == 2, timeout=10)
    time.sleep(2.5)
    breach = (
        ":rotating_light: <@U0LEAD> <!subteam^S0MANAGERS> *First response overdue:* the 20s target has passed; "
        "Jane has been waiting 21s."
    )
    assert reminders(unclaimed) == [near, breach]
    parent = next(m for m in slack.channel(CHANNEL) if m.ts == case(unclaimed).slack_ts)
    wait_for(lambda: "SLA breached:* first response" in str(parent.blocks))

    assert [m for m in slack.thread(CHANNEL, str(case(answered).slack_ts)) if m.blocks] == []
    listeners.wait_idle()


def test_shutting_down_a_paged_sweep_stops_after_its_page_and_the_next_run_goes_on(rt: Runtime, clock) -> None:
    """SIGTERM during the first sweep of a big desk: the sweep stops after the page it is on instead of holding the
    shutdown for every open case; the next process's sweep looks at the rest."""
    from bot.services import ingest, reminders
    from connectors.base import Author, InboundMention

    count = reminders.SWEEP_PAGE * 2 + 7
    with rt.unit() as s:
        for n in range(count):
            who = Author(id=f"a{n}", handle=f"cust{n}", name=f"Customer {n}")
            post = InboundMention("twitter", f"p{n}", who, "where is my parcel?", posted_at=clock.now())
            ingest.ingest(s, mention=post, connector="generic", channel=CHANNEL, now=clock.now())

    def looked_at() -> int:
        with rt.read() as s:
            return len(s.scalars(select(Case.id).where(Case.reminder_check_at.is_not(None))).all())

    rt.stopping.set()
    sweep_tick(rt)
    assert looked_at() == reminders.SWEEP_PAGE  # one page, then it stopped
    rt.stopping.clear()  # the next process
    sweep_tick(rt)
    assert looked_at() == count


def test_a_paged_job_pauses_between_pages_as_long_as_a_page_took(monkeypatch) -> None:
    """So the sweep or a storm's gathering holds SQLite's write lock half the time at most, webhooks the rest."""
    from bot.schedule import jobs

    slept: list[float] = []
    monkeypatch.setattr(jobs.time, "sleep", slept.append)
    monkeypatch.setattr(jobs.time, "monotonic", lambda: 100.0)
    jobs.breathe(100.0 - 0.03)  # a 30 ms page
    jobs.breathe(100.0)  # a page that took no time: the least pause still lets a waiting webhook in
    jobs.breathe(100.0 - 5)  # a page that took 5 s: the pause is bounded
    assert slept == [pytest.approx(0.03), jobs.PAGE_BREATH, jobs.MAX_BREATH]
