"""Which connectors are enabled: a connector is on when its settings are present.

Each platform is one line of `SPECS`: its name, which settings it still lacks, and how to build it.
`care-bot connectors` prints this table; `--check` calls each enabled connector's cheapest
authenticated endpoint.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from bot.clock import Clock, SystemClock
from bot.config import PlatformSettings, Settings
from bot.db import SessionFactory
from connectors.base import Connector
from connectors.generic import GenericConnector

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def make_http_client() -> httpx.Client:
    return httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False)


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    label: str
    how: str  # "webhook" or "polling": how mentions arrive
    missing: Callable[[PlatformSettings], tuple[str, ...]]
    factory: str  # "module:callable(platform_settings, client)", imported only when enabled

    def build(self, platforms: PlatformSettings, client: httpx.Client, *, sessions: SessionFactory | None = None,
              clock: Clock | None = None) -> Connector:
        """The connector; with `sessions`, one whose credentials rotate keeps them in the database."""
        module, _, attr = self.factory.partition(":")
        built: Connector = getattr(importlib.import_module(module), attr)(platforms, client)
        if sessions is not None and isinstance(built, KeepsCredentials):
            built.use_database(sessions, clock or SystemClock())
        return built


SPECS: tuple[ConnectorSpec, ...] = (
    ConnectorSpec("x", "X (Twitter)", "polling", lambda p: p.x.missing(), "connectors.x:build"),
    ConnectorSpec("facebook", "Facebook Page", "webhook", lambda p: p.meta.missing_facebook(),
                  "connectors.meta:build_facebook"),
    ConnectorSpec("instagram", "Instagram", "webhook", lambda p: p.meta.missing_instagram(),
                  "connectors.meta:build_instagram"),
    ConnectorSpec("reddit", "Reddit", "polling", lambda p: p.reddit.missing(), "connectors.reddit:build"),
    ConnectorSpec("google", "Google Business Profile reviews", "polling", lambda p: p.google.missing(),
                  "connectors.google:build"),
)


@runtime_checkable
class KeepsCredentials(Protocol):
    """A connector whose credentials rotate (X's single-use refresh token) and so live in the database."""

    def use_database(self, sessions: SessionFactory, clock: Clock) -> None: ...


def partially_configured(platforms: PlatformSettings) -> list[tuple[ConnectorSpec, tuple[str, ...]]]:
    """Connectors with some settings but not all: probably a typo, worth a warning at start-up."""
    out = []
    for spec in SPECS:
        missing = spec.missing(platforms)
        if missing and len(missing) < len(spec.missing(PlatformSettings())):
            out.append((spec, missing))
    return out


def build_connectors(settings: Settings, client: httpx.Client, *, sessions: SessionFactory | None = None,
                     clock: Clock | None = None) -> dict[str, Connector]:
    """Every enabled connector; with `sessions`, those whose credentials rotate keep them in the database."""
    connectors: dict[str, Connector] = {}
    # The generic connector is always present: its cases may exist even after the secret is removed,
    # and it reports a missing reply URL itself, in the case thread.
    connectors["generic"] = GenericConnector(
        secret=settings.care_webhook_secret, reply_url=settings.care_generic_reply_url, client=client
    )
    connectors.update({spec.name: spec.build(settings.platforms, client, sessions=sessions, clock=clock)
                       for spec in SPECS if not spec.missing(settings.platforms)})
    for spec, missing in partially_configured(settings.platforms):
        logger.warning("the %s connector is off: %s not set", spec.label, ", ".join(missing))
    return connectors
