"""Open images kept in a bounded LRU, keyed by (path, hdu, mtime); paths confined to files/.

Also caches, per plane, the sample of physical values spread over the whole plane and the
default display limits (0.5/99.5 percentiles of that sample), so that info, tiles and the
histogram agree on the same numbers and compute them once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neloura.core.fitsio import FitsImage
from neloura.core.limits import percentile_limits
from neloura.core.paths import confine_file
from neloura.errors import ImageNotFound
from neloura.runtime.levels import RowReader
from neloura.settings import Settings

log = logging.getLogger("neloura.images")

PlaneKey = tuple[Path, float, int, int]
_SAMPLES_KEPT = 16


@dataclass(frozen=True)
class SampleGrid:
    """The regular grid of physical values the sample is read from: ``values[i, j]`` is pixel
    (row ``first + i * step``, column ``first + j * step``), FITS order, NaN kept. Provisional
    overview tiles are drawn from it before the block means exist."""

    values: np.ndarray
    first: int
    step: int


def _strided_rows(image: FitsImage, prefix: tuple[int, ...], rows: slice, cols: slice) -> np.ndarray:
    """``data[rows, cols]`` (strided slices) as physical values, 256 grid rows at a time (a
    compressed plane decompresses only the tiles under each block)."""
    step = rows.step or 1
    stop = rows.stop if rows.stop is not None else image.height
    blocks = [
        image.read_index((*prefix, slice(start, min(stop, start + 256 * step), step), cols))
        for start in range(rows.start or 0, stop, 256 * step)
    ]
    width = len(range(*cols.indices(image.width)))
    return np.concatenate(blocks) if blocks else np.empty((0, width), np.float32)


class ImageStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: OrderedDict[tuple[Path, int, float], FitsImage] = OrderedDict()
        self._samples: OrderedDict[PlaneKey, np.ndarray] = OrderedDict()
        self._grids: dict[PlaneKey, SampleGrid] = {}
        self._limits: dict[PlaneKey, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._sample_locks: dict[PlaneKey, threading.Lock] = {}
        # called with (path, hdu, plane) when a plane's default limits are first computed, i.e.
        # when it is opened for display (the tile service starts building its levels then)
        self.on_open: list[Callable[[str, int, int], None]] = []

    def resolve(self, relative: str) -> Path:
        """Absolute path of a file under files/ (403 outside it, 404 when missing)."""
        return confine_file(self.settings.files_dir, relative, ImageNotFound, "image")

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
                return image
        image = FitsImage(path, hdu)
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

    def plane_key(self, relative: str, hdu: int, plane: int) -> PlaneKey:
        """Cache key of one plane: resolved path, mtime, hdu, plane."""
        path = self.resolve(relative)
        return (path, path.stat().st_mtime, hdu, plane)

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
        image = self.get_resolved(path, hdu)
        source = image.plane(plane)
        first, step = source.sample_grid(self.settings.limits_sample_size)
        rows, cols = slice(first, source.height, step), slice(first, source.width, step)
        if not image.compressed and RowReader.supports(source):
            # one pread per sampled row: a cold file is read 2-4x faster than through faults on a
            # memory map (whose read-ahead fetches pages the sample never uses)
            with RowReader(source) as reader:
                values = [reader.read(y, y + 1, 0, source.width)[0, cols] for y in range(*rows.indices(source.height))]
            grid = np.array(values, dtype=np.float32).reshape(-1, len(range(*cols.indices(source.width))))
            return SampleGrid(np.where(np.isfinite(grid), grid, np.nan).astype(np.float32), first, step)
        if image.compressed:
            return SampleGrid(_strided_rows(image, source.prefix, rows, cols), first, step)
        # A private memory map, unmapped when this returns: the strided sample faults in pages
        # (with read-ahead) all over the file, which need not stay mapped into the server.
        with FitsImage(path, hdu) as own:
            return SampleGrid(_strided_rows(own, source.prefix, rows, cols), first, step)

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
        path, mtime, _, _ = key = self.plane_key(relative, hdu, plane)
        with self._lock:
            return (path, hdu, mtime) in self._open and key in self._limits

    def close(self) -> None:
        with self._lock:
            for image in self._open.values():
                image.close()
            self._open.clear()
            self._samples.clear()
            self._grids.clear()
            self._limits.clear()
