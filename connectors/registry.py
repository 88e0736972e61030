"""Which connectors are enabled: a connector is on when its settings are present.

Each platform is one line of `SPECS` (its name, label, how mentions arrive, which settings it still lacks)
and one line of `BUILDERS` (how to build it). `care-bot connectors` prints the table; `--check` calls
each enabled connector's cheapest authenticated endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.clock import Clock
from bot.config import PlatformSettings, Settings
from connectors import google, meta, reddit, x
from connectors.base import Connector, CredentialStore
from connectors.generic import GenericConnector

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

# A platform's connector from its settings and the shared client; the store and the clock go to the
# platforms whose credentials rotate, and the others ignore them.
Builder = Callable[[PlatformSettings, httpx.Client, CredentialStore | None, Clock | None], Connector]


def make_http_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The one client every connector shares; `transport` lets the app measure each call (bot/observe)."""
    return httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False, transport=transport)


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    label: str
    how: str  # "webhook" or "polling": how mentions arrive
    missing: Callable[[PlatformSettings], tuple[str, ...]]


SPECS: tuple[ConnectorSpec, ...] = (
    ConnectorSpec("x", "X (Twitter)", "polling", lambda p: p.x.missing()),
    ConnectorSpec("facebook", "Facebook Page", "webhook", lambda p: p.meta.missing_facebook()),
    ConnectorSpec("instagram", "Instagram", "webhook", lambda p: p.meta.missing_instagram()),
    ConnectorSpec("reddit", "Reddit", "polling", lambda p: p.reddit.missing()),
    ConnectorSpec("google", "Google Business Profile reviews", "polling", lambda p: p.google.missing()),
)


def _fixed(build: Callable[[PlatformSettings, httpx.Client], Connector]) -> Builder:
    """A platform whose credentials never rotate: it needs neither the store nor the clock."""
    return lambda platforms, client, _credentials, _clock: build(platforms, client)


BUILDERS: dict[str, Builder] = {
    "x": x.build,  # X's refresh token is single-use: the newest is kept in the credential store
    "facebook": _fixed(meta.build_facebook),
    "instagram": _fixed(meta.build_instagram),
    "reddit": _fixed(reddit.build),
    "google": _fixed(google.build),
}


def partially_configured(platforms: PlatformSettings) -> list[tuple[ConnectorSpec, tuple[str, ...]]]:
    """Connectors with some settings but not all: probably a typo, worth a warning at start-up."""
    out = []
    for spec in SPECS:
        missing = spec.missing(platforms)
        if missing and len(missing) < len(spec.missing(PlatformSettings())):
            out.append((spec, missing))
    return out


def build_connectors(
    settings: Settings, client: httpx.Client, *, credentials: CredentialStore | None = None, clock: Clock | None = None
) -> dict[str, Connector]:
    """Every enabled connector; with `credentials`, those whose credentials rotate keep them there."""
    connectors: dict[str, Connector] = {}
    # The generic connector is always present: its cases may exist even after the secret is removed,
    # and it reports a missing reply URL itself, in the case thread.
    connectors["generic"] = GenericConnector(
        secret=settings.care_webhook_secret, reply_url=settings.care_generic_reply_url, client=client
    )
    connectors.update(
        {
            spec.name: BUILDERS[spec.name](settings.platforms, client, credentials, clock)
            for spec in SPECS
            if not spec.missing(settings.platforms)
        }
    )
    for spec, missing in partially_configured(settings.platforms):
        logger.warning("the %s connector is off: %s not set", spec.label, ", ".join(missing))
    return connectors
