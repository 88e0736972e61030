"""DatabaseCredentials: the connectors' rotating tokens in the app's database, on SQLite or PostgreSQL.

What is asserted is the contract of `connectors.base.CredentialStore` that X relies on: a chain starts at
the configured refresh token and survives a new store (a restart), a re-authorized token replaces it,
nothing is written when `refresh` adopts what it was handed or fails, and the lock is held across
`refresh`, so a second process waits and is handed the first one's tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.clock import ManualClock
from bot.credentials import DatabaseCredentials
from bot.db import SessionFactory, make_engine, make_session_factory, upgrade
from bot.errors import AuthError
from bot.models import ConnectorCredential
from connectors.base import CredentialStoreError, OAuthTokens


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    return make_session_factory(engine)


@pytest.fixture
def store(sessions: SessionFactory, clock: ManualClock) -> DatabaseCredentials:
    return DatabaseCredentials(sessions, clock)


def renewed(clock: ManualClock, n: int) -> OAuthTokens:
    return OAuthTokens(f"refresh-{n}", f"access-{n}", clock.now() + timedelta(hours=2))


class Refresh:
    """A `refresh` callback that records what it is handed and returns `result` (else adopts what it got)."""

    def __init__(self, result: OAuthTokens | None = None) -> None:
        self.result = result
        self.handed: list[OAuthTokens] = []

    def __call__(self, tokens: OAuthTokens) -> OAuthTokens:
        self.handed.append(tokens)
        return self.result or tokens


def row(sessions: SessionFactory) -> ConnectorCredential:
    with sessions() as session:
        found = session.get(ConnectorCredential, "x")
        assert found is not None
        return found


def test_the_chain_starts_at_the_configured_token_and_outlives_the_store(store, sessions, clock):
    first = Refresh(renewed(clock, 1))
    assert store.renew("x", configured="refresh-0", refresh=first) == renewed(clock, 1)
    assert first.handed == [OAuthTokens("refresh-0")]
    again = Refresh()
    DatabaseCredentials(sessions, clock).renew("x", configured="refresh-0", refresh=again)  # a restart
    assert again.handed == [renewed(clock, 1)]  # the configured token is spent: the stored chain goes on
    assert row(sessions).refresh_token == "refresh-1" and row(sessions).updated_at == clock.now()


def test_a_re_authorized_token_starts_a_new_chain(store, clock):
    store.renew("x", configured="refresh-0", refresh=Refresh(renewed(clock, 1)))
    new_chain = Refresh(renewed(clock, 2))
    store.renew("x", configured="re-authorized", refresh=new_chain)
    assert new_chain.handed == [OAuthTokens("re-authorized")]
    continued = Refresh()
    store.renew("x", configured="re-authorized", refresh=continued)
    assert continued.handed == [renewed(clock, 2)]


def test_adopting_what_was_handed_writes_nothing(store, sessions, clock):
    tokens = renewed(clock, 1)
    store.renew("x", configured="refresh-0", refresh=Refresh(tokens))
    written = row(sessions).updated_at
    clock.advance(60)
    assert store.renew("x", configured="refresh-0", refresh=Refresh()) == tokens
    assert row(sessions).updated_at == written


def test_a_refresh_that_fails_writes_nothing_and_its_error_is_kept(store, sessions, clock):
    store.renew("x", configured="refresh-0", refresh=Refresh(renewed(clock, 1)))

    def refused(tokens: OAuthTokens) -> OAuthTokens:
        raise AuthError("X refused the refresh token")

    with pytest.raises(AuthError, match="X refused the refresh token"):
        store.renew("x", configured="refresh-0", refresh=refused)
    assert row(sessions).refresh_token == "refresh-1"


def test_save_keeps_tokens_renewed_while_the_database_was_away(store, clock):
    store.save("x", configured="refresh-0", tokens=renewed(clock, 5))
    after = Refresh()
    store.renew("x", configured="refresh-0", refresh=after)
    assert after.handed == [renewed(clock, 5)]


def test_the_lock_is_held_across_refresh_so_a_second_process_is_handed_the_winners_tokens(sessions, clock):
    first, second = DatabaseCredentials(sessions, clock), DatabaseCredentials(sessions, clock)
    first.renew("x", configured="refresh-0", refresh=Refresh())  # the row exists before the race
    inside, release = threading.Event(), threading.Event()
    adopting = Refresh()

    def slow_refresh(tokens: OAuthTokens) -> OAuthTokens:
        inside.set()
        assert release.wait(10)
        return renewed(clock, 1)

    winner = threading.Thread(
        target=first.renew, args=("x",), kwargs={"configured": "refresh-0", "refresh": slow_refresh}
    )
    loser = threading.Thread(target=second.renew, args=("x",), kwargs={"configured": "refresh-0", "refresh": adopting})
    winner.start()
    try:
        assert inside.wait(10)
        loser.start()
        loser.join(0.3)
        assert loser.is_alive() and adopting.handed == []  # waiting for the lock, not reading a spent token
    finally:
        release.set()
        winner.join(10)
    loser.join(10)
    assert adopting.handed == [renewed(clock, 1)]


def test_a_database_that_cannot_be_read_is_a_credential_store_error(database_url, clock):
    engine = make_engine(database_url)  # no `upgrade`: there is no connector_credentials table
    try:
        store = DatabaseCredentials(make_session_factory(engine), clock)
        with pytest.raises(CredentialStoreError, match=r"^\w+Error$") as raised:
            store.renew("x", configured="refresh-0", refresh=Refresh())
        assert type(raised.value.__cause__).__name__ == str(raised.value)
        with pytest.raises(CredentialStoreError):
            store.save("x", configured="refresh-0", tokens=renewed(clock, 1))
    finally:
        engine.dispose()
