"""Connectors' rotating credentials kept in the app's database, so every process and restart shares them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import SessionFactory, session_scope
from bot.models import ConnectorCredential
from connectors.base import CredentialStoreError, OAuthTokens


class DatabaseCredentials:
    """The `CredentialStore` of connectors.base over the `connector_credentials` table (see ConnectorCredential).

    The lock is the row's: SELECT … FOR UPDATE on PostgreSQL, the write lock every SQLite transaction
    takes at BEGIN (bot.db). A row is seeded once from the configured refresh token; `seeded_from`, its
    SHA-256, tells a chain that started there from one the operator has since replaced.
    """

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions, self._clock = sessions, clock

    def renew(self, connector: str, *, configured: str, refresh: Callable[[OAuthTokens], OAuthTokens]) -> OAuthTokens:
        seed = _seed(configured)
        try:
            self._ensure_row(connector, configured, seed)
            with session_scope(self._sessions) as session:
                row = _locked(session, connector)
                if row.seeded_from == seed:
                    stored = OAuthTokens(row.refresh_token, row.access_token, row.expires_at)
                else:  # the operator re-authorized and configured a new refresh token: it starts a new chain
                    stored = OAuthTokens(configured)
                kept = refresh(stored)  # the lock is held across it: no other process spends the same token
                if kept != stored:
                    self._write(row, kept, seed)
            return kept
        except SQLAlchemyError as exc:
            raise CredentialStoreError(type(exc).__name__) from exc

    def save(self, connector: str, *, configured: str, tokens: OAuthTokens) -> None:
        seed = _seed(configured)
        try:
            self._ensure_row(connector, configured, seed)
            with session_scope(self._sessions) as session:
                self._write(_locked(session, connector), tokens, seed)
        except SQLAlchemyError as exc:
            raise CredentialStoreError(type(exc).__name__) from exc

    def _ensure_row(self, connector: str, configured: str, seed: str) -> None:
        """The row, created once from the configured refresh token; another process creating it first is fine."""
        try:
            with session_scope(self._sessions) as session:
                if session.get(ConnectorCredential, connector) is None:
                    session.add(
                        ConnectorCredential(
                            connector=connector,
                            refresh_token=configured,
                            seeded_from=seed,
                            updated_at=self._clock.now(),
                        )
                    )
        except IntegrityError:
            pass

    def _write(self, row: ConnectorCredential, tokens: OAuthTokens, seed: str) -> None:
        row.refresh_token, row.access_token, row.expires_at = (
            tokens.refresh_token,
            tokens.access_token,
            tokens.expires_at,
        )
        row.seeded_from, row.updated_at = seed, self._clock.now()


def _seed(configured: str) -> str:
    return hashlib.sha256(configured.encode()).hexdigest()


def _locked(session: Session, connector: str) -> ConnectorCredential:
    row = session.get(ConnectorCredential, connector, with_for_update=True)
    if row is None:  # pragma: no cover - _ensure_row just made it, and rows are never deleted
        raise CredentialStoreError(f"the {connector} credentials row vanished")
    return row
