"""A deadline for work that can be interrupted from another thread (DuckDB queries).

DuckDB has no statement timeout; a connection's ``interrupt()`` stops the query it runs. One
watchdog thread holds the pending deadlines and calls each expired guard's ``interrupt``::

    with watchdog.guard(con.interrupt, timeout_s) as guard:
        con.sql(...).to_arrow_table()
    # on duckdb.InterruptException: guard.fired says the deadline stopped it

Used by :class:`neloura.runtime.catalogs.CatalogStore` for every catalog query
(``NELOURA_CATALOG_QUERY_TIMEOUT_S``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger("neloura.watchdog")


@dataclass
class Guard:
    deadline: float
    interrupt: Callable[[], None]
    timeout_s: float
    fired: bool = False
    done: bool = field(default=False, repr=False)


def _nothing() -> None:
    return None


class Watchdog:
    def __init__(self, name: str = "watchdog") -> None:
        self._heap: list[tuple[float, int, Guard]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._name = name
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self, interrupt: Callable[[], None], timeout_s: float) -> Iterator[Guard]:
        """Call ``interrupt()`` if the block is still running after ``timeout_s`` seconds."""
        guard = Guard(time.monotonic() + timeout_s, interrupt, timeout_s)
        with self._cond:
            heapq.heappush(self._heap, (guard.deadline, next(self._counter), guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            yield guard
        finally:
            with self._cond:
                # stays in the heap until its deadline passes (O(log n), no search), holding nothing
                guard.done = True
                guard.interrupt = _nothing

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = None if not self._heap else self._heap[0][0] - time.monotonic()
                    self._cond.wait(wait)
                _, _, guard = heapq.heappop(self._heap)
                if guard.done:
                    continue
                guard.fired = True
            try:
                guard.interrupt()
            except Exception:  # an interrupt that fails must not stop the watchdog
                log.exception("interrupt failed")
