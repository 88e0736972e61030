"""What the benchmarks share: where the project and the shared data set are, the fixed moment the generated desks
are set at, the webhook secret their `care-bot serve` runs with, the complaint texts and signed generic-webhook
bodies they send, and waiting for a port. (Each benchmark imports this; none imports another's module for it.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TWEETS = ROOT.parent / "shared" / "data" / "Tweets.csv"
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
SECRET = "engine-bench-webhook-secret"


def texts() -> list[str]:
    """Real complaint texts where the shared data set is present, else generated ones."""
    if TWEETS.is_file():
        import csv

        with TWEETS.open(encoding="utf-8", errors="replace") as f:
            found = [row["text"] for row in csv.DictReader(f) if row.get("text")]
        if found:
            return found
    words = ["refund", "late", "flight", "bag", "lost", "help", "please", "waiting", "week", "order", "broken"]
    rng = random.Random(7)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(6, 24))) for _ in range(2000)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def generic_bodies(count: int) -> list[tuple[bytes, str]]:
    corpus = texts()
    rng = random.Random(3)
    found = []
    for n in range(count):
        body = json.dumps(
            {
                "platform": "twitter",
                "id": f"bench-{n}-{rng.randint(0, 1 << 30)}",
                "author": {"id": f"a{n}", "handle": f"customer{n}", "name": f"Customer {n}"},
                "text": rng.choice(corpus),
                "created_at": "2026-11-26T10:00:00Z",
            }
        ).encode()
        found.append((body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()))
    return found
