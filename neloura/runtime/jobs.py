"""The job registry: CPU-heavy work (detection, completeness runs) in worker processes.

- Each job runs in its own process (``forkserver`` start method, so the server's threads are
  never forked), at most ``workers`` at a time; cancelling terminates the process at once.
- Fair queueing: queued jobs wait in one queue per user and are started round-robin across
  users, so one user's twenty jobs do not hold back another user's one.
- Memory bounded: every job states an estimate; a job starts only while the running estimates
  stay within the budget (half the machine's RAM by default), and a job larger than the whole
  budget is refused when submitted. Each user may queue at most ``max_queued_per_user`` jobs.
- Jobs die with the server, even ``kill -9`` (see ``_child``); results are written under a
  temporary name and renamed (:mod:`neloura.runtime.atomic`).
- Progress: a job function receives ``progress(fraction, message)``; every change is published
  on the event bus as ``{"type": "job", "id", "kind", "state", "progress", "message", "eta_s"}``.

A job function is a module-level callable ``func(progress, **kwargs) -> dict`` (JSON-able); the
optional ``"files"`` entry of its result (name -> absolute path) lists downloadable outputs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import psutil

from neloura.errors import JobNotFound, NelouraError, PayloadTooLarge
from neloura.runtime.bounded import die_with_parent, watch_parent_pipe
from neloura.runtime.events import EventBus
from neloura.runtime.fair_queue import FairQueue
from neloura.runtime.job_store import FINISHED, JobRecord, JobState, JobStore

JobFunc = Callable[..., dict[str, Any]]
_FINISHED = FINISHED
log = logging.getLogger("neloura.jobs")
# Imported once by the fork server: each job then forks with these ready (no import per job).
PRELOAD = (
    "neloura.runtime.detection",
    "neloura.runtime.completeness",
    "neloura.runtime.rgb_build",
    "neloura.runtime.cubes",
    "neloura.runtime.cutouts",
    "neloura.runtime.figures",
)
INTERRUPTED = "interrupted: the server stopped before the job finished"
RECOVER_EVERY_S = 15.0  # how often jobs of a vanished server process are marked failed
CANCEL_POLL_S = 0.25  # how often the cancel flags set by other processes are read


@dataclass
class Job(JobRecord):
    """A job this process runs: its record plus the function, arguments and process handles."""

    func: JobFunc | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    memory_bytes: int = 0
    process: Any = None
    conn: Connection | None = None

    @property
    def user(self) -> str:
        return self.owner


def _stop_group(*_: object) -> None:
    """Kill this job's whole process group (the job and the worker processes it started)."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _child(conn: Connection, alive: Connection, func: JobFunc, kwargs: dict[str, Any]) -> None:
    """Entry point of a job process: run, report progress, send the result or the error.

    The job dies with the server, even after ``kill -9``: a SIGTERM (sent on cancel, and by
    the kernel when the fork server, our parent, exits: ``PR_SET_PDEATHSIG``) or EOF on the
    ``alive`` pipe (whose only writer is the server) kills the job's process group."""
    os.setpgrp()  # its own process group: cancelling also stops the job's own worker processes
    signal.signal(signal.SIGTERM, _stop_group)
    die_with_parent(signal.SIGTERM)
    watch_parent_pipe(alive, _stop_group)
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.1 or fraction >= 1.0:  # at most ~10 messages a second
            last[0] = now
            conn.send(("progress", float(fraction), str(message)))

    try:
        result = func(progress, **kwargs)
        conn.send(("done", result))
    except NelouraError as exc:
        conn.send(("failed", exc.message))
    except MemoryError:
        conn.send(("failed", "out of memory: try a smaller image or fewer sources"))
    except Exception as exc:  # noqa: BLE001 - the message goes back to the user, the job dies
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _kill(job: Job) -> None:
    """Terminate a running job's process group (the job and any worker processes it started)."""
    process = job.process
    if process is None or process.pid is None or not process.is_alive():
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()


