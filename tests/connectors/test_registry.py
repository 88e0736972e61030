"""The registry's two tables (what each platform is, how to build it) list the same platforms."""

from __future__ import annotations

from connectors.registry import BUILDERS, SPECS


def test_every_platform_in_the_table_has_a_builder() -> None:
    assert list(BUILDERS) == [spec.name for spec in SPECS]
