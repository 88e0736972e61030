"""The App Home tab: published for the viewer on app_home_opened (a signed Events API request), afresh each time."""

from __future__ import annotations

import time

import pytest

from bot.db import session_scope
from bot.services import cases
from tests.support import stats_dataset
from tests.support.blocks import all_text
from tests.support.env import make_env
from tests.support.slack_requests import post_event
from tests.support.stats_dataset import ALICE, NOW


@pytest.fixture
def env(slack, database_url):
    return make_env(slack, database_url, **stats_dataset.ENV)


@pytest.fixture
def ids(rt, clock):
    clock.set(NOW)
    with session_scope(rt.sessions) as s:
        return stats_dataset.build(s)


def open_home(app_url: str, listeners, user: str = ALICE, tab: str = "home") -> float:
    started = time.monotonic()
    answer = post_event(
        app_url,
        {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab, "event_ts": f"{time.time():.6f}"},
    )
    assert answer.status_code == 200, answer.text
    took = time.monotonic() - started
    listeners.wait_idle()
    return took


def link(case_id: int, letter: str) -> str:
    return f"<https://standin.slack.com/archives/C0CARE/p{stats_dataset.TS[letter].replace('.', '')}|Case #{case_id}>"


def test_home_shows_the_viewers_cases_the_unclaimed_queue_and_today(app_url, slack, listeners, ids) -> None:
    open_home(app_url, listeners)
    published = slack.calls_to("views.publish")
    assert [c.params["user_id"] for c in published] == [ALICE]
    view = slack.home_view(ALICE)
    assert view is not None and view["type"] == "home"
    text = all_text(view["blocks"])
    mine = text.split("*Your open cases (1)*")[1].split("*Unclaimed queue (3)*")[0]
    assert link(ids["A"], "A") in mine and "Customer A (@cust_a)" in mine
    queue = text.split("*Unclaimed queue (3)*")[1].split("*Today's team figures*")[0]
    normal, low = queue.split(":large_yellow_circle: Normal (2)*")[1].split(":large_green_circle: Low (1)*")
    assert link(ids["D"], "D") in normal and link(ids["I"], "I") in normal
    assert normal.index(f"Case #{ids['I']}>") < normal.index(f"Case #{ids['D']}>")  # longest waiting first
    assert link(ids["E"], "E") in low
    assert ":red_circle: Urgent" not in queue  # C is urgent but Bob's
    fields = [f["text"] for b in view["blocks"] if "fields" in b for f in b["fields"]]
    assert "*New*\n6 (urgent 1 · high 1 · normal 3 · low 1)" in fields
    assert "*SLA (first response)*\n50% met (2 of 4)" in fields
    assert "Updated 15:00 (Europe/Berlin)" in text


def test_home_is_refreshed_each_time_it_is_opened(app_url, rt, slack, listeners, ids, clock) -> None:
    open_home(app_url, listeners)
    with session_scope(rt.sessions) as s:
        cases.claim(s, case_id=ids["D"], user_id=ALICE, now=clock.now())
    open_home(app_url, listeners)
    text = all_text(slack.home_view(ALICE)["blocks"])
    assert "*Your open cases (2)*" in text and "*Unclaimed queue (2)*" in text
    assert len(slack.calls_to("views.publish")) == 2


def test_opening_the_messages_tab_publishes_nothing(app_url, slack, listeners, ids) -> None:
    open_home(app_url, listeners, tab="messages")
    assert slack.calls_to("views.publish") == []


@pytest.mark.realtime
def test_home_is_acknowledged_fast_while_slack_is_slow(app_url, slack, listeners, ids) -> None:
    open_home(app_url, listeners, tab="messages")  # Bolt's own first-request auth.test is not ours to measure
    slack.slow("views.publish", 2.0)
    slack.slow("auth.test", 2.0)
    assert open_home(app_url, listeners) < 1.0  # the ack; the publish follows about 4 s later
    assert len(slack.calls_to("views.publish")) == 1


def test_someone_outside_the_care_team_sees_todays_figures_but_no_case_or_customer(
    app_url, slack, listeners, ids
) -> None:
    open_home(app_url, listeners, user="U0STRANGER")
    view = slack.home_view("U0STRANGER")
    assert view is not None
    text = all_text(view["blocks"])
    assert "Cases and the queue are shown here to the care team only" in text and "<#C0CARE>" in text
    fields = [f["text"] for b in view["blocks"] if "fields" in b for f in b["fields"]]
    assert "*New*\n6 (urgent 1 · high 1 · normal 3 · low 1)" in fields  # the figures /care stats shows anyone
    assert "Customer" not in text and "Case #" not in text and "Unclaimed queue" not in text
