"""`care-bot triage learn`: fit the learned layer of triage and write it where CARE_TRIAGE_MODEL can name it.

Why a command and not a button: learning reads the whole history (or a file a lead prepared) and writes a file
an operator then chooses to deploy; a lead sees with `/care triage` when it is time, and with `care-bot triage
check` what the new model makes of a text before the desk runs with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.orm import Session

from bot.clock import SystemClock
from bot.errors import UserError
from bot.services import triage, triage_learning


def learn(
    args: argparse.Namespace,
    policy: triage.Policy,
    desk: Callable[[], AbstractContextManager[Session]],
    *,
    out: Callable[[str], None] = print,
) -> int:
    """Learn from `args.csv` or, without it, from the desk's decisions (`desk` opens a session on its database)."""
    if args.csv:
        examples = triage_learning.csv_examples(
            Path(args.csv),
            text_column=args.text_column,
            label_column=args.label_column,
            needs_reply_value=args.needs_reply_value,
            weight_column=args.weight_column,
        )
    else:
        with desk() as session:
            examples = triage_learning.desk_examples(session)
    model = triage_learning.learn(examples, policy, now=SystemClock().now())
    target = Path(args.out)
    try:
        model.save(target)
    except OSError as exc:
        raise UserError(f"The model could not be written to {target}: {exc.strerror or exc}.") from None
    needed = sum(examples.labels)
    out(f"Learned from {examples.source}: {needed} needed a reply, {len(examples.labels) - needed} did not.")
    out(
        f"Wrote {target}. Set CARE_TRIAGE_MODEL={target} and restart the app to triage with it; "
        "`care-bot triage check` shows what it makes of a text first."
    )
    return 0
