"""`care-bot connectors [--check]`: which platforms are on, what each still needs, and whether each works.

Why a report of its own: the first thing an operator asks after setting variables is "is it on, and do
the credentials work?"; the answer must name the missing setting or quote the platform's own error.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bot.config import PlatformSettings
from bot.errors import ConnectorError
from connectors.base import CredentialStore
from connectors.registry import BUILDERS, SPECS, make_http_client


def report(
    platforms: PlatformSettings,
    *,
    check: bool,
    out: Callable[[str], None] = print,
    client: httpx.Client | None = None,
    credentials: CredentialStore | None = None,
) -> int:
    """Print one line per connector; with `check`, exit status 1 if any enabled connector fails its check.

    With `credentials` (the app's database), connectors whose credentials rotate (X's refresh token) use
    and update the ones the running app keeps, so a check never spends a token the app still needs.
    """
    own_client = client is None
    client = client or make_http_client()
    failed = 0
    try:
        width = max(len(spec.label) for spec in SPECS)
        for spec in SPECS:
            missing = spec.missing(platforms)
            if missing:
                out(f"{spec.label:<{width}}  disabled  (missing {', '.join(missing)})")
                continue
            connector = BUILDERS[spec.name](platforms, client, credentials, None)
            how = (
                f"polls every {getattr(connector, 'poll_seconds', 0):g}s"
                if spec.how == "polling"
                else f"webhook at /webhooks/{spec.name}"
            )
            line = f"{spec.label:<{width}}  enabled   ({how})"
            if check:
                try:
                    detail = connector.check()  # type: ignore[attr-defined]
                    line += f"  check: OK, {detail}"
                except ConnectorError as exc:
                    failed += 1
                    line += f"  check: FAILED, {exc}"
            out(line)
    finally:
        if own_client:
            client.close()
    return 1 if failed else 0
