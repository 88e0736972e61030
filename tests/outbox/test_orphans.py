"""A process killed while holding outbox items: the next process on the same host takes them up within
seconds of its start instead of waiting out the leases, and each message still reaches Slack once. Leases
of processes that may be alive (this one, another host) are never cut short."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from bot.outbox import owners
from bot.services import outbox
from bot.tools.slack_standin import SlackStandIn
from tests.outbox.test_drain import items, wait_until
from tests.outbox.test_responsive import complaint
from tests.support.env import CHANNEL
from tests.support.serve import start_serve, stop, valid_settings, wait_healthy
from tests.support.webhooks import WEBHOOK_SECRET, post_webhook, webhook_body

linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process start times come from /proc")


def dead_owner() -> str:
    """The owner name a process of this host had while it ran; it has exited since."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = owners.started(proc.pid)
        assert started is not None
    finally:
        proc.kill()
        proc.wait()
    return owners.SEPARATOR.join((owners.host(), str(proc.pid), started, "deadbeef"))


@linux_only
def test_an_owner_is_gone_only_when_its_process_provably_is() -> None:
    assert owners.gone(dead_owner())
    assert not owners.gone(owners.this_process())  # this very process
    alive = owners.this_process().split(owners.SEPARATOR)
    assert not owners.gone(owners.SEPARATOR.join(("another-host", *alive[1:])))  # cannot tell: alive
    reused = owners.SEPARATOR.join((alive[0], alive[1], str(int(alive[2]) + 1), "x"))
    assert owners.gone(reused)  # this pid, but started at another moment (a container's pid 1 after a restart)
    assert not owners.gone("killed-worker") and not owners.gone("a/b/c/d")  # not ours to judge


@linux_only
def test_a_dead_processs_item_is_taken_up_soon_after_the_next_start(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1)
    with rt.sessions.begin() as s:  # a process of this host leased the item, then was killed
        assert outbox.lease_next(s, lane=outbox.SLACK, owner=dead_owner(), now=clock.now()) is not None
    assert rt.deliverer.end_orphan_leases() == 1  # what the next process does as it starts
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []  # not at once: a post it had in flight may still be landing
    clock.advance(outbox.ORPHAN_GRACE + 0.1)
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1 and len(slack.calls_to("chat.postMessage")) == 1


@linux_only
def test_a_live_processs_lease_is_left_alone(app_url, rt, slack, clock) -> None:
    complaint(app_url, 1)
    live = owners.this_process()  # e.g. a second worker of this very process
    with rt.sessions.begin() as s:
        assert outbox.lease_next(s, lane=outbox.SLACK, owner=live, now=clock.now()) is not None
    assert rt.deliverer.end_orphan_leases() == 0
    clock.advance(outbox.ORPHAN_GRACE + 1)
    rt.deliverer.drain()
    assert slack.channel(CHANNEL) == []
    clock.advance(timedelta(seconds=outbox.LEASE_SECONDS).total_seconds())
    rt.deliverer.drain()
    assert len(slack.channel(CHANNEL)) == 1


@linux_only
@pytest.mark.realtime
def test_kill_9_while_posting_then_restart_delivers_each_message_once_well_before_the_lease_ends(tmp_path) -> None:
    with SlackStandIn(token="xoxb-cli-test-token") as standin:
        env = valid_settings(tmp_path, SLACK_API_URL=standin.api_url, CARE_WEBHOOK_SECRET=WEBHOOK_SECRET)
        standin.slow("chat.postMessage", 1.0)
        served = start_serve(tmp_path, env)
        try:
            wait_healthy(served)
            for n in range(3):
                body = webhook_body(
                    id=f"17900000000000{n:05d}", author={"id": f"a{n}", "handle": f"u{n}", "name": f"U{n}"}
                )
                assert post_webhook(served.url, body).status_code == 202
            wait_until(lambda: standin.calls_to("chat.postMessage"))  # a case message is in flight ...
            served.proc.send_signal(signal.SIGKILL)  # ... when the process is killed
            served.proc.wait(timeout=10)
        finally:
            if served.proc.poll() is None:
                served.proc.kill()
        held = [i for i in items(tmp_path) if i.lease_until is not None and i.state == outbox.PENDING]
        assert held, "the killed process held no item: the test did not kill it mid-delivery"

        standin.slow("chat.postMessage", 0.0)
        again = start_serve(tmp_path, env)
        try:
            wait_healthy(again)
            restarted = time.monotonic()
            wait_until(lambda: all(i.state == outbox.DONE for i in items(tmp_path)), timeout=outbox.LEASE_SECONDS)
            taken_up = time.monotonic() - restarted
            time.sleep(0.5)  # room for a duplicate to show, were there one
        finally:
            assert stop(again) == 0, again.output()
        assert taken_up < outbox.LEASE_SECONDS - 5, f"waited {taken_up:.1f}s: the dead process's lease was waited out"
        assert len(standin.channel(CHANNEL)) == 3  # the message in flight at the kill is not posted again ...
        assert [i.id for i in held] == [1] and items(tmp_path)[0].attempts == 2  # ... though its item was retried
        ids = sorted(m.metadata["event_payload"]["outbox_id"] for m in standin.channel(CHANNEL))
        assert ids == [i.id for i in items(tmp_path)]
