"""Waiting for work done after an acknowledgement: Bolt's listener pool that can be waited on, and `wait_for`."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class TrackingExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, with a way to wait until every listener has finished its after-ack work."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="bolt-test")
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self._futures.append(future)
        return future

    def wait_idle(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while any(not f.done() for f in list(self._futures)):
            if time.monotonic() > deadline:
                raise AssertionError("listeners did not finish in time")
            time.sleep(0.01)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait for work a listener does after its ack (in Bolt's threads); fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
