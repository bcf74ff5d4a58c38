"""Open images kept in a bounded LRU, keyed by (path, hdu, mtime); paths confined to files/.

Every file is first inspected whole (HDU listing, truncation, WCS keyword bounds) by
:func:`neloura.core.fitsio.inspect_fits` in a killable worker process with a deadline
(:class:`neloura.runtime.bounded.BoundedRunner`), once per file version; only then is it opened
in the server. Header cards are read the same way. Routes that go through this store (the
``ImageDep``/``PlaneDep`` dependencies, ``inspect``, ``header``) inherit the deadline.

Also caches, per plane, the sample of physical values spread over the whole plane and the
default display limits (0.5/99.5 percentiles of that sample), so that info, tiles and the
histogram agree on the same numbers and compute them once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neloura.core import fits_compressed
from neloura.core.fits_inspect import with_listing
from neloura.core.fits_scan import OverBudget
from neloura.core.fitsio import FitsImage, FitsInspection, HeaderCard, inspect_fits
from neloura.core.limits import percentile_limits
from neloura.core.paths import confine_file
from neloura.errors import ImageNotFound, InvalidParameter, NotAFitsImage
from neloura.runtime import image_headers
from neloura.runtime.bounded import BoundedRunner
from neloura.runtime.image_headers import FileKey
from neloura.runtime.memory import MB, MemoryBudget
from neloura.runtime.samples import SampleGrid, read_sample_grid
from neloura.settings import Settings

log = logging.getLogger("neloura.images")

PlaneKey = tuple[Path, float, int, int]
_SAMPLES_KEPT = 16
_INSPECTIONS_KEPT = 1024
# files this small are inspected in the server at once (a few ms); larger ones in a bounded worker
SMALL_FILE = (64, 20_000)  # HDUs, header cards in all
_HEADERS_KEPT = 8
RESOLVED_TTL_S = 1.0  # how long a confined path is trusted before resolving it again
_RESOLVED_KEPT = 1024
# A read of an open image checks the memory budget (the kept bands of a compressed image grow
# with reads) at most this often: reading /proc for every tile cost as much as a tile's PNG.
ROOM_CHECK_S = 0.1


def _file_key(path: Path) -> FileKey:
    st = path.stat()
    return (path, st.st_mtime_ns, st.st_size)


def inspect_listed(path: Path) -> FitsInspection:
    """:func:`inspect_fits` with its JSON listing rendered (run in the bounded worker)."""
    return with_listing(inspect_fits(path))


class ImageStore:
    def __init__(
        self, settings: Settings, runner: BoundedRunner | None = None, budget: MemoryBudget | None = None
    ) -> None:
        self.settings = settings
        self.runner = runner or BoundedRunner(settings.parse_workers, settings.parse_timeout_s)
        self._own_runner = runner is None
        # open images and their samples count against the server's memory budget
        self.budget = budget or MemoryBudget(settings.memory_mb)
        self.budget.register("images", self.nbytes, self._evict_one)
        self._inspections: OrderedDict[FileKey, FitsInspection] = OrderedDict()
        self._headers: OrderedDict[tuple[FileKey, int], list[HeaderCard]] = OrderedDict()
        self._open: OrderedDict[tuple[Path, int, float], FitsImage] = OrderedDict()
        self._samples: OrderedDict[PlaneKey, np.ndarray] = OrderedDict()
        self._grids: dict[PlaneKey, SampleGrid] = {}
        self._limits: dict[PlaneKey, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._sample_locks: dict[PlaneKey, threading.Lock] = {}
        self._resolved: dict[str, tuple[Path, float]] = {}  # relative -> (confined path, until)
        self._room_checked = 0.0  # when a read last checked the memory budget
        # called with (path, hdu, plane) when a plane's default limits are first computed, i.e.
        # when it is opened for display (the tile service starts building its levels then)
        self.on_open: list[Callable[[str, int, int], None]] = []

    def resolve(self, relative: str) -> Path:
        """Absolute path of a file under files/ (403 outside it, 404 when missing).

        Remembered for ``RESOLVED_TTL_S``: a tile request resolves its path once or twice, and
        resolving (a ``realpath`` walk) cost more than rendering a cached tile; the path kept is
        the confined real path, so a symlink changed meanwhile is not followed."""
        now = time.monotonic()
        known = self._resolved.get(relative)
        if known is not None and known[1] > now:
            return known[0]
        path = confine_file(self.settings.files_dir, relative, ImageNotFound, "image")
        if len(self._resolved) >= _RESOLVED_KEPT:
            self._resolved.clear()
        self._resolved[relative] = (path, now + RESOLVED_TTL_S)
        return path

    def _resolve_stat(self, relative: str) -> tuple[Path, float]:
        """:meth:`resolve` and the file's mtime (resolved afresh when the file went meanwhile)."""
        path = self.resolve(relative)
        try:
            return path, path.stat().st_mtime
        except OSError:
            self._resolved.pop(relative, None)
            path = self.resolve(relative)  # 404 now, or the file that replaced it
            return path, path.stat().st_mtime

    # -- inspection (bounded: in a worker process, with a deadline) -----------------------------
    def _cached(self, key: FileKey) -> FitsInspection | None:
        with self._lock:
            found = self._inspections.get(key)
            if found is not None:
                self._inspections.move_to_end(key)
            return found

    def _keep(self, key: FileKey, found: FitsInspection) -> FitsInspection:
        with self._lock:
            self._inspections[key] = found
            while len(self._inspections) > _INSPECTIONS_KEPT:
                self._inspections.popitem(last=False)
        return found

    def inspect(self, path: Path) -> FitsInspection:
        """The whole-file inspection of a confined ``path`` (cached per file version).

        A small file (within :data:`SMALL_FILE`: HDUs, header cards) is inspected here at once
        (milliseconds: its WCS keywords are bounded before astropy sees them); a larger one in a
        bounded worker with the deadline."""
        key = _file_key(path)
        found = self._cached(key)
        if found is None:
            try:
                found = inspect_fits(path, budget=SMALL_FILE)
            except OverBudget:
                found = self.runner.run(inspect_listed, path, what=f"reading {path.name}")
            self._keep(key, found)
        return found

    async def inspect_async(self, path: Path) -> FitsInspection:
        """:meth:`inspect` from the event loop (never blocks it: the small-file scan runs in a thread)."""
        key = _file_key(path)
        found = self._cached(key)
        if found is None:
            try:
                found = await asyncio.to_thread(inspect_fits, path, SMALL_FILE)
            except OverBudget:
                found = await self.runner.run_async(inspect_listed, path, what=f"reading {path.name}")
            self._keep(key, found)
        return found

    def listing(self, path: Path) -> bytes:
        """The JSON array of the HDUs of a confined ``path`` (see
        :func:`~neloura.core.fits_inspect.listing_json`), rendered once per file version (by the
        bounded worker for a large file)."""
        found = self.inspect(path)
        if not found.listing:
            found = self._keep(_file_key(path), with_listing(found))
        return found.listing

    def remember(self, path: Path, found: FitsInspection) -> None:
        """Keep an inspection made elsewhere (an upload's validation) for ``path`` as it is now."""
        self._keep(_file_key(path), found)

    def recommended(self, path: Path, hdu: int | None = None) -> int:
        """``hdu`` itself, or the file's recommended image HDU (415 when it has none)."""
        if hdu is not None:
            return hdu
        recommended = self.inspect(path).recommended
        if recommended is None:
            raise NotAFitsImage(f"{path.name} holds no image HDU that can be shown")
        return recommended

    def header(self, path: Path, hdu: int) -> list[HeaderCard]:
        """Every card of one HDU's header, read in a worker (deadline) and cached per file version."""
        key = (_file_key(path), hdu)
        with self._lock:
            cards = self._headers.get(key)
            if cards is not None:
                self._headers.move_to_end(key)
                return cards
        rows = self.runner.run(image_headers.header_rows, path, hdu, what=f"reading the header of {path.name}")
        cards = [HeaderCard(key=k, value=v, comment=c) for k, v, c in rows]  # type: ignore[arg-type]
        with self._lock:
            self._headers[key] = cards
            while len(self._headers) > _HEADERS_KEPT:
                self._headers.popitem(last=False)
        return cards

    def header_page(self, path: Path, hdu: int, offset: int = 0, limit: int | None = None, q: str = "") -> dict:
        """``{"count", "total", "rows": [(index, key, value, comment)]}``: the cards matching ``q``
        (case-insensitive, in key, value or comment) from ``offset``, at most ``limit``; parsed
        and searched in a bounded worker (see :func:`~neloura.runtime.image_headers.header_page`)."""
        found = self.inspect(path)
        if len(found.hdus) <= SMALL_FILE[0] and found.cards <= SMALL_FILE[1]:
            return image_headers.header_page(_file_key(path), hdu, offset, limit, q)  # small: here, at once
        return self.runner.run(
            image_headers.header_page, _file_key(path), hdu, offset, limit, q, what=f"reading the header of {path.name}"
        )

    def _check_openable(self, path: Path, hdu: int) -> None:
        """Refuse, from the inspection, an HDU that does not exist, is truncated or has a problem."""
        found = self.inspect(path)
        if not 0 <= hdu < len(found.hdus):
            raise InvalidParameter(f"{path.name} has no HDU {hdu} (it has {len(found.hdus)})")
        summary = found.hdus[hdu]
        if summary.problem:
            raise InvalidParameter(f"{path.name}, HDU {hdu}: {summary.problem}")
        if summary.truncated:
            raise NotAFitsImage(f"{path.name} is truncated: HDU {hdu} lacks data the header announces")

    # -- open images ---------------------------------------------------------------------------
    def get(self, relative: str, hdu: int) -> FitsImage:
        """The open image for (path, hdu), reopened when the file changed on disk."""
        path = self.resolve(relative)
        return self.get_resolved(path, hdu)

    def get_resolved(self, path: Path, hdu: int) -> FitsImage:
        """Like :meth:`get` for an already confined absolute path."""
        key = (path, hdu, path.stat().st_mtime)
        with self._lock:
            image = self._open.get(key)
            if image is not None:
                self._open.move_to_end(key)
        if image is not None:
            now = time.monotonic()
            if now - self._room_checked > ROOM_CHECK_S:  # kept bands grow with reads
                self._room_checked = now
                self.budget.make_room(0, f"reading {path.name}")
            return image
        self._check_openable(path, hdu)
        self.budget.make_room(self._open_cost(path, hdu), f"opening {path.name}")
        image = FitsImage(path, hdu, decompressed_max_bytes=self.settings.decompressed_max_mb * MB)
        with self._lock:
            existing = self._open.get(key)
            if existing is not None:  # another thread opened it meanwhile
                image.close()
                return existing
            self._open[key] = image
            while len(self._open) > self.settings.open_images_max:
                _, old = self._open.popitem(last=False)
                old.close()
        return image

    def _open_cost(self, path: Path, hdu: int) -> int:
        """Memory an image takes once open: a compressed one, its plane or its kept bands."""
        summary = self.inspect(path).hdus[hdu]
        if not summary.compressed:
            return 0  # memory mapped
        pixels = int(np.prod(summary.shape[-2:], dtype=np.float64)) if summary.shape else 0
        return min(4 * pixels, fits_compressed.BAND_CACHE_BYTES)

    # -- the memory budget ----------------------------------------------------------------------
    def nbytes(self) -> int:
        """Memory held by open images (decompressed planes, kept bands) and samples."""
        with self._lock:
            images = sum(image.nbytes for image in self._open.values())
            samples = sum(v.nbytes for v in self._samples.values()) + sum(g.values.nbytes for g in self._grids.values())
        return images + samples

    def _evict_one(self) -> int:
        """Give back the least recently used memory: an open image's bands, else the image
        itself (a small compressed plane held whole), else a sample. Never the most recent."""
        with self._lock:
            for key, image in list(self._open.items())[:-1]:
                if image.nbytes <= 0:
                    continue
                freed = image.trim()
                if freed <= 0:  # a plane held whole: close it (a reader holding it keeps its array)
                    freed = image.nbytes
                    del self._open[key]
                    image.close()
                return freed
            for plane_key in list(self._samples)[:-1]:
                values = self._samples.pop(plane_key)
                grid = self._grids.pop(plane_key, None)
                return values.nbytes + (grid.values.nbytes if grid is not None else 0)
        return 0

    def plane_key(self, relative: str, hdu: int, plane: int) -> PlaneKey:
        """Cache key of one plane: resolved path, mtime, hdu, plane."""
        path, mtime = self._resolve_stat(relative)
        return (path, mtime, hdu, plane)

    def sample(self, relative: str, hdu: int, plane: int = 0) -> np.ndarray:
        """About ``settings.limits_sample_size`` finite physical values spread over the plane
        (cached; read-only array)."""
        key = self.plane_key(relative, hdu, plane)
        with self._lock:
            cached = self._samples.get(key)
            if cached is not None:
                self._samples.move_to_end(key)
                return cached
            lock = self._sample_locks.setdefault(key, threading.Lock())
        with lock:  # one computation per plane even with concurrent first requests
            with self._lock:
                cached = self._samples.get(key)
            if cached is not None:
                return cached
            self.budget.make_room(8 * self.settings.limits_sample_size, f"sampling {key[0].name}")
            grid = self._compute_grid(key[0], hdu, plane)
            grid.values.setflags(write=False)
            values = grid.values[np.isfinite(grid.values)]
            values.setflags(write=False)
            with self._lock:
                self._samples[key] = values
                self._grids[key] = grid
                while len(self._samples) > _SAMPLES_KEPT:
                    old, _ = self._samples.popitem(last=False)
                    self._grids.pop(old, None)
                    self._limits.pop(old, None)
                    self._sample_locks.pop(old, None)
        return values

    def sample_grid(self, relative: str, hdu: int, plane: int = 0) -> SampleGrid | None:
        """The grid behind :meth:`sample` when it has been read (never reads)."""
        key = self.plane_key(relative, hdu, plane)
        with self._lock:
            return self._grids.get(key)

    def _compute_grid(self, path: Path, hdu: int, plane: int) -> SampleGrid:
        return read_sample_grid(self.get_resolved(path, hdu), plane, self.settings.limits_sample_size)

    def default_limits(self, relative: str, hdu: int, plane: int = 0) -> tuple[float, float]:
        """Default display limits: 0.5/99.5 percentiles of :meth:`sample` (cached)."""
        key = self.plane_key(relative, hdu, plane)
        with self._lock:
            cached = self._limits.get(key)
        if cached is not None:
            return cached
        limits = percentile_limits(self.sample(relative, hdu, plane), 0.5, 99.5)
        with self._lock:
            first = key not in self._limits
            self._limits[key] = limits
        if first:
            for callback in self.on_open:
                try:
                    callback(relative, hdu, plane)
                except Exception:  # a failing listener must not fail the request
                    log.exception("open listener failed for %s", relative)
        return limits

    def is_ready(self, relative: str, hdu: int, plane: int = 0) -> bool:
        """True when the image is open and its default limits are cached (no I/O but a stat)."""
        return self.key_ready(self.plane_key(relative, hdu, plane))

    def key_ready(self, key: PlaneKey, *, need_limits: bool = True) -> bool:
        """:meth:`is_ready` for a :meth:`plane_key` already resolved (no I/O at all);
        ``need_limits=False``: the image open is enough (the caller gives its own limits)."""
        path, mtime, hdu, _ = key
        with self._lock:
            return (path, hdu, mtime) in self._open and (not need_limits or key in self._limits)

    def close(self) -> None:
        with self._lock:
            for image in self._open.values():
                image.close()
            self._open.clear()
            self._samples.clear()
            self._grids.clear()
            self._limits.clear()
            self._inspections.clear()
            self._headers.clear()
        if self._own_runner:
            self.runner.close()
