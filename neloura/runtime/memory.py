"""The server's memory budget (``settings.memory_mb``), shared by its in-memory caches.

Each cache (open images and their samples, pyramid levels, rendered tiles) registers how many
bytes it holds and how to give back its least recently used entry. Before a large allocation
(a level build, an image opened) its owner calls :meth:`MemoryBudget.make_room`: caches are
emptied, largest first, until the accounted bytes plus the new ones fit the caches' share of
the budget; when even empty caches cannot make room, :class:`~neloura.errors.MemoryBudgetExceeded`
(507) refuses the work instead of letting the machine swap.

The caches' share is the budget minus what the process held when the budget was created (its
code and libraries: ~250 MB for a fresh server), and never less than half the budget. The
process's resident size is checked too: past the budget, caches are emptied by the excess
(glibc is then asked to return freed heap), so memory no cache accounts for (transient reads,
fragmentation) also makes room, but never causes a refusal on its own.

One-off work that allocates outside the caches (a region's full-resolution pixels, a contour
plane, a composite export, a DuckDB query) holds a :meth:`MemoryBudget.reserve` for as long as
its arrays live: the bytes, sized from the request (shape x dtype) before anything is read, are
made room for like a cache's, then count as in use (never evictable) until the block ends, so
concurrent requests cannot together overrun the budget.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from neloura.errors import MemoryBudgetExceeded

log = logging.getLogger("neloura.memory")
MB = 1024 * 1024


def resident_bytes() -> int:
    """This process's resident set size (``/proc/self/statm``; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def unique_bytes(pid: int | str = "self") -> int:
    """USS (private clean + private dirty pages) of a process, from ``smaps_rollup`` (0 if unknown)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as smaps:
            for line in smaps:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return total


def release_free_heap() -> None:
    """Give freed heap back to the system (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


def array_bytes(shape: tuple[int, ...], dtype: np.dtype | type | str = np.float32, copies: float = 1.0) -> int:
    """Bytes of ``copies`` arrays of ``shape`` and ``dtype`` (what a reservation is sized from)."""
    return int(np.prod(shape, dtype=np.float64) * np.dtype(dtype).itemsize * copies)


@dataclass
class _Cache:
    name: str
    nbytes: Callable[[], int]
    evict_one: Callable[[], int]  # frees the least recently used entry it may; bytes freed (0: none left)


class MemoryBudget:
    """``budget_mb`` of memory for the whole process (0: no budget); see the module doc.
    ``resident`` measures the process (another measure for a budget of a part of it)."""

    def __init__(self, budget_mb: int, resident: Callable[[], int] = resident_bytes) -> None:
        self.budget = max(0, budget_mb) * MB
        self.resident = resident
        self.baseline = resident()
        self._caches: list[_Cache] = []
        self._lock = threading.Lock()  # one eviction round at a time
        self.reserved = 0  # bytes held by :meth:`reserve` blocks now

    @property
    def cache_budget(self) -> int:
        """Bytes the caches together may hold (0: unbounded)."""
        if not self.budget:
            return 0
        return max(self.budget - self.baseline, self.budget // 2)

    def register(self, name: str, nbytes: Callable[[], int], evict_one: Callable[[], int]) -> None:
        """Add a cache. ``evict_one`` must not take locks the caller of :meth:`make_room` holds."""
        self._caches.append(_Cache(name, nbytes, evict_one))

    def used(self) -> int:
        """Bytes the registered caches account for now."""
        return sum(cache.nbytes() for cache in self._caches)

    def usage(self) -> dict[str, int]:
        """Accounted bytes by cache name, and ``reserved`` (for health and the benchmark)."""
        return {**{cache.name: cache.nbytes() for cache in self._caches}, "reserved": self.reserved}

    def make_room(self, extra: int = 0, what: str = "") -> None:
        """Evict until ``extra`` more bytes fit the budget; 507 when they cannot even then."""
        if self.budget:
            with self._lock:
                self._make_room(extra, what)

    @contextmanager
    def reserve(self, nbytes: int, what: str = "") -> Iterator[None]:
        """Hold ``nbytes`` of the budget for the block (see the module doc): caches are evicted
        to make room first, and :class:`~neloura.errors.MemoryBudgetExceeded` (507) is raised,
        before the block runs, when they cannot. Free without a budget."""
        nbytes = max(0, int(nbytes))
        if not self.budget or not nbytes:
            yield
            return
        with self._lock:
            self._make_room(nbytes, what)
            self.reserved += nbytes
        try:
            yield
        finally:
            with self._lock:
                self.reserved -= nbytes

    def _make_room(self, extra: int, what: str) -> None:
        """:meth:`make_room` with the lock held; reserved bytes count as in use, never evictable."""
        share = self.cache_budget
        accounted = self.used() + self.reserved
        to_free = max(accounted + extra - share, self.resident() + extra - self.budget)
        if to_free <= 0:
            return
        freed = self._evict(to_free)
        if freed:
            release_free_heap()
            log.info("memory budget: freed %.0f MB from caches for %s", freed / MB, what or "new work")
        if accounted - freed + extra > share:
            raise MemoryBudgetExceeded(
                f"{what or 'this request'} needs {extra / MB:,.0f} MB, more than this server's memory "
                f"budget can hold ({self.budget // MB:,} MB, NELOURA_MEMORY_MB; "
                f"{(accounted - freed) / MB:,.0f} MB in use that cannot be freed)"
            )

    def _evict(self, to_free: int) -> int:
        freed = 0
        exhausted: set[str] = set()
        while freed < to_free:
            candidates = [c for c in self._caches if c.name not in exhausted]
            if not candidates:
                break
            cache = max(candidates, key=lambda c: c.nbytes())  # the largest gives back first
            got = cache.evict_one()
            if got <= 0:
                exhausted.add(cache.name)
            freed += max(0, got)
        return freed
