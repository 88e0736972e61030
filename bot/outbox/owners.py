"""Who holds a lease: a name for this process that a restarted process on the same host can check.

A lease names its owner. When a process is killed (SIGKILL, OOM, a crash) its leases would otherwise be
waited out (up to `outbox.LEASE_SECONDS`) by whoever takes over. The process that starts next on the same
host can tell that the owner is gone — the named process no longer exists, or that pid now belongs to a
process started at another moment (containers reuse pid 1) — and end those leases almost at once.

The check only ever concludes "dead" for an owner on this host whose process it can prove gone; anything
it cannot read (another host, no /proc) counts as alive, so a replica's lease is never cut short.
Replicas on one database must therefore have distinct host names (Kubernetes pods, Compose replicas and
separate machines do).
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

SEPARATOR = "/"
HOST_CHARS = 32  # lease_owner is String(64): host, pid, start time and a random tail fit


def host() -> str:
    return socket.gethostname()[:HOST_CHARS].replace(SEPARATOR, "-") or "localhost"


def started(pid: int) -> str | None:
    """The moment process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); None if
    there is no such process or no /proc to ask."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may itself hold spaces or parentheses
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def this_process() -> str:
    """`host/pid/start/random`: unique per process start, and checkable by the next process on this host."""
    pid = os.getpid()
    return SEPARATOR.join((host(), str(pid), started(pid) or "0", uuid.uuid4().hex[:8]))


def on_this_host() -> str:
    """The prefix every owner on this host begins with (for a LIKE)."""
    return host() + SEPARATOR


def gone(owner: str) -> bool:
    """True only if `owner` names a process of this host that no longer runs."""
    parts = owner.split(SEPARATOR)
    if len(parts) != 4 or parts[0] != host() or not parts[1].isdigit() or not Path("/proc/self/stat").exists():
        return False
    now_started = started(int(parts[1]))
    return now_started is None or now_started != parts[2]
