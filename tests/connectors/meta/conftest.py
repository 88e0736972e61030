"""What the Facebook and Instagram tests share: the fake Graph API, the app configured for it (`extra_env`
adds to its META_* settings) and a desk fed by Meta's signed webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import Case, CaseEvent, Mention, OutboxItem
from tests.fakes import fixture_bytes
from tests.fakes.meta import FakeGraph, deliver, meta_env
from tests.fakes.platform_standin import PlatformStandIn
from tests.support.desk import Desk
from tests.support.env import make_env


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with PlatformStandIn() as standin:
        yield FakeGraph(standin)


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {}


@pytest.fixture
def env(slack, database_url, graph, extra_env) -> dict[str, str]:
    return make_env(slack, database_url, **meta_env(graph.url, **extra_env))


class MetaDesk(Desk):
    """The care desk, fed by Meta's webhooks instead of the generic one."""

    def deliver(self, platform: str, body: bytes | Any) -> dict[str, Any]:
        response = deliver(self.url, platform, body)
        assert response.status_code == 200, response.text
        self.settle()
        return response.json()

    def comment(self, platform: str = "facebook", name: str = "comment_add") -> int:
        self.deliver(platform, fixture_bytes(platform, name))
        with self.rt.sessions() as s:
            return s.scalars(select(Case.id).order_by(Case.id.desc())).first()

    def reply(self, case_id: int, text: str) -> None:
        self.click("case_reply", case_id)
        assert self.send_reply(self.last_view(), text) == {}

    def stored(self) -> tuple[int, int, int, int]:
        with self.rt.sessions() as s:
            return tuple(
                int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                for m in (Case, Mention, CaseEvent, OutboxItem)
            )


@pytest.fixture
def desk(app_url, rt, slack, listeners) -> MetaDesk:
    return MetaDesk(app_url, rt, slack, listeners)
