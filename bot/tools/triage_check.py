"""`care-bot triage check`: what the policy in force makes of some texts, one JSON object per line.

Why: a lead tuning `CARE_TRIAGE_FILE` needs to see a change's effect before a storm does; a line of JSON per
text is easy to read and to pipe into `jq` or a spreadsheet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from bot.services import triage


def check(policy: triage.Policy, texts: Iterable[str], *, out: Callable[[str], None] = print) -> int:
    """Print each text's verdict; blank lines (from standard input) are skipped. Exit status 0."""
    for text in texts:
        if not text.strip():
            continue
        verdict = policy.assess(text)
        out(
            json.dumps(
                {
                    "needs_reply": verdict.needs_reply,
                    "score": verdict.score,
                    "priority": verdict.priority,
                    "reason": verdict.reason,
                },
                ensure_ascii=False,
            )
        )
    return 0
