"""`care-bot serve` in a subprocess: an environment without the machine's own settings, a free port, and
starting, waiting for health and stopping with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.env import CHANNEL
from tests.support.slack_requests import SIGNING_SECRET

SETTINGS_PREFIXES = ("SLACK_", "CARE_")
SETTINGS_NAMES = {"DATABASE_URL", "PORT", "LOG_LEVEL"}


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any of the app's settings, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES) and k not in SETTINGS_NAMES}
    env.update(values)
    return env


def valid_settings(tmp_path: Path, **overrides: str) -> dict[str, str]:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-cli-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "CARE_CHANNEL": CHANNEL,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'care.db'}",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.url, self.log = proc, f"http://127.0.0.1:{port}", log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_serve(tmp_path: Path, env: dict[str, str]) -> Served:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=tmp_path,
            env=clean_env(**env, PORT=str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Served(proc, port, log)


def wait_healthy(served: Served, timeout: float = 15.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        if served.proc.poll() is not None:
            raise AssertionError(f"serve exited with {served.proc.returncode}:\n{served.output()}")
        try:
            response = httpx.get(f"{served.url}/healthz", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"serve did not become healthy in {timeout}s:\n{served.output()}")
        time.sleep(0.1)


def stop(served: Served) -> int:
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGTERM)
    try:
        return served.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait(timeout=5)
        raise AssertionError(f"serve did not exit on SIGTERM:\n{served.output()}") from None
