"""Module-level job bodies for the job registry tests (a job process imports them by name)."""

from __future__ import annotations

import time
from typing import Any

from neloura.errors import InvalidParameter


def count(progress: Any, *, steps: int = 5, delay: float = 0.05) -> dict[str, Any]:
    for i in range(steps):
        time.sleep(delay)
        progress((i + 1) / steps, f"step {i + 1}/{steps}")
    return {"steps": steps, "started": time.time()}


def stamp(progress: Any, *, delay: float = 0.3) -> dict[str, Any]:
    started = time.time()
    time.sleep(delay)
    return {"started": started}


def sleeper(progress: Any, *, seconds: float = 30.0) -> dict[str, Any]:
    progress(0.1, "sleeping")
    time.sleep(seconds)
    return {}


def bad(progress: Any) -> dict[str, Any]:
    raise InvalidParameter("the threshold makes no sense")


def with_workers(progress: Any, *, seconds: float = 60.0) -> dict[str, Any]:
    """A job that starts two worker processes of its own, as completeness runs do."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=time.sleep, args=(seconds,)) for _ in range(2)]
    for w in workers:
        w.start()
    progress(0.5, "workers started")
    time.sleep(seconds)
    return {}
