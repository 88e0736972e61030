"""connectors/ keeps its boundaries: it speaks the platforms, and takes from the app only the kernel.

A connector never touches the app's database (what it must keep, it keeps in an injected
`CredentialStore`), and never Slack: from `bot` it may import the settings, the errors and the clock.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import connectors

SOURCES = sorted(Path(connectors.__file__).parent.glob("*.py"))
KERNEL = {"bot", "bot.config", "bot.errors", "bot.clock"}  # `bot` itself only for its __version__
FORBIDDEN = ("sqlalchemy", "slack_bolt", "slack_sdk", "handlers")


def imported(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_a_connector_imports_only_the_kernel_of_the_app(path):
    modules = imported(path)
    assert {m for m in modules if m == "bot" or m.startswith("bot.")} <= KERNEL
    assert not [m for m in modules if m.split(".")[0] in FORBIDDEN]


def test_every_platform_in_the_table_has_a_builder():
    from connectors.registry import BUILDERS, SPECS

    assert list(BUILDERS) == [spec.name for spec in SPECS]
