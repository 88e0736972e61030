"""The house keeps its shape: each room imports only what its role allows, and nothing imports in a circle.

Read from the code's own import statements (every one, at any depth, type-checking ones included), so a
shortcut taken anywhere shows up here rather than in review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "connectors")
SLACK = ("slack_bolt", "slack_sdk")
WEB = ("starlette", "uvicorn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """Every module `path` imports, resolved to our own modules where it names one (`from bot import db`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def rooms(*prefixes: str) -> Iterator[str]:
    return (m for m in MODULES if within(m, prefixes))


# every room above the kernel: neither the kernel nor bot/observe (which all of them use) may import one
ABOVE_THE_KERNEL = (
    "bot.services",
    "bot.blocks",
    "bot.outbox",
    "bot.web",
    "bot.schedule",
    "bot.tools",
    "bot.app",
    "bot.runtime",
    "handlers",
    "connectors",
)

# (whose imports, what they must not import, why)
RULES = [
    (
        ("bot.services",),
        (
            *SLACK,
            *WEB,
            "bot.blocks",
            "bot.outbox",
            "bot.web",
            "bot.schedule",
            "bot.tools",
            "bot.app",
            "bot.runtime",
            "bot.workspace",
            "handlers",
            "connectors.registry",
        ),
        "the domain is plain Python over a session: no Slack, no HTTP, no rendering, no wiring",
    ),
    (
        ("connectors",),
        (
            *SLACK,
            *WEB,
            "sqlalchemy",
            "bot.db",
            "bot.models",
            "bot.services",
            "bot.blocks",
            "bot.outbox",
            "bot.web",
            "bot.schedule",
            "bot.tools",
            "bot.app",
            "bot.runtime",
            "bot.credentials",
            "handlers",
        ),
        "a connector speaks its platform only, and never touches the app's database",
    ),
    (
        ("bot.blocks",),
        (*SLACK, *WEB, "bot.db", "bot.outbox", "bot.web", "bot.schedule", "bot.runtime", "handlers", "connectors"),
        "Block Kit builders are pure: data in, dicts out",
    ),
    (
        ("bot.config", "bot.errors", "bot.clock", "bot.db", "bot.group_commit", "bot.models", "bot.sla"),
        (*SLACK, *WEB, *ABOVE_THE_KERNEL),
        "the kernel depends on nothing above it",
    ),
    (
        ("bot.observe",),
        (*WEB, *ABOVE_THE_KERNEL),
        "metrics, logs and readiness are measured from outside: every room may use them, they use none",
    ),
    (
        ("handlers",),
        ("sqlalchemy", "bot.db", "bot.models", "bot.outbox", "bot.web", "bot.schedule", "connectors"),
        "a listener parses, calls a service and renders; it does not reach past the services",
    ),
]


def test_a_connector_takes_from_the_app_only_the_kernel() -> None:
    """Not only the rooms named above: from bot/, connectors may import the settings, the errors and the clock
    (and `bot` itself, for its version in a User-Agent), nothing else."""
    kernel = ("bot", "bot.config", "bot.errors", "bot.clock")
    broken = sorted(
        f"{module} imports {name}"
        for module in rooms("connectors")
        for name in imports(MODULES[module])
        if within(name, ("bot",)) and name not in kernel
    )
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("owners, forbidden, why", RULES, ids=[r[0][0] for r in RULES])
def test_each_room_imports_only_what_its_role_allows(owners, forbidden, why) -> None:
    broken = sorted(
        f"{module} imports {name}"
        for module in rooms(*owners)
        for name in imports(MODULES[module])
        if within(name, forbidden)
    )
    assert not broken, f"{why}:\n" + "\n".join(broken)


def test_nothing_imports_in_a_circle() -> None:
    graph = {m: {i for i in imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}
    circles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert circles == [], circles


def test_the_rules_see_real_imports() -> None:
    """The reader is not blind: it finds the arrows we know are there."""
    assert "bot.services.cases" in imports(MODULES["handlers.actions"])
    assert "bot.db" in imports(MODULES["bot.runtime"])  # `from bot import db`
    assert "slack_sdk" in imports(MODULES["bot.outbox.slack_lane"])
