"""Reading Block Kit as a person reads it: every text of a block tree."""

from __future__ import annotations

from typing import Any


def all_text(node: Any) -> str:
    """Every text in a block tree, one per line: what a reader of the message sees."""
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return "\n".join(own + [all_text(v) for v in node.values() if isinstance(v, (dict, list))])
    if isinstance(node, list):
        return "\n".join(all_text(v) for v in node)
    return ""
