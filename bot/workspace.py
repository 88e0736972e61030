"""The Slack workspace this app is installed in: who the bot is there, and the workspace's URL, asked once.

The listeners and the outbox workers (which render the digest) share one instance, so `auth.test` is
asked once per process; while Slack cannot be reached, thread links fall back to `slack://`.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.blocks.links import thread_url

logger = logging.getLogger(__name__)


class WorkspaceLinks:
    """Thread links for every part of the app, with the workspace URL asked of `auth.test` once.

    The listeners and the outbox workers (which render the digest) share one instance, so the
    question is asked once per process; while Slack cannot be reached links use `slack://`.
    """

    def __init__(self, slack: WebClient) -> None:
        self._slack = slack
        self._identity: SlackResponse | None = None

    def identity(self) -> SlackResponse:
        """The bot's `auth.test` answer, asked once (SlackApiError propagates: a rejected token is fatal)."""
        if self._identity is None:
            self._identity = self._slack.auth_test()
        return self._identity

    @property
    def known_identity(self) -> SlackResponse | None:
        """The answer if it has been fetched already; never calls Slack."""
        return self._identity

    def workspace_url(self) -> str | None:
        try:
            identity = self.identity()
        except (SlackApiError, OSError) as exc:
            logger.warning("auth.test failed, thread links use slack:// for now (%s)", type(exc).__name__)
            return None
        return identity.get("url") or None

    def thread_url(self, channel: str, ts: str | None) -> str | None:
        return thread_url(self.workspace_url(), channel, ts)
