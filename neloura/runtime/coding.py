"""The code runner: a warm pool of sandboxed interpreters, fair queues, runs with live output.

- Runs belong to the browser session that started them (``api.session``: the owner key of the
  page's HttpOnly session cookie): another session gets 404 for them, cannot stop them, and their output travels
  over ``/ws`` only to the sockets of the same user (``EventBus.publish(..., audience=user)``).
- At most ``workers`` runs at a time; queued runs start round-robin across sessions through the
  job registry's fairness code (:class:`~neloura.runtime.fair_queue.FairQueue`: one session's ten
  runs do not hold back another's one); each may queue ``max_queued_per_user``. Runs are not jobs
  of the :class:`~neloura.runtime.jobs.JobRegistry` itself: a job is a function forked from the
  job fork server that reports progress and one result, while a run needs an interpreter that
  was started (and warmed with numpy/astropy) before the run existed, from one long-lived thread
  (its ``--pdeathsig`` is tied to it), with stdout/stderr streamed live; both share the owner key
  (the session cookie) and the queueing code.
- ``warm`` interpreters wait with numpy, astropy and matplotlib imported, so a run's first line
  comes back in milliseconds; a used interpreter is never reused (one run per process).
- Each run gets a scratch folder ``files/uploads/coding-<id>/`` (the only place it may write;
  removed by the uploads cleanup worker), figures come back as PNG files there, images sent back
  stay there (opened by the page), tables are copied under ``catalogs/uploads/``.

Events (``/ws``, to the owner only): ``coding:state`` {run_id, state, exit_code, reason,
elapsed_s}, ``coding:output`` {run_id, stream, text}, ``coding:figure`` {run_id, index},
``coding:image`` {run_id, path}, ``coding:table`` {run_id, name}.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neloura.core.paths import confine
from neloura.errors import NelouraError, NotFound
from neloura.runtime.coding_sandbox import Isolation, Limits, SandboxProcess, probe_isolation, run_spec, supervise
from neloura.runtime.events import EventBus
from neloura.runtime.fair_queue import FairQueue

log = logging.getLogger("neloura.coding")

_FINISHED = ("done", "failed", "stopped")
MAX_KEPT_OUTPUT = 1 << 20  # per stream, in the run record (the stream itself is capped by Limits.output_mb)
MAX_TABLE_BYTES = 512 << 20


class RunNotFound(NotFound):
    pass


@dataclass
class Run:
    id: str
    user: str
    code: str
    limits: Limits
    scratch: Path
    context: dict[str, Any]
    state: str = "queued"
    stdout: str = ""
    stderr: str = ""
    figures: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    exit_code: int | None = None
    reason: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stop_requested: bool = False
    isolation: str | None = None
    sandbox_pid: int | None = None  # its process group id (never shown to clients)

    @property
    def elapsed_s(self) -> float | None:
        if self.started is None:
            return None
        return round((self.finished or time.time()) - self.started, 3)

    def public(self) -> dict[str, Any]:
        return {
            "run_id": self.id,
            "state": "running" if self.state == "queued" else self.state,
            "queued": self.state == "queued",
            "stdout": self.stdout,
            "stderr": self.stderr,
            "figures": [f"/local-coding/runs/{self.id}/figures/{i}" for i in range(len(self.figures))],
            "images": list(self.images),
            "tables": list(self.tables),
            "exit_code": self.exit_code,
            "reason": self.reason,
            "timeout_s": self.limits.timeout_s,
            "elapsed_s": self.elapsed_s,
            "isolation": self.isolation,
        }


class CodingRunner:
    def __init__(
        self,
        events: EventBus | None,
        *,
        uploads_dir: Path,
        catalog_uploads_dir: Path,
        files_dir: Path,
        cache_dir: Path,
        workers: int = 2,
        warm: int = 1,
        max_queued_per_user: int = 5,
        keep_finished: int = 100,
    ) -> None:
        self.events = events
        self.uploads_dir = uploads_dir
        self.catalog_uploads_dir = catalog_uploads_dir
        self.files_dir = files_dir
        self.mpl_dir = cache_dir / "coding-mpl"
        self.workers = max(1, workers)
        self.warm = max(0, warm)
        self.max_queued_per_user = max_queued_per_user
        self.keep_finished = keep_finished
        self.isolation: Isolation | None = None
        self._runs: OrderedDict[str, Run] = OrderedDict()
        # the job registry's fairness code (neloura.runtime.fair_queue): one queue per session, round-robin
        self._queue: FairQueue[Run] = FairQueue(max_queued_per_user, "runs")
        self._pool: deque[SandboxProcess] = deque()
        self._running: set[str] = set()
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the spawner thread (it probes the isolation, then keeps the warm pool full)."""
        if self._thread is None:
            self._stop.clear()
            # Every sandbox is spawned from this one long-lived thread: ``--pdeathsig`` is tied to it.
            self._thread = threading.Thread(target=self._loop, name="neloura-coding", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            for run in self._runs.values():
                if run.state in ("queued", "running"):
                    run.stop_requested = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        while self._pool:
            self._pool.popleft().close()

    # ------------------------------------------------------------------ public API
    def submit(
        self,
        user: str,
        code: str,
        limits: Limits,
        context: dict[str, Any] | None = None,
        files: dict[str, Iterable[bytes]] | None = None,
    ) -> Run:
        """Queue a run; ``files`` (name -> bytes) are written into its scratch folder first."""
        with self._lock:
            self._queue.check(user)  # before the scratch folder is made
            run_id = uuid.uuid4().hex
            scratch = self.uploads_dir / f"coding-{run_id[:12]}"
            scratch.mkdir(parents=True, exist_ok=False)
            run = Run(run_id, user, code, limits, scratch, context or {})
            for name, chunks in (files or {}).items():
                with open(scratch / name, "wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
            self._queue.push(user, run)
            self._runs[run_id] = run
        self._wake.set()
        return run

    def get(self, run_id: str, user: str) -> Run:
        """The run, for its owner only (anyone else: 404, as if it did not exist)."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or run.user != user:
            raise RunNotFound(f"no such run: {run_id}")
        return run

    def request_stop(self, run_id: str, user: str) -> Run:
        with self._lock:
            run = self.get(run_id, user)
            if run.state == "queued":
                self._queue.remove(run.user, run)
                self._finish(run, "stopped", None, "stopped by the user")
            elif run.state == "running":
                run.stop_requested = True
        return run

    def figure(self, run_id: str, user: str, index: int) -> Path:
        run = self.get(run_id, user)
        if not 0 <= index < len(run.figures):
            raise NotFound(f"run {run_id} has no figure {index}")
        path = run.scratch / run.figures[index]
        if not path.is_file():
            raise NotFound("the figure is no longer on the server (temporary files expire)")
        return path

    def wait(self, run_id: str, user: str, timeout: float = 60.0) -> Run:
        end = time.monotonic() + timeout
        run = self.get(run_id, user)
        while run.state not in _FINISHED and time.monotonic() < end:
            time.sleep(0.02)
        return run

    # ------------------------------------------------------------------ scheduling (spawner thread)
    def _loop(self) -> None:
        try:
            self.mpl_dir.mkdir(parents=True, exist_ok=True)
            self.isolation = probe_isolation(reach=(self.files_dir, self.uploads_dir, self.mpl_dir.parent))
            log.info("coding sandbox isolation: %s", self.isolation.describe())
        except Exception:  # the runner must still answer (runs will fail with the reason)
            log.exception("coding sandbox probe failed")
            self.isolation = Isolation("audit-hook-only", (), False, False)
        while not self._stop.is_set():
            self._start_queued()
            self._fill_pool()
            self._wake.wait(0.5)
            self._wake.clear()
        with self._lock:
            queued = [r for r in self._runs.values() if r.state == "queued"]
        for run in queued:
            self._finish(run, "stopped", None, "server stopped")

    def _fill_pool(self) -> None:
        for dead in [p for p in self._pool if not p.alive()]:
            self._pool.remove(dead)
            dead.close()
        while len(self._pool) < self.warm and not self._stop.is_set() and not self._has_queued():
            proc = self._spawn()
            if proc is None:
                return
            self._pool.append(proc)

    def _has_queued(self) -> bool:
        with self._lock:
            return self._queue.waiting() and len(self._running) < self.workers

    def _spawn(self) -> SandboxProcess | None:
        assert self.isolation is not None
        try:
            return SandboxProcess(self.isolation, self.mpl_dir)
        except OSError as exc:
            log.error("could not start a sandbox: %s", exc)
            return None

    def _next_fair(self) -> Run | None:
        with self._lock:
            if len(self._running) >= self.workers:
                return None
            run = self._queue.pop_next()
            if run is not None:
                run.state, run.started = "running", time.time()
                self._running.add(run.id)
            return run

    def _start_queued(self) -> None:
        while (run := self._next_fair()) is not None:
            proc = self._pool.popleft() if self._pool else self._spawn()
            while proc is not None and not proc.alive():
                proc.close()
                proc = self._pool.popleft() if self._pool else self._spawn()
            if proc is None:
                self._finish(run, "failed", None, "sandbox: could not start an interpreter")
                continue
            run.isolation, run.sandbox_pid = proc.isolation.describe(), proc.popen.pid
            self._publish_state(run)
            threading.Thread(target=self._supervise, args=(run, proc), name=f"coding-{run.id[:8]}", daemon=True).start()

    # ------------------------------------------------------------------ one run (its own thread)
    def _supervise(self, run: Run, proc: SandboxProcess) -> None:
        try:
            if not proc.ready and not proc.wait_ready(timeout=120):
                raise OSError("the sandboxed interpreter did not start")
            spec = run_spec(run.code, run.limits, run.scratch, run.context)
            outcome = supervise(
                proc,
                spec,
                run.limits,
                lambda stream, text: self._output(run, stream, text),
                lambda message: self._control(run, message),
                lambda: run.stop_requested,
            )
            self._finish(run, outcome.state, outcome.exit_code, outcome.reason)
        except Exception as exc:  # the run fails with a message; the server goes on
            log.exception("coding run %s failed to run", run.id)
            proc.close()
            self._finish(run, "failed", None, f"sandbox: {exc}")
        finally:
            with self._lock:
                self._running.discard(run.id)
            self._wake.set()

    def _output(self, run: Run, stream: str, text: str) -> None:
        kept = getattr(run, stream)
        if len(kept) < MAX_KEPT_OUTPUT:
            setattr(run, stream, kept + text[: MAX_KEPT_OUTPUT - len(kept)])
        self._publish(run, {"type": "coding:output", "run_id": run.id, "stream": stream, "text": text})

    def _scratch_file(self, run: Run, name: Any, suffixes: tuple[str, ...]) -> Path | None:
        """A file the sandbox names on its control pipe: only plain files inside its own scratch."""
        if not isinstance(name, str) or "/" in name or not name.endswith(suffixes):
            return None
        try:
            path = confine(run.scratch, name)
        except NelouraError:
            return None
        return path if path.is_file() and not path.is_symlink() else None

    def _control(self, run: Run, message: dict[str, Any]) -> None:
        if (path := self._scratch_file(run, message.get("figure"), (".png",))) is not None:
            run.figures.append(path.name)
            self._publish(run, {"type": "coding:figure", "run_id": run.id, "index": len(run.figures) - 1})
        elif (path := self._scratch_file(run, message.get("image"), (".fits",))) is not None:
            relative = path.relative_to(self.files_dir.resolve()).as_posix()
            run.images.append(relative)
            self._publish(run, {"type": "coding:image", "run_id": run.id, "path": relative})
        elif (path := self._scratch_file(run, message.get("table"), (".fits",))) is not None:
            if path.stat().st_size > MAX_TABLE_BYTES:
                return
            self.catalog_uploads_dir.mkdir(parents=True, exist_ok=True)
            target = self.catalog_uploads_dir / f"coding-{run.id[:12]}-{path.name}"
            shutil.copyfile(path, target)
            name = f"uploads/{target.name}"
            run.tables.append(name)
            self._publish(run, {"type": "coding:table", "run_id": run.id, "name": name})

    def _finish(self, run: Run, state: str, exit_code: int | None, reason: str | None) -> None:
        with self._lock:
            if run.state in _FINISHED:
                return
            run.state, run.exit_code, run.reason, run.finished = state, exit_code, reason, time.time()
            finished = [r for r in self._runs.values() if r.state in _FINISHED]
            for old in finished[: max(0, len(finished) - self.keep_finished)]:
                self._runs.pop(old.id, None)
        self._publish_state(run)

    def _publish_state(self, run: Run) -> None:
        self._publish(
            run,
            {
                "type": "coding:state",
                "run_id": run.id,
                "state": run.public()["state"],
                "exit_code": run.exit_code,
                "reason": run.reason,
                "elapsed_s": run.elapsed_s,
            },
        )

    def _publish(self, run: Run, event: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(event, audience=run.user)
