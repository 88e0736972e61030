"""The app's settings in a test: every variable pointing at the fake Slack and the test's own database."""

from __future__ import annotations

from pathlib import Path

from bot.tools.slack_standin import SlackStandIn
from tests.support.slack_requests import SIGNING_SECRET

WEBHOOK_SECRET = "test-webhook-secret"
# CARE_ENV_FILE for every test: a settings file with nothing in it (a missing one is refused, as it should be)
EMPTY_ENV_FILE = str(Path(__file__).with_name("empty.env"))
CHANNEL = "C0CARE"


def make_env(slack: SlackStandIn, database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": slack.state.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "CARE_CHANNEL": CHANNEL,
        "CARE_ESCALATE_TO": "U0LEAD,S0MANAGERS",
        "DATABASE_URL": database_url,
        "CARE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CARE_GENERIC_REPLY_URL": slack.reply_url,
        "CARE_ENV_FILE": EMPTY_ENV_FILE,
    }
    env.update(overrides)
    return env
