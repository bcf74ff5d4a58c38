"""The event broker between server workers (``NELOURA_WORKERS`` > 1): an SQLite file in the data root.

Every worker keeps its own in-process :class:`~neloura.runtime.events.EventBus` for the ``/ws``
clients connected to it. With several workers, each event published in one worker (job progress
from the job processes it runs, catalog and cleanup events...) is also appended to one SQLite
table, ``events``; every worker polls that table (every ``poll_s``, default 50 ms) and hands the
rows written by the *other* workers to its own bus. So a page receives the events of every worker,
whichever worker its WebSocket landed on.

Why SQLite polling rather than a socket owned by one process: uvicorn's ``--workers`` supervisor
runs no code of ours, so a socket would have to be owned by one elected worker and re-elected when
that worker dies or is restarted; the SQLite file has no owner (any worker may die and be restarted
at any moment, nothing is lost or re-wired), needs no port, works wherever the data root is shared
by workers of one machine, and the job store beside it is SQLite already. The cost is a poll: one
indexed ``SELECT`` every 50 ms per worker (a few microseconds when idle) and up to ``poll_s`` of
added latency for events crossing workers. Events are transient: rows older than ``keep_s`` are
deleted, and a worker that starts reads only the events written after it started.

Publishing never touches the disk on the caller's thread: events are queued and written by the
broker's own thread, in one transaction per batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from neloura.runtime.events import Event

log = logging.getLogger("neloura.broker")

Deliver = Callable[[Event, "str | None"], None]

# the audience of the live-view records relayed between workers (the cleanup of every worker must
# keep a file shown by a page connected to any worker); no user key can take this value, so these
# records never reach a WebSocket
VIEWS_CHANNEL = "\x00views"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    audience TEXT,
    body TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class SqliteBroker:
    """Relays events between the processes that share ``path`` (see the module docstring)."""

    def __init__(self, path: Path, deliver: Deliver, *, poll_s: float = 0.05, keep_s: float = 120.0) -> None:
        self.path = path
        self.origin = secrets.token_hex(8)  # this worker: its own rows are not delivered back to it
        self._deliver = deliver
        self._poll_s = poll_s
        self._keep_s = keep_s
        self._outbox: queue.SimpleQueue[tuple[Event, str | None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._last_id = 0

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        db.execute("PRAGMA synchronous=NORMAL")  # transient events: a power cut may lose the last ones
        db.execute(_SCHEMA)
        return db

    def start(self) -> None:
        """Open the table and start relaying (only events written from now on are delivered)."""
        if self._thread is not None:
            return
        db = self._connect()
        self._last_id = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(db,), name="neloura-broker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop the thread."""
        self._stopping.set()
        self._outbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def send(self, event: Event, audience: str | None) -> None:
        """Queue ``event`` for the other workers (any thread; never blocks)."""
        if self._thread is not None:
            self._outbox.put((event, audience))

    # ---------------------------------------------------------------- the broker thread
    def _run(self, db: sqlite3.Connection) -> None:
        last_prune = 0.0
        try:
            while not self._stopping.is_set():
                batch = self._take_outbox(self._poll_s)
                try:
                    self._write(db, batch)
                    self._read(db)
                    if time.monotonic() - last_prune > 10.0:
                        last_prune = time.monotonic()
                        db.execute("DELETE FROM events WHERE created < ?", (time.time() - self._keep_s,))
                except sqlite3.Error as exc:  # a locked or damaged file: keep serving this worker's own clients
                    log.warning("event broker: %s", exc)
                    time.sleep(0.5)
            with contextlib.suppress(sqlite3.Error):
                self._write(db, self._take_outbox(0.0))
        finally:
            db.close()

    def _take_outbox(self, wait_s: float) -> list[tuple[Event, str | None]]:
        """The queued events: waits up to ``wait_s`` for the first, then takes what is there."""
        batch: list[tuple[Event, str | None]] = []
        with contextlib.suppress(queue.Empty):
            item = self._outbox.get(timeout=wait_s) if wait_s > 0 else self._outbox.get_nowait()
            while True:
                if item is not None:
                    batch.append(item)
                item = self._outbox.get_nowait()
        return batch

    def _write(self, db: sqlite3.Connection, batch: list[tuple[Event, str | None]]) -> None:
        if not batch:
            return
        now = time.time()
        rows = []
        for event, audience in batch:
            try:
                rows.append((self.origin, audience, json.dumps(event), now))
            except (TypeError, ValueError):  # not JSON: it could not reach a WebSocket either
                log.warning("event broker: dropping an event that is not JSON: %r", event.get("type"))
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO events (origin, audience, body, created) VALUES (?, ?, ?, ?)", rows)

    def _read(self, db: sqlite3.Connection) -> None:
        rows = db.execute(
            "SELECT id, origin, audience, body FROM events WHERE id > ? ORDER BY id LIMIT 5000", (self._last_id,)
        ).fetchall()
        for row_id, origin, audience, body in rows:
            self._last_id = row_id
            if origin == self.origin:
                continue
            try:
                event = json.loads(body)
            except ValueError:
                continue
            if isinstance(event, dict):
                self._deliver(event, audience)
