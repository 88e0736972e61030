"""Does a heavy read or the sweep stall the webhooks? The real `care-bot serve` on the generated desk.

    python benchmarks/stall_bench.py DATABASE_URL     (engine_bench runs it on the desk it generated)

Two rows of issue "The engine under load": a webhook while the reminder sweep runs, and a webhook while
`/care stats 30d` runs, each measured as the latency of signed webhooks sent 20 a second meanwhile (p99 and
the slowest). The sweep measured is the heaviest there is: the first after a start with new SLA settings looks at
every open case (a restart with unchanged settings does not).
The serve's clock is set to the desk's own "now" (CARE_TEST_CLOCK_OFFSET), so the sweep finds the steady state
the generator wrote, not a day of reminders fallen due since.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import NOW  # noqa: E402
from lane_bench import SIGNING_SECRET, STAFF, Row, Serve, mention, pct, post_mention, standin  # noqa: E402

from bot.tools.slack_standin import signed_headers  # noqa: E402

TARGET = 0.1  # seconds: a webhook or click while a heavy read or the sweep runs


def probe(url: str, seconds: float, prefix: str, every: float = 0.05) -> list[float]:
    """Latencies of signed webhooks sent every `every` seconds for `seconds` (one connection, like a platform)."""
    found: list[float] = []
    with httpx.Client() as client:
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            status = post_mention(client, url, mention(n, "Where is my parcel? I have been waiting all week", prefix))
            took = time.monotonic() - started
            if status == 202:
                found.append(took)
            n += 1
            time.sleep(max(0.0, every - took))
    return found


def stats_command(url: str, user: str) -> float:
    """`/care stats 30d` as Slack sends it; the seconds until it was acknowledged."""
    body = urlencode(
        {
            "command": "/care",
            "text": "stats 30d",
            "user_id": user,
            "channel_id": "C0LANE",
            "team_id": "T0STANDIN",
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": "111.222.trigger",
        }
    )
    started = time.monotonic()
    httpx.post(f"{url}/slack/events", content=body, headers=signed_headers(body, secret=SIGNING_SECRET), timeout=30)
    return time.monotonic() - started


def copy_sqlite(url: str, workdir: Path) -> str:
    """A copy of the desk, so the rows' new cases never change the desk the reads are measured on."""
    source = url.removeprefix("sqlite:///")
    target = workdir / "stalls.db"
    for stale in workdir.glob("stalls.db*"):
        stale.unlink()
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def verdict(latencies: list[float]) -> tuple[str, bool]:
    if not latencies:
        return "no webhook answered", False
    worst, p99 = max(latencies), pct(latencies, 99)
    return f"p99 {p99 * 1000:.0f} ms, slowest {worst * 1000:.0f} ms ({len(latencies)} webhooks)", worst < TARGET


def new_sla_settings(url: str) -> None:
    """Make the serve's start look like one with new SLA settings: its first sweep then looks at every open case
    (a restart with the settings the desk already planned with skips that, bot/services/reminders.py)."""
    from sqlalchemy import update

    from bot import db
    from bot.models import DeskStart

    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(update(DeskStart).values(sla_fingerprint=None))
    finally:
        engine.dispose()


def run_stalls(workdir: Path, desk_url: str) -> list[Row]:
    url = copy_sqlite(desk_url, workdir) if desk_url.startswith("sqlite") else desk_url
    new_sla_settings(url)
    offset = (NOW - datetime.now(UTC)).total_seconds()
    rows: list[Row] = []
    with standin() as slack:
        serve = Serve(workdir, slack, url, "stalls", extra={"CARE_TEST_CLOCK_OFFSET": f"{offset:.0f}"})
        try:
            serve.healthy(timeout=120)
            up = time.monotonic() - serve.started
            during_sweep = probe(serve.url, 20.0, "sweep")  # the first sweep started with the process
            text, met = verdict(during_sweep)
            rows.append(
                Row(
                    "a webhook while the first reminder sweep after a start with new SLA settings runs (every open "
                    "case looked at; a restart with the same settings skips it)",
                    f"{text}; for 20 s from {up:.0f} s after the start",
                    f"< {TARGET * 1000:.0f} ms",
                    met,
                )
            )
            acks: list[float] = []
            commands = threading.Thread(
                target=lambda: acks.extend(stats_command(serve.url, STAFF[n]) for n in range(3)), daemon=True
            )
            commands.start()
            during_stats = probe(serve.url, 10.0, "stats")
            commands.join()
            text, met = verdict(during_stats)
            ack = f"; the three commands acknowledged in at most {max(acks) * 1000:.0f} ms" if acks else ""
            rows.append(Row("a webhook while `/care stats 30d` runs (three at once)", text + ack, "< 100 ms", met))
        finally:
            serve.stop()
    return rows


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    from lane_bench import print_rows

    workdir = Path("/tmp/stall-bench")
    workdir.mkdir(exist_ok=True)
    print_rows(run_stalls(workdir, sys.argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
