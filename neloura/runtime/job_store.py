"""The durable job store: one SQLite file in the data root (``.cache/jobs.sqlite``, WAL).

It is the source of truth for every job's state, so that any server process sharing the data
root reads the same answer:

- The process that runs a job writes each change (queued, started, progress, the result or the
  error) in a short transaction; every status read (``GET /api/jobs/{id}``, the list) is a read
  of this file, whatever process serves it.
- A cancel from another process sets the row's ``cancel`` flag; the process running the job
  polls the flags of its jobs (:meth:`cancel_requested`) and stops them.
- Each row names its ``runner`` (``pid:start time`` of the server process running it). At start,
  and from time to time, :meth:`recover` marks queued or running rows whose runner is gone as
  failed, with the reason: a restart lists finished jobs and says which ones were interrupted.
- Rows of jobs finished longer ago than the result retention are deleted (:meth:`expire`).

Connections are per thread (``check_same_thread`` stays on), with a busy timeout; callers are
worker threads (FastAPI runs sync routes in its thread pool, the registry has its own thread),
never the event loop.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: tuple[str, ...] = ("done", "failed", "cancelled")
BUSY_TIMEOUT_S = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    result TEXT,
    error TEXT,
    cancel INTEGER NOT NULL DEFAULT 0,
    runner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, created);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
"""
_COLUMNS = "id, kind, owner, state, progress, message, created, started, finished, result, error"
_SELECT = "SELECT id, kind, owner, state, progress, message, created, started, finished, result, error FROM jobs"


def this_runner() -> str:
    """This process's identity in the ``runner`` column: a PID alone could be reused."""
    return f"{os.getpid()}:{psutil.Process().create_time():.3f}"


def runner_alive(runner: str) -> bool:
    pid_text, _, started = runner.partition(":")
    try:
        process = psutil.Process(int(pid_text))
        return f"{process.create_time():.3f}" == started and process.status() != psutil.STATUS_ZOMBIE
    except (ValueError, psutil.Error):
        return False


@dataclass
class JobRecord:
    """What the store knows of one job (what any process can answer about it)."""

    id: str
    kind: str
    owner: str
    state: JobState = "queued"
    progress: float = 0.0
    message: str = "queued"
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def eta_s(self) -> float | None:
        if self.state != "running" or self.started is None or self.progress <= 0.02:
            return None
        elapsed = time.time() - self.started
        return max(0.0, elapsed / self.progress * (1.0 - self.progress))

    def public(self) -> dict[str, Any]:
        """What clients see (no paths of result files, only their names; never the owner)."""
        result = None
        if self.result is not None:
            result = {k: v for k, v in self.result.items() if k != "files"}
            result["files"] = sorted(self.result.get("files", {}))
        eta = self.eta_s
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 4),
            "message": self.message,
            "eta_s": None if eta is None else round(eta, 1),
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result": result,
            "error": self.error,
        }

    def row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.kind,
            self.owner,
            self.state,
            float(self.progress),
            self.message,
            self.created,
            self.started,
            self.finished,
            None if self.result is None else json.dumps(self.result),
            self.error,
        )


def _record(row: sqlite3.Row) -> JobRecord:
    result = row["result"]
    return JobRecord(
        id=row["id"],
        kind=row["kind"],
        owner=row["owner"],
        state=row["state"],
        progress=row["progress"],
        message=row["message"],
        created=row["created"],
        started=row["started"],
        finished=row["finished"],
        result=None if result is None else json.loads(result),
        error=row["error"],
    )


class JobStore:
    """Jobs in one SQLite file (``path``), or in a private in-memory database when ``path`` is None."""

    def __init__(self, path: Path | None) -> None:
        if path is None:
            self._target = f"file:neloura-jobs-{uuid.uuid4().hex}?mode=memory&cache=shared"
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._target = path.resolve().as_uri()
        self.path = path
        self.runner = this_runner()
        self._local = threading.local()
        # an in-memory database lives while one connection does; this one is only used here and in close()
        self._keepalive = self._connect(same_thread=False)
        if path is not None:
            self._keepalive.execute("PRAGMA journal_mode=WAL")
        with self._keepalive:
            self._keepalive.executescript(_SCHEMA)

    def _connect(self, *, same_thread: bool = True) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._target, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=same_thread
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (``BEGIN IMMEDIATE``: writers queue on the busy timeout)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    # ------------------------------------------------------------------ writes
    def insert(self, record: JobRecord) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, owner, state, progress, message, created, started, finished, result, "
                "error, runner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*record.row(), self.runner),
            )

    def save(self, record: JobRecord) -> None:
        """Write the record's changing fields (state, progress, message, times, result, error)."""
        row = record.row()
        with self._tx() as conn:
            conn.execute(
                "UPDATE jobs SET state=?, progress=?, message=?, started=?, finished=?, result=?, error=? WHERE id=?",
                (*row[3:6], *row[7:], record.id),
            )

    def request_cancel(self, job_id: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE jobs SET cancel=1 WHERE id=? AND state IN ('queued', 'running')", (job_id,))

    def recover(self, reason: str, *, now: float | None = None) -> list[str]:
        """Mark queued/running jobs whose server process is gone as failed with ``reason``; their ids."""
        conn = self._conn()
        rows = conn.execute("SELECT id, runner FROM jobs WHERE state IN ('queued', 'running')").fetchall()
        dead = [row["id"] for row in rows if row["runner"] != self.runner and not runner_alive(row["runner"])]
        if dead:
            stamp = time.time() if now is None else now
            with self._tx() as tx:
                tx.executemany(
                    "UPDATE jobs SET state='failed', error=?, message=?, finished=? "
                    "WHERE id=? AND state IN ('queued', 'running')",
                    [(reason, reason, stamp, job_id) for job_id in dead],
                )
        return dead

    def expire(self, finished_before: float) -> int:
        """Forget jobs finished before ``finished_before`` (their result files are expired too)."""
        with self._tx() as conn:
            cursor = conn.execute("DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ?", (finished_before,))
        return cursor.rowcount

    # ------------------------------------------------------------------ reads
    def get(self, job_id: str) -> JobRecord | None:
        row = self._conn().execute(_SELECT + " WHERE id=?", (job_id,)).fetchone()
        return None if row is None else _record(row)

    def list(self, owner: str | None = None, limit: int = 500) -> list[JobRecord]:
        """Jobs, oldest first (the ``limit`` newest), of ``owner`` or of everyone."""
        conn = self._conn()
        if owner is None:
            rows = conn.execute(_SELECT + " ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        else:
            rows = conn.execute(_SELECT + " WHERE owner=? ORDER BY created DESC LIMIT ?", (owner, limit)).fetchall()
        return [_record(row) for row in reversed(rows)]

    def cancel_requested(self, job_ids: Iterable[str]) -> set[str]:
        ids = set(job_ids)
        if not ids:
            return set()
        rows = self._conn().execute("SELECT id FROM jobs WHERE cancel=1 AND state IN ('queued', 'running')").fetchall()
        return {row["id"] for row in rows} & ids

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        self._keepalive.close()
