"""The durable job store: a restart lists finished jobs, interrupted ones fail with the reason,
and a second server process sharing the data root reads and cancels the first one's jobs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from neloura.errors import JobNotFound
from neloura.runtime.events import EventBus
from neloura.runtime.job_store import JobRecord, JobStore
from neloura.runtime.jobs import INTERRUPTED, JobRegistry
from tests.runtime import job_functions as jf

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.Popen[str]:
    """Another server process (same data root): a child Python with the project importable."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_store_is_wal_and_keeps_finished_jobs_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    jobs = JobRegistry(1, EventBus(), store=JobStore(db))
    jobs.start()
    try:
        job = jobs.submit("count", jf.count, {"steps": 2}, user="alice", memory_bytes=1)
        assert jobs.wait(job.id, 60).state == "done"
    finally:
        jobs.stop()
    again = JobRegistry(1, EventBus(), store=JobStore(db))  # a new server on the same root
    again.start()
    try:
        record = again.get(job.id, "alice")
        assert record.state == "done" and record.result == {"steps": 2, "started": job.result["started"]}
        assert [r.id for r in again.all("alice")] == [job.id] and again.all("bob") == []
        with pytest.raises(JobNotFound):
            again.get(job.id, "bob")
    finally:
        again.stop()
    mode = JobStore(db)._conn().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_graceful_stop_fails_the_jobs_in_flight_with_the_reason(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    jobs = JobRegistry(1, EventBus(), store=JobStore(db))
    jobs.start()
    running = jobs.submit("sleep", jf.sleeper, {"seconds": 60}, user="a", memory_bytes=1)
    queued = jobs.submit("sleep", jf.sleeper, {"seconds": 60}, user="a", memory_bytes=1)
    end = time.monotonic() + 30
    while jobs.get(running.id).state != "running" and time.monotonic() < end:
        time.sleep(0.05)
    jobs.stop()
    store = JobStore(db)
    for job_id in (running.id, queued.id):
        record = store.get(job_id)
        assert record is not None and record.state == "failed" and record.error == INTERRUPTED


def test_jobs_of_a_killed_server_are_failed_with_the_reason_at_the_next_start(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    child = _python(
        f"""
        import sys
        from neloura.runtime.job_store import JobRecord, JobStore
        from pathlib import Path
        store = JobStore(Path({str(db)!r}))
        store.insert(JobRecord("deadbeef", "detection", "alice", state="running", created=1.0, started=2.0))
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        store = JobStore(db)
        assert store.recover(INTERRUPTED) == []  # its server is alive: its job is left alone
        assert store.get("deadbeef").state == "running"  # type: ignore[union-attr]
    finally:
        child.kill()  # kill -9: nothing of the child runs any more
        child.wait(10)
    jobs = JobRegistry(1, EventBus(), store=JobStore(db))
    jobs.start()
    try:
        record = jobs.get("deadbeef", "alice")
        assert record.state == "failed" and record.error == INTERRUPTED and record.finished is not None
    finally:
        jobs.stop()


def test_another_process_reads_and_cancels_a_job_through_the_store(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite"
    child = _python(
        f"""
        import sys, time
        from pathlib import Path
        from neloura.runtime.events import EventBus
        from neloura.runtime.job_store import JobStore
        from neloura.runtime.jobs import JobRegistry
        from tests.runtime import job_functions as jf
        jobs = JobRegistry(1, EventBus(), store=JobStore(Path({str(db)!r})))
        jobs.start()
        job = jobs.submit("sleep", jf.sleeper, {{"seconds": 120}}, user="alice", memory_bytes=1)
        while jobs.get(job.id).state != "running":
            time.sleep(0.05)
        print(job.id, flush=True)
        sys.stdin.read()
        jobs.stop()
        """
    )
    try:
        assert child.stdout is not None
        job_id = child.stdout.readline().strip()
        here = JobRegistry(1, EventBus(), store=JobStore(db))  # another worker: not started, runs nothing
        assert here.get(job_id, "alice").state == "running"
        with pytest.raises(JobNotFound):
            here.cancel(job_id, "bob")
        record = here.cancel(job_id, "alice", wait_s=20)
        assert record.state == "cancelled" and record.message == "cancelled"
    finally:
        child.communicate("", timeout=30)


def test_expire_forgets_old_finished_jobs_only(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite")
    now = time.time()
    store.insert(JobRecord("old", "detection", "a", state="done", created=now - 100, finished=now - 90))
    store.insert(JobRecord("new", "detection", "a", state="done", created=now - 10, finished=now - 5))
    store.insert(JobRecord("busy", "detection", "a", state="running", created=now - 100))
    assert store.expire(now - 60) == 1
    assert [r.id for r in store.list("a")] == ["busy", "new"]
