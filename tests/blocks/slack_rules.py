"""Slack's side of the bargain, written down apart from the code under test: what Slack would refuse in a
message or a view (its documented Block Kit limits), and which `<…>` sequences in a rendered text are live.

The numbers are copied from Slack's Block Kit reference (docs.slack.dev/reference/block-kit: section,
header, context, actions, input, button, option, plain_text_input, modal views) and chat.postMessage, not
imported from bot/blocks/limits.py, so a wrong number there cannot make these checks agree with it. Lengths
are counted in UTF-16 code units, which is never less than Slack's count however it counts characters.
"""

from __future__ import annotations

import json
import re
from typing import Any

# "about 13k characters" of block text: Slack's undocumented msg_blocks_too_long (platform-facts.md)
MESSAGE_BLOCK_CHARS = 13_000


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _text(obj: Any, limit: int, where: str, problems: list[str], *, kind: str | None = None) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        problems.append(f"{where}: not a text object: {obj!r}"[:200])
        return
    if kind and obj.get("type") != kind:
        problems.append(f"{where}: must be {kind}")
    n = units(obj["text"])
    if not 1 <= n <= limit:
        problems.append(f"{where}: text of {n} (limit {limit})")


def _element(element: dict[str, Any], where: str, problems: list[str]) -> None:
    kind = element.get("type")
    if len(element.get("action_id", "")) > 255:
        problems.append(f"{where}: action_id over 255")
    if kind == "button":
        _text(element.get("text"), 75, f"{where} button", problems, kind="plain_text")
        if units(element.get("value", "")) > 2000:
            problems.append(f"{where}: button value over 2000")
    for option in element.get("options", []):
        _text(option.get("text"), 75, f"{where} option", problems)
        if units(option.get("value", "")) > 150:
            problems.append(f"{where}: option value over 150")
    if len(element.get("options", [])) > 100:
        problems.append(f"{where}: over 100 options")
    if "placeholder" in element:
        _text(element["placeholder"], 150, f"{where} placeholder", problems, kind="plain_text")
    if kind == "plain_text_input":
        if units(element.get("initial_value", "")) > 3000:
            problems.append(f"{where}: initial_value over 3000")
        if not 1 <= element.get("max_length", 3000) <= 3000:
            problems.append(f"{where}: max_length out of 1..3000")


def block_problems(blocks: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for n, block in enumerate(blocks):
        where, kind = f"block {n} ({block.get('type')})", block.get("type")
        if len(block.get("block_id", "")) > 255:
            problems.append(f"{where}: block_id over 255")
        if kind == "section":
            if "text" in block:
                _text(block["text"], 3000, where, problems)
            elif not block.get("fields"):
                problems.append(f"{where}: neither text nor fields")
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"{where}: {len(fields)} fields")
            for field in fields:
                _text(field, 2000, f"{where} field", problems)
        elif kind == "header":
            _text(block.get("text"), 150, where, problems, kind="plain_text")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"{where}: {len(elements)} elements")
            for element in elements:
                _text(element, 3000, f"{where} element", problems)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                problems.append(f"{where}: {len(elements)} elements")
            for element in elements:
                _element(element, where, problems)
        elif kind == "input":
            _text(block.get("label"), 2000, f"{where} label", problems, kind="plain_text")
            if "hint" in block:
                _text(block["hint"], 2000, f"{where} hint", problems, kind="plain_text")
            _element(block.get("element", {}), where, problems)
        elif kind != "divider":
            problems.append(f"{where}: unexpected block type")
    return problems


def message_problems(text: str, blocks: list[dict[str, Any]] | None) -> list[str]:
    """What Slack would refuse (or silently truncate) in one chat.postMessage / chat.update."""
    problems: list[str] = []
    if not text and not blocks:
        problems.append("no text")
    if units(text or "") > 40_000:
        problems.append(f"top-level text of {units(text)} (Slack truncates above 40,000)")
    if blocks:
        if len(blocks) > 50:
            problems.append(f"{len(blocks)} blocks (limit 50)")
        total = sum(units(t) for t in texts(blocks))
        if total > MESSAGE_BLOCK_CHARS:
            problems.append(f"{total} characters of block text (msg_blocks_too_long at about 13k)")
        problems += block_problems(blocks)
    return problems


def view_problems(view: dict[str, Any]) -> list[str]:
    """What views.open / views.publish would refuse."""
    problems: list[str] = []
    blocks = view.get("blocks", [])
    if len(blocks) > 100:
        problems.append(f"{len(blocks)} blocks (limit 100)")
    if view.get("type") == "modal":
        for key in ("title", "submit", "close"):
            if key in view:
                _text(view[key], 24, f"modal {key}", problems, kind="plain_text")
        if units(view.get("private_metadata", "")) > 3000:
            problems.append("private_metadata over 3000")
    return problems + block_problems(blocks)


def texts(node: Any) -> list[str]:
    """Every text string in a block tree (what Slack renders)."""
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for v in node.values() if isinstance(v, (dict, list)) for t in texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in texts(v)]
    return []


# The `<…>` sequences our own code writes: staff and group mentions from settings or clicks, Slack dates, and
# links whose label we chose. Anything else in `<…>` (or any `&` that is not an entity) came from input.
OUR_SEQUENCES = re.compile(
    r"<@U0[A-Z0-9]+>"
    r"|<!subteam\^S0[A-Z0-9]+>"
    r"|<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[0-9: UTC-]+>"
    r"|<(?:https?|slack)://[^\s|<>]+\|(?:View post|Open the thread|Case #\d+)>"
)
SEQUENCE = re.compile(r"<[^<>]*>?")
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def live_sequences(text: str, staff: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The `<…>` sequences in `text` Slack would act on that our code did not write (mentions of anyone
    but `staff`, links with a chosen label, `<!channel>`...), and bare `&` (text that skipped escaping)."""
    found = []
    for match in SEQUENCE.finditer(text):
        seq = match.group()
        if not OUR_SEQUENCES.fullmatch(seq) or (seq.startswith("<@") and seq[2:-1] not in staff):
            found.append(seq)
    return found + [f"bare & at {m.start()}" for m in BARE_AMPERSAND.finditer(text)]


def payload_texts(text: str, blocks: Any) -> list[str]:
    return [text, *texts(blocks or [])]


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:2000]
