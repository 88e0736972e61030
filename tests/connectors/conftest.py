"""What the connector tests share: an httpx client, and the fake Reddit and fake X they drive (each on the platform
stand-in, a real HTTP server on 127.0.0.1). A module that needs them set up otherwise defines its own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.platform_standin import PlatformStandIn
from tests.fakes.reddit import FakeReddit
from tests.fakes.x import APP_TOKEN, BRAND, JANE, MO, USER_TOKEN, FakeX


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    with PlatformStandIn() as standin:
        yield FakeReddit(standin)


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """X with the brand's account and two customers, Jane and Mo."""
    with PlatformStandIn() as standin:
        fake = FakeX(standin, brand_id=BRAND, app_token=APP_TOKEN, user_token=USER_TOKEN)
        fake.add_user(JANE, "jane_doe", "Jane Doe")
        fake.add_user(MO, "mo_k", "Mo Khan")
        yield fake
