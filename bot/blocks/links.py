"""Links to a case's Slack thread, built locally so `/care mine`, the Home tab and the digest need no API call per case.

Slack permalinks have the stable form `<workspace url>archives/<channel>/p<ts without the dot>`; the
workspace URL comes once from `auth.test` (bot/workspace.py). Where it is not known yet we fall back to the
`slack://` deep link, which opens the same message in the desktop and mobile apps.
"""

from __future__ import annotations


def thread_url(workspace_url: str | None, channel: str, ts: str | None) -> str | None:
    """The case's parent message (its thread hangs off it), or None if it has not been posted yet."""
    if not ts:
        return None
    if workspace_url:
        base = workspace_url if workspace_url.endswith("/") else workspace_url + "/"
        return f"{base}archives/{channel}/p{ts.replace('.', '')}"
    return f"slack://channel?id={channel}&message={ts}"
