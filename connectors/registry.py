"""Which connectors are enabled: a connector is on when its settings are present."""

from __future__ import annotations

import httpx

from bot.config import Settings
from connectors.base import Connector
from connectors.generic import GenericConnector

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def make_http_client() -> httpx.Client:
    return httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)


def build_connectors(settings: Settings, client: httpx.Client) -> dict[str, Connector]:
    connectors: dict[str, Connector] = {}
    # The generic connector is always present: its cases may exist even after the secret is removed,
    # and it reports a missing reply URL itself, in the case thread.
    connectors["generic"] = GenericConnector(
        secret=settings.care_webhook_secret, reply_url=settings.care_generic_reply_url, client=client
    )
    return connectors
