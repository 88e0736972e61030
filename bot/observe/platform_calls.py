"""Every platform API call timed and counted, by connector: a transport wrapped around the connectors' shared
httpx client (connectors/registry.py), so no connector needs to know it is measured."""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import urlparse

import httpx

from bot.config import PlatformSettings
from bot.observe import metrics


def connector_hosts(platforms: PlatformSettings, generic_reply_url: str | None) -> dict[str, str]:
    """Which connector a call is for, by the host (and port) it goes to; Facebook and Instagram share Meta's."""
    urls = (
        ("x", platforms.x.api_url),
        ("x", platforms.x.token_url),
        ("meta", platforms.meta.graph_url),
        ("reddit", platforms.reddit.api_url),
        ("reddit", platforms.reddit.auth_url),
        ("google", platforms.google.api_url),
        ("google", platforms.google.token_url),
        ("generic", generic_reply_url or ""),
    )
    hosts: dict[str, str] = {}
    for name, url in urls:
        netloc = urlparse(url).netloc if url else ""
        if netloc:
            hosts.setdefault(netloc, name)
    return hosts


class MeasuredTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, hosts: Mapping[str, str]) -> None:
        self._inner, self._hosts = inner, hosts

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        connector = self._hosts.get(request.url.netloc.decode("ascii", "replace"), "other")
        started = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError:
            metrics.PLATFORM_API_ERRORS.labels(connector, request.method, "0").inc()
            raise
        finally:
            metrics.PLATFORM_API_SECONDS.labels(connector, request.method).observe(time.perf_counter() - started)
        if response.status_code >= 400:
            metrics.PLATFORM_API_ERRORS.labels(connector, request.method, str(response.status_code)).inc()
        return response

    def close(self) -> None:
        self._inner.close()
