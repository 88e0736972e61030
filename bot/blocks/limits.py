"""Slack's documented Block Kit limits, and the one way every builder fits rendered text into them.

Why after escaping: `&` becomes `&amp;` and every quoted line gains `> `, so a post that was short enough
as typed can be five times too long as sent. Every limit here is applied to the text exactly as Slack will
receive it, and measured in UTF-16 code units (an emoji counts twice): never less than Slack's own count,
whichever way it counts characters.

A cut never falls inside an entity (`&amp;`) or a `<…>` sequence (a link or mention we built), so a fitted
text is still valid mrkdwn. Where a customer's post is longer than one block, `quoted_parts` splits it
into parts that are each within the limit, in order, so nothing is cut: the rest goes to further blocks or
messages (see `bot/blocks/case.py`).

Numbers from Slack's Block Kit reference (docs.slack.dev/reference/block-kit) and
/work/shared/reference/platform-facts.md.
"""

from __future__ import annotations

from typing import Any

SECTION_TEXT = 3000  # section block text; also any mrkdwn/plain_text text object (context elements)
FIELD_TEXT = 2000  # each of a section's fields
SECTION_FIELDS = 10
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER = 150
INPUT_LABEL = 2000
INPUT_HINT = 2000
INPUT_VALUE = 3000  # a plain_text_input holds at most 3000 characters (its max_length bound)
ACTIONS_ELEMENTS = 25
ID_LENGTH = 255  # block_id, action_id
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modals and the Home tab
VIEW_TITLE = 24  # a modal's title, submit and close
PRIVATE_METADATA = 3000
MESSAGE_TEXT = 40_000  # top-level `text`: Slack truncates above this
# Slack's advice for the top-level `text`; we keep notification fallbacks below it
FALLBACK_TEXT = 4000
# Undocumented: Slack answers msg_blocks_too_long at about 13k characters of block text in one message.
# A message of ours carries at most this much, with a margin.
MESSAGE_BLOCK_CHARS = 11_000
ELLIPSIS = "…"


def size(text: str) -> int:
    """The length Slack may count: UTF-16 code units (an astral emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def head(text: str, limit: int) -> str:
    """The longest start of a plain text (an input's value) within `limit`, as Slack counts."""
    return text[: _units_cut(text, limit)]


def _units_cut(text: str, limit: int) -> int:
    raw = min(len(text), limit)
    while raw and size(text[:raw]) > limit:
        raw -= max(1, (size(text[:raw]) - limit + 1) // 2)
    return raw


def safe_cut(text: str, limit: int) -> int:
    """The largest index at which `text` may be cut so its head is within `limit` and still valid mrkdwn."""
    raw = _units_cut(text, limit)
    if raw >= len(text):
        return raw
    cut = raw
    opening = text.rfind("<", 0, cut)
    if opening != -1 and text.find(">", opening, cut) == -1:
        cut = opening  # never inside a link or mention we built
    amp = text.rfind("&", max(0, cut - 4), cut)
    if amp != -1 and text.find(";", amp, cut) == -1:
        cut = amp  # never inside &amp; &lt; &gt;
    return cut or raw  # a single sequence longer than the limit: cut it rather than loop


def fit(text: str, limit: int = SECTION_TEXT) -> str:
    """`text` as is when it fits, else cut at a safe place with an ellipsis (for labels and excerpts, not posts)."""
    if size(text) <= limit:
        return text
    return text[: safe_cut(text, limit - 1)].rstrip() + ELLIPSIS


def pieces(text: str, limit: int) -> list[str]:
    """`text` cut into consecutive pieces of at most `limit`, at safe places; joined they are `text` again."""
    out: list[str] = []
    while size(text) > limit:
        cut = safe_cut(text, limit) or 1
        out.append(text[:cut])
        text = text[cut:]
    return [*out, text] if text or not out else out


def pack(lines: list[str], limit: int) -> list[str]:
    """Lines joined by newlines into as few texts within `limit` as their order allows (a longer line is split)."""
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        for piece in pieces(line, limit):
            n = size(piece)
            if current and used + 1 + n <= limit:
                current.append(piece)
                used += 1 + n
            else:
                if current:
                    parts.append("\n".join(current))
                current, used = [piece], n
    if current:
        parts.append("\n".join(current))
    return parts


def quote_lines(escaped: str, width: int = SECTION_TEXT) -> list[str]:
    """Every line of an already escaped text as a mrkdwn quote line (`> `), a longer line split into several."""
    lines: list[str] = []
    for line in escaped.splitlines() or [""]:
        lines += ["> " + piece for piece in pieces(line, width - 2)]
    return lines


def quoted_parts(escaped: str, limit: int = SECTION_TEXT) -> list[str]:
    """An escaped text, quoted, in consecutive parts of at most `limit` each: all of it, in order."""
    return pack(quote_lines(escaped, limit), limit)


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section block, its text fitted to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text or " ", SECTION_TEXT)}}


