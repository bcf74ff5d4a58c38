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
