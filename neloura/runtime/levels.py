"""Block-averaged pyramid levels of open planes: built once in the background, kept in a
memory-bounded LRU, optionally saved under ``settings.cache_dir/levels`` for the next start.

Keyed by (resolved path, mtime, hdu, plane): a file changed on disk gets new levels. One build
runs at a time (the machine's cores also serve tiles); a request for a level waits until that
level exists, and levels come out of the cascade largest first (factor 2, 4, 8...).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from neloura.core.fitsio import ImagePlane
from neloura.core.pyramid import Alloc, Reader, build_levels
from neloura.core.tiles import Pyramid
from neloura.errors import NelouraError
from neloura.runtime.atomic import write_atomic
from neloura.runtime.disk_cache import LEVEL_STAMP, source_stamp, touch
from neloura.runtime.file_lock import exclusive
from neloura.runtime.memory import MemoryBudget, release_free_heap
from neloura.runtime.row_reader import RowReader
from neloura.settings import Settings

log = logging.getLogger("neloura.levels")

PlaneKey = tuple[Path, float, int, int]
DISK_CACHE_MIN_PIXELS = 4_000_000  # smaller images rebuild faster than they load
DISK_LEVEL_MIN_BYTES = 64 * 1024 * 1024  # levels at least this large are built straight into their file


BACKGROUND_NICE = 5  # CPU weight ~1/3 of a request thread's: the first view gets a core, the build the rest


def background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: ``nice`` applies per thread) so that a
    level build, whose strips keep every core busy for seconds, leaves the cores to requests:
    the first view of a just-opened image (its info, sample and first tiles) is served while
    the build starts. A no-op where threads cannot be reniced."""
    try:
        thread = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, thread) < BACKGROUND_NICE:  # never raised
            os.setpriority(os.PRIO_PROCESS, thread, BACKGROUND_NICE)
    except (OSError, AttributeError):
        pass


class PlaneLevels:
    """The reduced levels of one plane, filled by a background build."""

    def __init__(self, key: PlaneKey, width: int, height: int) -> None:
        self.key = key
        self.geometry = Pyramid(width, height)
        self.arrays: dict[int, np.ndarray] = {}
        self.build_seconds: dict[int, float] = {}
        self.in_file: set[int] = set()  # levels built straight into their disk-cache file
        self.value_range: tuple[float, float] | None = None  # finite extremes of the source, once read
        self.range_known = threading.Event()  # set once value_range is known (or cannot be)
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._ready: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())

    def _event(self, factor: int) -> threading.Event:
        with self._lock:
            return self._ready.setdefault(factor, threading.Event())

    def has(self, factor: int) -> bool:
        """True when the level of reduction ``factor`` exists (no waiting)."""
        return factor in self.arrays

    def publish(self, factor: int, array: np.ndarray, seconds: float) -> None:
        self.arrays[factor] = array
        self.build_seconds[factor] = seconds
        self._event(factor).set()

    def set_range(self, ranges: list[tuple[float, float]]) -> None:
        if ranges:
            self.value_range = (min(r[0] for r in ranges), max(r[1] for r in ranges))
        self.range_known.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.range_known.set()
        with self._lock:
            events = list(self._ready.values())
        for event in events:
            event.set()
        self.done.set()

    def get(self, factor: int, timeout: float | None = None) -> np.ndarray:
        """The level of reduction ``factor``, waiting for the build when needed."""
        if factor not in self.arrays:
            self._event(factor).wait(timeout)
        if factor in self.arrays:
            return self.arrays[factor]
        if isinstance(self.error, NelouraError):
            raise self.error
        raise RuntimeError(f"level x{factor} of {self.key[0].name} is not available: {self.error!r}")


