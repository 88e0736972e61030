"""Stand-ins for the platforms' APIs, serving the recorded payloads of tests/fixtures/<platform>/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_bytes(platform: str, name: str) -> bytes:
    """A recorded payload as its raw bytes (what a signed webhook delivers)."""
    return (FIXTURES / platform / f"{name}.json").read_bytes()


def platform_fixture(platform: str, name: str) -> Any:
    """A recorded payload, parsed."""
    return json.loads(fixture_bytes(platform, name))
