from __future__ import annotations

from tests.conftest import CHANNEL, post_webhook, webhook_body
from tests.slack_requests import block_action, post_interaction


def test_smoke(app_url, rt, slack, listeners):
    r = post_webhook(app_url, webhook_body())
    assert r.status_code == 202, r.text
    assert r.json() == {"case_id": 1, "duplicate": False}
    rt.deliverer.drain()
    parents = slack.channel(CHANNEL)
    assert len(parents) == 1
    r = post_interaction(app_url, block_action("case_claim", "1"))
    assert r.status_code == 200, r.text
    listeners.wait_idle()
    rt.deliverer.drain()
    print(slack.thread(CHANNEL, parents[0].ts))
    print(parents[0].blocks)