class LevelStore:
    def __init__(self, settings: Settings, budget: MemoryBudget | None = None) -> None:
        self.settings = settings
        # levels count against the server's memory budget (besides level_cache_mb)
        self.budget = budget or MemoryBudget(settings.memory_mb)
        self.budget.register("levels", self.nbytes, self._evict_one)
        self._entries: OrderedDict[PlaneKey, PlaneLevels] = OrderedDict()
        self._lock = threading.Lock()
        # builds are background work: their threads yield the CPU to requests (below)
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="neloura-levels", initializer=background_priority
        )
        self.on_done: list[Callable[[PlaneKey], None]] = []  # called in the build thread, each build
        # the source pass of a build is split over the cores (numpy and the reads release the GIL)
        self._strips = ThreadPoolExecutor(
            max_workers=max(1, min(4, os.cpu_count() or 1)),
            thread_name_prefix="neloura-strips",
            initializer=background_priority,
        )

    def levels(self, key: PlaneKey, plane: ImagePlane) -> PlaneLevels:
        """The levels of ``plane`` (cached), starting their build on first use (507 when the
        memory budget cannot hold them even with the other caches emptied)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        # every reduced level together: a third of the plane's float32 pixels
        self.budget.make_room(plane.width * plane.height * 4 // 3, f"the overview levels of {key[0].name}")
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            entry = PlaneLevels(key, plane.width, plane.height)
            self._entries[key] = entry
        if self._load_from_disk(entry):
            self._evict()
        else:
            self._pool.submit(self._build, entry, plane)
        return entry

    def level(self, key: PlaneKey, plane: ImagePlane, factor: int) -> np.ndarray:
        """One reduced level (display orientation), waiting for its build if needed."""
        return self.levels(key, plane).get(factor)

    def _build(self, entry: PlaneLevels, plane: ImagePlane) -> None:
        """Build the levels; with the disk cache, under a lock on the cache folder: another server
        worker building the same plane makes this one wait, then load its files instead."""
        g = entry.geometry
        folder = self._disk_folder(entry.key) if g.width * g.height >= DISK_CACHE_MIN_PIXELS else None
        with contextlib.ExitStack() as stack:
            if folder is not None:
                try:
                    stack.enter_context(exclusive(folder / ".build.lock"))
                except OSError as exc:  # a read-only cache: build without it
                    log.warning("no build lock for %s: %s", entry.key[0], exc)
                else:
                    if self._load_from_disk(entry):  # another worker built it while this one waited
                        self._evict()
                        return
            self._build_unlocked(entry, plane)

    def _build_unlocked(self, entry: PlaneLevels, plane: ImagePlane) -> None:
        try:
            if plane.image.compressed or not RowReader.supports(plane):
                self._cascade(entry, plane.read, plane)
            else:
                with RowReader(plane) as rows:
                    self._cascade(entry, rows.read, plane)
            entry.done.set()
            for hook in self.on_done:
                try:
                    hook(entry.key)
                except Exception:  # a listener must not fail the build
                    log.exception("levels hook failed for %s", entry.key[0])
            self._evict()
            self._save_to_disk(entry)
            release_free_heap()  # the build's temporaries
        except BaseException as exc:  # handed to every waiting request
            log.exception("building levels of %s failed", entry.key[0])
            entry.fail(exc)
            with self._lock:
                self._entries.pop(entry.key, None)

    def _cascade(self, entry: PlaneLevels, read: Reader, plane: ImagePlane) -> None:
        start = time.perf_counter()
        ranges: list[tuple[float, float]] = []
        levels = build_levels(
            read, plane.width, plane.height, map_strips=self._strips.map, alloc=self._allocator(entry), ranges=ranges
        )
        for factor, array in levels:
            if not entry.range_known.is_set():  # the source pass is over once factor 2 exists
                entry.set_range(ranges)
            now = time.perf_counter()
            array.setflags(write=False)
            entry.publish(factor, array, now - start)
            start = now
        entry.set_range(ranges)  # a 1-pixel plane has no level at all

    def _evict(self) -> None:
        budget = self.settings.level_cache_mb * 1024 * 1024
        with self._lock:
            total = sum(e.nbytes for e in self._entries.values())
            for key in list(self._entries)[:-1]:  # never the most recently used
                if total <= budget:
                    break
                entry = self._entries[key]
                if entry.done.is_set():
                    total -= entry.nbytes
                    del self._entries[key]

    def nbytes(self) -> int:
        """Bytes of every level held (in memory or mapped from the disk cache)."""
        with self._lock:
            return sum(e.nbytes for e in self._entries.values())

    def _evict_one(self) -> int:
        """Drop the least recently used finished levels (never the most recent); bytes freed."""
        with self._lock:
            for key in list(self._entries)[:-1]:
                entry = self._entries[key]
                if entry.done.is_set():
                    del self._entries[key]
                    return entry.nbytes
        return 0

    # -- optional disk cache ---------------------------------------------------------------

    def _disk_folder(self, key: PlaneKey) -> Path | None:
        path, mtime, hdu, plane = key
        if not self.settings.disk_cache:
            return None
        text = f"{path}|{mtime!r}|{path.stat().st_size}|{hdu}|{plane}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        return self.settings.cache_dir / "levels" / digest

    def _load_from_disk(self, entry: PlaneLevels) -> bool:
        g = entry.geometry
        if g.width * g.height < DISK_CACHE_MIN_PIXELS:
            return False
        folder = self._disk_folder(entry.key)
        if folder is None or not (folder / LEVEL_STAMP).is_file():
            return False
        touch(folder / LEVEL_STAMP)  # recently used: the disk budget prunes others first
        try:
            stored = json.loads((folder / LEVEL_STAMP).read_text()).get("value_range")
        except (OSError, ValueError, AttributeError):
            stored = None
        try:
            for level in range(g.max_level - 1, -1, -1):
                factor = g.factor(level)
                array = np.load(folder / f"x{factor}.npy", mmap_mode="r")
                w, h = g.level_size(level)
                if array.shape != (h, w) or array.dtype != np.float32:
                    raise ValueError(f"cached level x{factor} has shape {array.shape}")
                entry.publish(factor, array, 0.0)
        except (OSError, ValueError) as exc:
            log.warning("ignoring the disk cache of %s: %s", entry.key[0], exc)
            entry.arrays.clear()
            return False
        if isinstance(stored, list) and len(stored) == 2:
            entry.value_range = (float(stored[0]), float(stored[1]))
        entry.range_known.set()
        entry.done.set()
        return True

    def _allocator(self, entry: PlaneLevels) -> Alloc:
        """Level arrays for a build: with the disk cache, large levels are written straight into
        their cache file (a memory map the kernel can page out), so that even a pyramid larger
        than memory never sits whole in the heap."""
        g = entry.geometry
        folder = self._disk_folder(entry.key) if g.width * g.height >= DISK_CACHE_MIN_PIXELS else None

        def alloc(factor: int, shape: tuple[int, int]) -> np.ndarray:
            if folder is not None and shape[0] * shape[1] * 4 >= DISK_LEVEL_MIN_BYTES:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    tmp = folder / f"x{factor}.{os.getpid()}.tmp.npy"
                    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
                    entry.in_file.add(factor)
                    return array
                except OSError as exc:
                    log.warning("level x%d of %s stays in memory: %s", factor, entry.key[0], exc)
            return np.empty(shape, dtype=np.float32)

        return alloc

    def _save_to_disk(self, entry: PlaneLevels) -> None:
        g = entry.geometry
        folder = self._disk_folder(entry.key)
        if folder is None or g.width * g.height < DISK_CACHE_MIN_PIXELS:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for factor, array in list(entry.arrays.items()):
                tmp = folder / f"x{factor}.{os.getpid()}.tmp.npy"
                if factor in entry.in_file and isinstance(array, np.memmap):
                    array.flush()  # written in place by the build (np.save onto it would truncate it)
                else:
                    np.save(tmp, array)
                os.replace(tmp, folder / f"x{factor}.npy")
                # serve from the file from now on: the kernel may reclaim those pages
                entry.arrays[factor] = np.load(folder / f"x{factor}.npy", mmap_mode="r")
            stamp: dict[str, object] = source_stamp(entry.key[0], entry.key[1])  # last: the folder is whole
            stamp["value_range"] = list(entry.value_range) if entry.value_range else None
            write_atomic(folder / LEVEL_STAMP, lambda tmp: tmp.write_text(json.dumps(stamp)))
        except OSError as exc:
            log.warning("cannot write the level cache of %s: %s", entry.key[0], exc)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._strips.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._entries.clear()