class JobRegistry:
    """Jobs of this server process, recorded in ``store`` (read by every process sharing it)."""

    def __init__(
        self,
        workers: int,
        events: EventBus,
        *,
        store: JobStore | None = None,
        memory_budget_bytes: int | None = None,
        max_queued_per_user: int = 20,
    ) -> None:
        self.workers = max(1, workers)
        self.events = events
        self.store = store if store is not None else JobStore(None)
        self.memory_budget = memory_budget_bytes or int(psutil.virtual_memory().total * 0.5)
        self.max_queued_per_user = max_queued_per_user
        self._jobs: dict[str, Job] = {}  # this process's queued and running jobs
        self._queue: FairQueue[Job] = FairQueue(max_queued_per_user, "jobs")
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx = multiprocessing.get_context("forkserver")
        # the fork server imports the heavy modules once; each job then forks from it in milliseconds
        self._ctx.set_forkserver_preload(list(PRELOAD))
        # every job holds the read end; only the server holds the write end (see ``_child``)
        self._alive_r, self._alive_w = self._ctx.Pipe(duplex=False)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is None:
            self._recover()
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="neloura-jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            for job in list(self._jobs.values()):
                _kill(job)
                self._finish(job, "failed", error=INTERRUPTED)

    # ------------------------------------------------------------------ public API
    def submit(self, kind: str, func: JobFunc, kwargs: dict[str, Any], *, user: str, memory_bytes: int) -> Job:
        """Queue ``func(progress, **kwargs)`` for owner ``user`` (a session's owner key)."""
        if memory_bytes > self.memory_budget:
            raise PayloadTooLarge(
                f"this job needs about {memory_bytes / 2**30:.1f} GiB, more than the "
                f"{self.memory_budget / 2**30:.1f} GiB allowed for jobs"
            )
        with self._lock:
            job = Job(uuid.uuid4().hex, kind, user, created=time.time(), func=func, kwargs=kwargs)
            job.memory_bytes = int(memory_bytes)
            self._queue.push(user, job)
            try:
                self.store.insert(job)
            except BaseException:
                self._queue.remove(user, job)
                raise
            self._jobs[job.id] = job
        self._publish(job)
        self._wake.set()
        return job

    def get(self, job_id: str, owner: str | None = None) -> JobRecord:
        """The job as recorded in the store; 404 when missing or (``owner`` given) someone else's."""
        record = self.store.get(job_id)
        if record is None or (owner is not None and record.owner != owner):
            raise JobNotFound(f"no such job: {job_id}")
        return record

    def local(self, job_id: str) -> Job | None:
        """The live job if this process runs it (process handles), else None."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self, owner: str | None = None) -> list[JobRecord]:
        """Jobs of ``owner`` (every owner's when None), oldest first."""
        return self.store.list(owner)

    def cancel(self, job_id: str, owner: str | None = None, *, wait_s: float = 3.0) -> JobRecord:
        """Cancel a queued or running job: at once when this process runs it, else through the
        store's flag (the process running it stops it within ``CANCEL_POLL_S``; waited ``wait_s``)."""
        record = self.get(job_id, owner)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._cancel_local(job)
        if job is None and record.state not in _FINISHED:
            self.store.request_cancel(job_id)
            end = time.monotonic() + wait_s
            while (record := self.get(job_id)).state not in _FINISHED and time.monotonic() < end:
                time.sleep(0.05)
        self._wake.set()
        return self.get(job_id)

    def wait(self, job_id: str, timeout: float = 60.0) -> JobRecord:
        """Block until the job finishes (tests and command lines)."""
        end = time.monotonic() + timeout
        record = self.get(job_id)
        while record.state not in _FINISHED and time.monotonic() < end:
            time.sleep(0.05)
            record = self.get(job_id)
        return record

    # ------------------------------------------------------------------ scheduling
    def _cancel_local(self, job: Job) -> None:
        if job.state == "queued":
            self._queue.remove(job.owner, job)
            self._finish(job, "cancelled", message="cancelled before it started")
        elif job.state == "running":
            _kill(job)
            self._finish(job, "cancelled", message="cancelled")

    def _running(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.state == "running"]

    def _next_fair(self, memory_free: int, nothing_running: bool) -> Job | None:
        """The head of the next user's queue (round-robin) that fits in memory."""
        return self._queue.pop_next(lambda job: job.memory_bytes <= memory_free or nothing_running)

    def _schedule(self) -> None:
        with self._lock:
            while True:
                running = self._running()
                if len(running) >= self.workers:
                    return
                free = self.memory_budget - sum(j.memory_bytes for j in running)
                job = self._next_fair(free, not running)
                if job is None:
                    return
                try:
                    self._launch(job)
                except (OSError, RuntimeError, ValueError) as exc:  # could not start a process
                    self._finish(job, "failed", error=f"could not start the job: {exc}")

    def _launch(self, job: Job) -> None:
        parent, child = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(target=_child, args=(child, self._alive_r, job.func, job.kwargs), daemon=False)
        job.state, job.started, job.message = "running", time.time(), "starting"
        job.process, job.conn = process, parent
        process.start()
        child.close()
        self._publish(job)

    def _poll(self, job: Job) -> None:
        conn = job.conn
        if conn is None:
            return
        try:
            while conn.poll():
                message = conn.recv()
                if message[0] == "progress":
                    job.progress, job.message = min(1.0, max(job.progress, message[1])), message[2]
                    self._publish(job)
                elif message[0] == "done":
                    self._finish(job, "done", result=message[1])
                    return
                else:
                    self._finish(job, "failed", error=message[1])
                    return
        except (EOFError, OSError):
            if job.state == "running":
                code = job.process.exitcode if job.process is not None else None
                self._finish(job, "failed", error=f"the worker process died (exit code {code})")

    def _finish(
        self,
        job: Job,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        message: str | None = None,
    ) -> None:
        if job.state in _FINISHED:
            return
        job.state, job.finished, job.result, job.error = state, time.time(), result, error
        if state == "done":
            job.progress = 1.0
        job.message = message or error or state
        if job.conn is not None:
            job.conn.close()
            job.conn = None
        if job.process is not None:
            job.process.join(timeout=2)
        self._jobs.pop(job.id, None)
        self._publish(job)

    def _recover(self) -> None:
        try:
            for job_id in self.store.recover(INTERRUPTED):
                log.info("job %s marked failed: %s", job_id, INTERRUPTED)
        except sqlite3.Error:  # the store is busy: the next round tries again
            log.exception("job store: recovery failed")

    def _poll_cancels(self) -> None:
        with self._lock:
            ids = list(self._jobs)
        try:
            flagged = self.store.cancel_requested(ids)
        except sqlite3.Error:
            log.exception("job store: reading cancel flags failed")
            return
        with self._lock:
            for job_id in flagged:
                job = self._jobs.get(job_id)
                if job is not None:
                    self._cancel_local(job)

    def _loop(self) -> None:
        next_cancel_poll = next_recover = time.monotonic()
        while not self._stop.is_set():
            self._schedule()
            with self._lock:
                running = self._running()
            for job in running:
                with self._lock:
                    if job.state == "running":
                        self._poll(job)
            now = time.monotonic()
            if now >= next_cancel_poll:
                next_cancel_poll = now + CANCEL_POLL_S
                self._poll_cancels()
            if now >= next_recover:
                next_recover = now + RECOVER_EVERY_S
                self._recover()
            self._wake.wait(0.05)
            self._wake.clear()

    def _publish(self, job: Job) -> None:
        """Record the job's state in the store, then tell its owner's pages."""
        try:
            self.store.save(job)
        except sqlite3.Error:  # a locked store loses one progress step, never the job
            log.exception("job store: could not record job %s", job.id)
        eta = job.eta_s
        self.events.publish(
            {
                "type": "job",
                "id": job.id,
                "kind": job.kind,
                "state": job.state,
                "progress": round(job.progress, 4),
                "message": job.message,
                "eta_s": None if eta is None else round(eta, 1),
            },
            audience=job.owner,
        )
