"""The runner's machinery: owner-only events, outcomes, and sandboxes dying with the server."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from neloura.runtime.coding_sandbox import Limits, outcome_of
from neloura.runtime.events import EventBus

ROOT = Path(__file__).resolve().parent.parent.parent


def test_events_with_an_audience_reach_only_that_user() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        bus = EventBus()
        bus.bind(asyncio.get_running_loop())
        got: dict[str, list[str]] = {"alice": [], "bob": []}

        async def listen(user: str) -> None:
            async for event in bus.subscribe(user):
                got[user].append(event["type"])
                if event["type"] == "end":
                    return

        tasks = [asyncio.create_task(listen(u)) for u in got]
        await asyncio.sleep(0.01)
        bus.publish({"type": "secret"}, audience="alice")
        bus.publish({"type": "everyone"})
        bus.publish({"type": "end"})
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return got["alice"], got["bob"]

    alice, bob = asyncio.run(scenario())
    assert alice == ["secret", "everyone", "end"]
    assert bob == ["everyone", "end"]


def test_outcomes() -> None:
    limits = Limits(timeout_s=5, memory_mb=100, file_mb=10)
    assert outcome_of(0, limits=limits).state == "done"
    assert outcome_of(-9, limits=limits, stopped=True).reason == "stopped by the user"
    timed = outcome_of(-9, limits=limits, timed_out=True)
    assert timed.state == "failed" and timed.exit_code == 137 and "time limit of 5 s" in (timed.reason or "")
    assert "CPU time limit of 6 s" in (outcome_of(-signal.SIGXCPU, limits=limits).reason or "")
    assert "memory limit of 100 MB" in (outcome_of(87, limits=limits).reason or "")
    assert outcome_of(1, limits=limits, last_error="KeyError: 'x'").reason == "the script failed: KeyError: 'x'"
    assert outcome_of(3, limits=limits).exit_code == 3


SERVER = """
import sys, time
from pathlib import Path
from neloura.runtime.coding import CodingRunner
from neloura.runtime.coding_sandbox import Limits
base = Path(sys.argv[1])
runner = CodingRunner(None, uploads_dir=base / "uploads", catalog_uploads_dir=base / "cat",
                      files_dir=base, cache_dir=base / "cache", warm=0)
runner.start()
code = "import time\\nprint('up', flush=True)\\nwhile True:\\n    time.sleep(0.01)"
run = runner.submit("me", code, Limits(timeout_s=300))
while "up" not in run.stdout:
    time.sleep(0.05)
print(run.sandbox_pid, flush=True)
time.sleep(600)
"""


def test_sandboxes_die_with_the_server(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SERVER), str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        group = int(server.stdout.readline())
        os.killpg(group, 0)  # the sandbox's group exists while the server lives
    finally:
        server.kill()  # SIGKILL: no cleanup code of the server runs
        server.wait()
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("the sandbox outlived the server")
