"""Links to a case's Slack thread, built locally so `/care mine`, the Home tab and the digest need no API call per case.

Slack permalinks have the stable form `<workspace url>archives/<channel>/p<ts without the dot>`; the
workspace URL comes once from `auth.test`. Where it is not known yet we fall back to the
`slack://` deep link, which opens the same message in the desktop and mobile apps.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

logger = logging.getLogger(__name__)


def thread_url(workspace_url: str | None, channel: str, ts: str | None) -> str | None:
    """The case's parent message (its thread hangs off it), or None if it has not been posted yet."""
    if not ts:
        return None
    if workspace_url:
        base = workspace_url if workspace_url.endswith("/") else workspace_url + "/"
        return f"{base}archives/{channel}/p{ts.replace('.', '')}"
    return f"slack://channel?id={channel}&message={ts}"


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
