"""An in-memory `CredentialStore` whose writes can be made to fail, as when the app's database is away."""

from __future__ import annotations

import threading
from collections.abc import Callable

from connectors.base import CredentialStoreError, OAuthTokens


class MemoryCredentials:
    """Keeps each connector's chain in a dict, under one lock; `fail_writes` makes the next writes fail."""

    def __init__(self) -> None:
        self.chains: dict[str, tuple[str, OAuthTokens]] = {}  # connector -> (configured it started from, newest)
        self.fail_writes = 0
        self._lock = threading.Lock()

    def renew(self, connector: str, *, configured: str, refresh: Callable[[OAuthTokens], OAuthTokens]) -> OAuthTokens:
        with self._lock:
            start, newest = self.chains.get(connector, (configured, OAuthTokens(configured)))
            stored = newest if start == configured else OAuthTokens(configured)
            kept = refresh(stored)
            if kept != stored:
                self._write(connector, configured, kept)
            return kept

    def save(self, connector: str, *, configured: str, tokens: OAuthTokens) -> None:
        with self._lock:
            self._write(connector, configured, tokens)

    def _write(self, connector: str, configured: str, tokens: OAuthTokens) -> None:
        if self.fail_writes:
            self.fail_writes -= 1
            raise CredentialStoreError("OperationalError")
        self.chains[connector] = (configured, tokens)
