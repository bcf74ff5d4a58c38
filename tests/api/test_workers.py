"""Several server workers (``NELOURA_WORKERS=2``, the real ``python main.py`` in a subprocess):
an event published in one worker (a detection job's progress, from the job process it runs)
reaches the ``/ws`` clients connected to the other worker, through the SQLite broker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.api.job_helpers import write_field

websockets_sync = pytest.importorskip("websockets.sync.client")

PROJECT = Path(__file__).resolve().parents[2]
SESSION = "w" * 43  # the page's session cookie (job events reach only their owner's sockets)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    write_field(tmp_path / "files")
    port = _free_port()
    env = {
        **os.environ,
        "NELOURA_DEMO": "false",
        "NELOURA_DISK_CACHE": "false",
        "NELOURA_JOB_WORKERS": "1",
        "NELOURA_PARSE_WORKERS": "1",
    }
    env.pop("NELOURA_ALLOWED_HOSTS", None)
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--root", str(tmp_path), "--port", str(port), "--workers", "2"],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "server did not start:\n" + log_path.read_text()[-3000:]
            try:
                urllib.request.urlopen(url + "/api/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _sockets_on_both_workers(url: str, stack: contextlib.ExitStack) -> list[tuple[Any, str]]:
    """Open /ws connections until both workers hold at least two (the kernel spreads accepts, and
    the second worker may still be starting on a loaded machine: wait for it, up to 3 minutes)."""
    ws_url = url.replace("http://", "ws://") + "/ws"
    cookie = {"Cookie": f"neloura_session={SESSION}"}
    sockets: list[tuple[Any, str]] = []
    seen: set[str] = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ws = websockets_sync.connect(ws_url, additional_headers=cookie)
        hello = json.loads(ws.recv(timeout=30))
        assert hello["type"] == "hello"
        worker = hello["worker"]
        seen.add(worker)
        if sum(1 for _, w in sockets if w == worker) >= 2:
            ws.close()  # this worker has its sockets: wait for the other one
            time.sleep(0.2)
            continue
        stack.enter_context(ws)
        sockets.append((ws, worker))
        if len(seen) == 2 and len(sockets) >= 4:
            return sockets
    pytest.fail(f"in 3 minutes, connections landed only on {seen}")


def _job_events(ws: Any, job_id: str, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    """The events of ``job_id`` one socket receives, until the job's final one."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event.get("type") == "job" and event.get("id") == job_id:
            seen.append(event)
            if event["state"] in ("done", "failed", "cancelled"):
                break
    return seen


def test_job_events_reach_the_sockets_of_every_worker(two_workers: str) -> None:
    with contextlib.ExitStack() as stack:
        sockets = _sockets_on_both_workers(two_workers, stack)
        body = json.dumps({"path": "field.fits", "threshold_sigma": 5, "fwhm_px": 3}).encode()
        request = urllib.request.Request(
            two_workers + "/api/detection",
            data=body,
            headers={"Content-Type": "application/json", "Cookie": f"neloura_session={SESSION}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            job = json.loads(response.read())
        # every socket, on whichever worker, hears the job from queued to done, progress included
        for ws, worker in sockets:
            events = _job_events(ws, job["id"])
            states = [e["state"] for e in events]
            assert states and states[-1] == "done", (worker, events)
            assert "running" in states and any(0 < e["progress"] < 1 for e in events), (worker, events)


def test_the_workers_stop_with_a_killed_master(two_workers: str) -> None:
    """``kill -9`` of the master process: its workers (and their job and parse processes) stop too,
    instead of serving on, orphaned, from the inherited socket."""
    with contextlib.ExitStack() as stack:
        _sockets_on_both_workers(two_workers, stack)  # both workers are up (they start one by one)
    port = int(two_workers.rsplit(":", 1)[1])
    master = next(
        p
        for p in psutil.process_iter(["cmdline"])
        if "--workers" in (p.info["cmdline"] or []) and str(port) in p.info["cmdline"]
    )
    tree = [master, *master.children(recursive=True)]
    assert len(tree) >= 3  # the master and two workers at least
    master.send_signal(signal.SIGKILL)
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert [p.pid for p in alive] == []
