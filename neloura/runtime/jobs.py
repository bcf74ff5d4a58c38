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

import itertools
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Literal

import psutil

from neloura.errors import Conflict, JobNotFound, NelouraError, PayloadTooLarge
from neloura.runtime.bounded import die_with_parent, watch_parent_pipe
from neloura.runtime.events import EventBus

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
JobFunc = Callable[..., dict[str, Any]]
_FINISHED = ("done", "failed", "cancelled")


@dataclass
class Job:
    id: str
    kind: str
    user: str
    func: JobFunc
    kwargs: dict[str, Any]
    memory_bytes: int
    state: JobState = "queued"
    progress: float = 0.0
    message: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    process: Any = None
    conn: Connection | None = None

    @property
    def eta_s(self) -> float | None:
        if self.state != "running" or self.started is None or self.progress <= 0.02:
            return None
        elapsed = time.time() - self.started
        return max(0.0, elapsed / self.progress * (1.0 - self.progress))

    def public(self) -> dict[str, Any]:
        """What clients see (no paths of result files, only their names)."""
        result = None
        if self.result is not None:
            result = {k: v for k, v in self.result.items() if k != "files"}
            result["files"] = sorted(self.result.get("files", {}))
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 4),
            "message": self.message,
            "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result": result,
            "error": self.error,
        }


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
    def __init__(
        self,
        workers: int,
        events: EventBus,
        *,
        memory_budget_bytes: int | None = None,
        max_queued_per_user: int = 20,
        keep_finished: int = 200,
    ) -> None:
        self.workers = max(1, workers)
        self.events = events
        self.memory_budget = memory_budget_bytes or int(psutil.virtual_memory().total * 0.5)
        self.max_queued_per_user = max_queued_per_user
        self.keep_finished = keep_finished
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queues: OrderedDict[str, deque[Job]] = OrderedDict()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx = multiprocessing.get_context("forkserver")
        # the fork server imports the heavy modules once; each job then forks from it in milliseconds
        self._ctx.set_forkserver_preload(["neloura.runtime.detection", "neloura.runtime.completeness"])
        # every job holds the read end; only the server holds the write end (see ``_child``)
        self._alive_r, self._alive_w = self._ctx.Pipe(duplex=False)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is None:
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
            for job in self._jobs.values():
                if job.state in ("queued", "running"):
                    _kill(job)
                    self._finish(job, "cancelled", message="server stopped")

    # ------------------------------------------------------------------ public API
    def submit(self, kind: str, func: JobFunc, kwargs: dict[str, Any], *, user: str, memory_bytes: int) -> Job:
        if memory_bytes > self.memory_budget:
            raise PayloadTooLarge(
                f"this job needs about {memory_bytes / 2**30:.1f} GiB, more than the "
                f"{self.memory_budget / 2**30:.1f} GiB allowed for jobs"
            )
        with self._lock:
            queue = self._queues.setdefault(user, deque())
            if len(queue) >= self.max_queued_per_user:
                raise Conflict(f"you already have {len(queue)} jobs waiting; cancel some or wait")
            job = Job(uuid.uuid4().hex, kind, user, func, kwargs, int(memory_bytes))
            self._jobs[job.id] = job
            queue.append(job)
        self._publish(job)
        self._wake.set()
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no such job: {job_id}")
        return job

    def all(self, user: str | None = None) -> list[Job]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j for j in jobs if user is None or j.user == user]

    def cancel(self, job_id: str) -> Job:
        with self._lock:
            job = self.get(job_id)
            if job.state == "queued":
                queue = self._queues.get(job.user)
                if queue is not None and job in queue:
                    queue.remove(job)
                self._finish(job, "cancelled", message="cancelled before it started")
            elif job.state == "running":
                _kill(job)
                self._finish(job, "cancelled", message="cancelled")
        self._wake.set()
        return job

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job finishes (tests and command lines)."""
        end = time.monotonic() + timeout
        job = self.get(job_id)
        while job.state not in _FINISHED and time.monotonic() < end:
            time.sleep(0.05)
        return job

    # ------------------------------------------------------------------ scheduling
    def _running(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.state == "running"]

    def _next_fair(self, memory_free: int, nothing_running: bool) -> Job | None:
        """The head of the next user's queue (round-robin) that fits in memory."""
        for _ in range(len(self._queues)):
            user, queue = next(iter(self._queues.items()))
            self._queues.move_to_end(user)
            if queue and (queue[0].memory_bytes <= memory_free or nothing_running):
                return queue.popleft()
        return None

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
        self._publish(job)
        finished = [j for j in self._jobs.values() if j.state in _FINISHED]
        for old in itertools.islice(finished, max(0, len(finished) - self.keep_finished)):
            self._jobs.pop(old.id, None)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._schedule()
            with self._lock:
                running = self._running()
            for job in running:
                with self._lock:
                    if job.state == "running":
                        self._poll(job)
            self._wake.wait(0.05)
            self._wake.clear()

    def _publish(self, job: Job) -> None:
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
            }
        )
