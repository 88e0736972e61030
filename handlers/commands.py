"""The /care slash command. Answers are ephemeral: visible only to the person who asked.

Usage and mistakes are answered in the acknowledgement itself (no I/O at all). Everything that reads
the database is acknowledged at once and answered afterwards through the command's response_url,
which works wherever the command was typed (chat.postEphemeral would need the bot in that channel).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.blocks import digest as digest_blocks
from bot.blocks import figures
from bot.blocks import playbook as playbook_blocks
from bot.blocks.mrkdwn import Blocks, escape
from bot.errors import UserError
from bot.runtime import Runtime
from bot.services import digest, playbook, queues, stats, triage_learning
from handlers.errors import guarded
from handlers.gate import COMMANDS, check
from handlers.listener import runtime

USAGE = (
    "*/care* — the social care desk\n"
    "• `/care stats [today|7d|30d]` — the team's figures (default today), shown only to you\n"
    "• `/care mine` — your open cases, with links to their threads\n"
    "• `/care triage` — how often triage agreed with what the team did over the last 30 days\n"
    "• `/care digest` — the managers' daily digest, sent to you now by direct message (managers only)\n"
    "• `/care replies` — the team's saved replies, as the Reply modal offers them\n"
    "• `/care help` — this message\n"
    "Cases arrive in <#{channel}> with buttons: *Claim*, *Reply*, *Move to DM*, *Escalate*, *Ignore*, *Resolve*."
)
DIGEST_ON_ITS_WAY = "Your digest is on its way: it arrives in your direct messages with Care Desk in a moment."


def parse(text: str | None) -> tuple[str, list[str]]:
    words = (text or "").split()
    return (words[0].lower() if words else "help"), [w.lower() for w in words[1:]]


def problem(sub: str, args: list[str]) -> str | None:
    """What to say instead of running the command (help, an unknown subcommand, a bad period); None to run it."""
    if sub == "help":
        return ""
    if sub not in ("stats", "mine", "digest", "triage", "replies"):
        return f"I don't know `/care {escape(sub)}`.\n"
    if sub == "stats" and (len(args) > 1 or (args and args[0] not in stats.PERIOD_DAYS)):
        return f"I don't know the period `{escape(' '.join(args))}`: use `today`, `7d` or `30d`.\n"
    return None


def register(app: App) -> None:
    app.command("/care")(ack=guarded(on_care), lazy=[guarded(answer)])


def on_care(ack: Ack, body: dict[str, Any], command: dict[str, Any], context: BoltContext) -> None:
    sub, args = parse(command.get("text"))
    said = problem(sub, args)
    if said is not None:
        ack(response_type="ephemeral", text=said + USAGE.format(channel=runtime(context).settings.care_channel))
    else:
        ack()  # the answer follows through response_url


def answer(body: dict[str, Any], command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    rt = runtime(context)
    sub, args = parse(command.get("text"))
    if problem(sub, args) is not None:
        return
    user = command["user_id"]
    if sub in COMMANDS:  # stats and help quote no customer: open to all
        try:
            check(context, user, COMMANDS[sub])
        except UserError as refused:
            respond(text=str(refused), response_type="ephemeral", replace_original=False)
            return
    if sub == "digest":
        respond(text=_digest(rt, user), response_type="ephemeral", replace_original=False)
        return
    if sub == "triage":
        text, blocks = _triage(rt)
    elif sub == "replies":  # quotes no customer: open to all, like stats
        text, blocks = _saved_replies(rt)
    else:
        text, blocks = _figures(rt, args[0] if args else "today") if sub == "stats" else _my_cases(rt, user)
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def _figures(rt: Runtime, period_name: str) -> tuple[str, Blocks]:
    settings, now = rt.settings, rt.now()
    with rt.read() as s:
        period = stats.period(period_name, now=now, tz=settings.timezone)
        found = stats.compute(s, period=period, now=now, policy=settings.sla, tz=settings.timezone)
    return figures.stats_message(found, now=now, link=rt.thread_url)


def _triage(rt: Runtime) -> tuple[str, Blocks]:
    now, tz = rt.now(), rt.settings.timezone
    period = stats.period("30d", now=now, tz=tz)
    with rt.read() as s:
        found = triage_learning.agreement(s, start=period.start, end=period.end)
    return figures.triage_message(found, period)


def _saved_replies(rt: Runtime) -> tuple[str, Blocks]:
    path = rt.settings.playbook_file
    where = f"CARE_PLAYBOOK_FILE ({path})" if path else "the default playbook (set CARE_PLAYBOOK_FILE for your own)"
    return playbook_blocks.replies_message(playbook.configured(path), where=where)


def _my_cases(rt: Runtime, user: str) -> tuple[str, Blocks]:
    with rt.read() as s:
        lines = queues.mine(s, user_id=user)
    return figures.mine_message(lines, link=rt.thread_url, now=rt.now())


def _digest(rt: Runtime, user: str) -> str:
    settings = rt.settings
    with rt.unit() as s:
        queued = digest.request(s, user_id=user, now=rt.now(), tz=settings.timezone)
    if isinstance(queued, digest.NotYet):
        return digest_blocks.not_yet_text(queued, tz=settings.timezone, at=settings.digest_time)
    return DIGEST_ON_ITS_WAY