def context(text: str) -> dict[str, Any]:
    """A context block of one mrkdwn text, fitted."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(text or " ", SECTION_TEXT)}]}


def plain(text: str, limit: int) -> dict[str, str]:
    """A plain_text object fitted to `limit` (a header 150, a button 75, a label 2000...)."""
    return {"type": "plain_text", "text": fit(text or " ", limit)}


def fallback(text: str) -> str:
    """A message's top-level `text` (what notifications show), fitted."""
    return fit(text, FALLBACK_TEXT)


def block_chars(blocks: list[dict[str, Any]]) -> int:
    """How much text a message's blocks carry (what Slack's undocumented total-size check counts, roughly)."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                total += size(node["text"])
            stack += [v for v in node.values() if isinstance(v, (dict, list))]
        elif isinstance(node, list):
            stack += node
    return total


def messages_of_sections(texts: list[str]) -> list[list[dict[str, Any]]]:
    """Section texts (each within SECTION_TEXT) grouped into messages within the block count and total size."""
    return group([section(text) for text in texts])


def group(blocks: list[dict[str, Any]], *, room: int = 1) -> list[list[dict[str, Any]]]:
    """Blocks, in order, grouped into as few messages as the block count and total size allow, each with
    `room` blocks (and a line's worth of text) to spare for a heading."""
    messages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    chars = 0
    budget = MESSAGE_BLOCK_CHARS - 300 * room
    for block in blocks:
        n = block_chars([block])
        if current and (len(current) >= MESSAGE_BLOCKS - room or chars + n > budget):
            messages.append(current)
            current, chars = [], 0
        current.append(block)
        chars += n
    if current:
        messages.append(current)
    return messages


def cap(
    blocks: list[dict[str, Any]],
    *,
    max_blocks: int = MESSAGE_BLOCKS,
    max_chars: int = MESSAGE_BLOCK_CHARS,
    note: str = "…more than one message can show.",
) -> list[dict[str, Any]]:
    """A list of blocks cut to what one message (or view) may carry, ending with `note` when anything was left out.

    For lists that already say where the rest is (the Home tab, `/care mine`); a customer's post is never
    shortened this way (see `quoted_parts`)."""
    if len(blocks) <= max_blocks and block_chars(blocks) <= max_chars:
        return blocks
    kept: list[dict[str, Any]] = []
    chars = size(note)
    for block in blocks[: max_blocks - 1]:
        n = block_chars([block])
        if chars + n > max_chars:
            break
        kept.append(block)
        chars += n
    return [*kept, context(note)]


def minimal(text: str, blocks: list[dict[str, Any]] | None, reason: str) -> tuple[str, list[dict[str, Any]]]:
    """What to post when Slack refused a message as built: its words in one fitted section, a note saying why,
    and our own buttons (so the case can still be acted on). Everything in it is already escaped."""
    words = _texts(blocks) if blocks else text
    kept = [b for b in blocks or [] if b.get("type") == "actions"][:1]
    note = f":warning: Slack refused this message as built ({reason}), so it is shown plainly."
    return fallback(text), [section(words), context(note), *kept]


def _texts(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "actions":
            return ""
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        nested = [_texts(v) for v in node.values() if isinstance(v, (dict, list))]
        return "\n".join(t for t in own + nested if t)
    if isinstance(node, list):
        return "\n".join(t for t in (_texts(v) for v in node) if t)
    return ""
