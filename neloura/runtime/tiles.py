"""Rendered tiles: display parameters resolved once into a :class:`TileSpec` (whose ETag names
the exact pixels), rendered from the source (full resolution) or a cached reduced level, and
kept in a byte LRU bounded by ``settings.tile_cache_mb``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from neloura.core import stretch as stretches
from neloura.core.colormaps import TRANSPARENT, palette
from neloura.core.encode import FORMATS, MEDIA_TYPES, encode, encode_png_rows
from neloura.core.fitsio import FitsImage, ImagePlane
from neloura.core.limits import minmax_limits, user_limits
from neloura.core.tile_kernel import png_rows
from neloura.core.tiles import Pyramid
from neloura.errors import InvalidParameter, MemoryBudgetExceeded
from neloura.runtime.events import EventBus
from neloura.runtime.images import ImageStore, PlaneKey
from neloura.runtime.levels import LevelStore
from neloura.runtime.samples import SampleGrid
from neloura.settings import Settings

_LUTS_KEPT = 64
# Full-resolution tiles read a memory-mapped FITS file; the kernel maps whole neighbourhoods of
# every page touched (fault-around), so browsing maps most of the file into the server. Those
# clean file pages are reclaimable page cache, yet they count as the server's own memory (RSS,
# USS): past this estimate, drop our mappings of them (the page cache keeps the data).
MAPPED_RELEASE_BYTES = 128 * 1024 * 1024
# Planes smaller than this build their levels in well under 0.1 s: their overview tiles wait for
# the block means instead of being drawn provisionally (and redrawn).
PROVISIONAL_MIN_PIXELS = 16 * 1024 * 1024
# Tiles render in their own threads, one per core: numpy and the deflate release the GIL, but
# every numpy call takes it back, and more threads than cores spent more time handing the GIL
# over than rendering (measured for issue 16: 6 threads cost ~1.5 ms of CPU a fresh tile, 2 ~1.1)
RENDER_THREADS = max(2, os.cpu_count() or 1)


class MappedPages:
    """Estimates the file pages full-resolution reads map, and releases them past a budget."""

    def __init__(self, budget: int = MAPPED_RELEASE_BYTES) -> None:
        self.budget = budget
        self._bands: dict[int, set[int]] = {}
        self._estimate = 0
        self._lock = threading.Lock()

    def touched(self, image: FitsImage, y0: int, y1: int, row_bytes: int) -> None:
        """Record a read of rows ``y0:y1`` of ``image``'s data; release its pages when over budget."""
        if not image.memory_mapped:
            return
        with self._lock:
            bands = self._bands.setdefault(id(image), set())
            if y0 in bands:
                return
            bands.add(y0)
            self._estimate += (y1 - y0) * row_bytes
            if self._estimate <= self.budget:
                return
            self._estimate = 0
            self._bands.clear()
        image.release_pages()


@dataclass(frozen=True)
class TileSpec:
    """Everything that determines a tile's bytes."""

    relative: str
    key: PlaneKey
    hdu: int
    plane: int
    level: int
    col: int
    row: int
    fmt: str
    stretch: str
    exponent: float
    cmap: str
    invert: bool
    nan_color: str
    vmin: float
    vmax: float
    jpeg_quality: int
    # a reduced-level tile asked for before its level exists: rendered from a strided look at the
    # source (one pixel per block), never cached; the page re-asks once ``levels:ready`` arrives
    provisional: bool = False

    @cached_property
    def etag(self) -> str:
        path, mtime, *_ = self.key
        text = "|".join(
            map(
                repr,
                (
                    str(path),
                    mtime,
                    self.hdu,
                    self.plane,
                    self.level,
                    self.col,
                    self.row,
                    self.fmt,
                    self.stretch,
                    self.exponent,
                    self.cmap,
                    self.invert,
                    self.nan_color,
                    self.vmin,
                    self.vmax,
                    self.jpeg_quality,
                    self.provisional,
                ),
            )
        )
        return '"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"'

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]


def _strided(plane: ImagePlane, factor: int, y0: int, y1: int, x0: int, x1: int, grid: SampleGrid | None) -> np.ndarray:
    """Level pixels ``[y0:y1, x0:x1]`` (display orientation) of reduction ``factor`` approximated
    by one source pixel per block: a point of the sample grid inside the block when the grid is
    as fine as the level (no I/O), else the pixel nearest the block centre (reads ~1/factor of
    the file's pages)."""
    height = plane.height
    if grid is not None and factor >= grid.step:
        n_rows, n_cols = grid.values.shape
        lowest = np.maximum(height - (np.arange(y0, y1) + 1) * factor, 0)  # each block's lowest FITS row
        rows = np.clip(-(-(lowest - grid.first) // grid.step), 0, n_rows - 1)
        cols = np.clip(-(-(np.arange(x0, x1) * factor - grid.first) // grid.step), 0, n_cols - 1)
        return grid.values[rows][:, cols]
    display_rows = np.minimum(np.arange(y0, y1) * factor + factor // 2, height - 1)
    cols = np.minimum(np.arange(x0, x1) * factor + factor // 2, plane.width - 1)
    return plane.read_grid(height - 1 - display_rows, cols)  # FITS rows, top of the display first


class TileCache:
    """Rendered tile bytes by ETag, least recently used dropped beyond ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            data = self._items.get(etag)
            if data is not None:
                self._items.move_to_end(etag)
            return data

    def put(self, etag: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(etag, None)
            self._size -= len(old) if old is not None else 0
            self._items[etag] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    @property
    def nbytes(self) -> int:
        return self._size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def evict_one(self) -> int:
        """Drop the least recently used tile; bytes freed (0 when empty)."""
        with self._lock:
            if not self._items:
                return 0
            _, dropped = self._items.popitem(last=False)
            self._size -= len(dropped)
            return len(dropped)


class TileService:
    def __init__(
        self, settings: Settings, images: ImageStore, levels: LevelStore, events: EventBus | None = None
    ) -> None:
        self.settings = settings
        self.images = images
        self.levels = levels
        self.events = events
        self._provisional: dict[PlaneKey, tuple[str, int, int]] = {}  # planes shown provisionally
        self._provisional_lock = threading.Lock()
        levels.on_done.append(self._levels_done)
        self.cache = TileCache(settings.tile_cache_mb * 1024 * 1024)
        images.budget.register("tiles", lambda: self.cache.nbytes, self.cache.evict_one)
        self._luts: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()
        self._lut_lock = threading.Lock()
        self.mapped = MappedPages()
        self._pool = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="tile-render")
        images.on_open.append(self.warm)  # build overview levels in the background on open

    def spec(
        self,
        relative: str,
        level: int,
        col: int,
        row: int,
        fmt: str,
        *,
        hdu: int = 0,
        plane: int = 0,
        stretch: str = "linear",
        exponent: float | None = None,
        cmap: str = "gray",
        invert: bool = False,
        nan_color: str = TRANSPARENT,
        vmin: float | None = None,
        vmax: float | None = None,
        key: PlaneKey | None = None,
    ) -> TileSpec:
        """Validate a tile request and resolve its defaults (may open the file and compute the
        default limits on first use: call from a worker thread unless :meth:`ready`). ``key``:
        the plane's :meth:`ready_key` when the caller already has it (saves resolving the path)."""
        if fmt not in FORMATS:
            raise InvalidParameter(f"unknown tile format {fmt!r}; use png or jpg")
        key = key if key is not None else self.images.plane_key(relative, hdu, plane)
        image = self.images.get_resolved(key[0], hdu)
        image_plane = image.plane(plane)  # validates the plane index
        box = Pyramid(image.width, image.height, self.settings.tile_size).tile(level, col, row)
        provisional = self._provisional_tile(key, image_plane, box.factor, (relative, hdu, plane))
        exponent_value = stretches.check_stretch(stretch, exponent)
        palette(cmap, invert, nan_color)  # validates the colormap and NaN colour (cached)
        if vmin is None or vmax is None:
            auto_min, auto_max = self.images.default_limits(relative, hdu, plane)
            vmin = auto_min if vmin is None else vmin
            vmax = auto_max if vmax is None else vmax
        vmin, vmax = user_limits(np.empty(0), vmin, vmax)
        return TileSpec(
            relative,
            key,
            hdu,
            plane,
            level,
            col,
            row,
            fmt,
            stretch,
            exponent_value,
            cmap,
            invert,
            nan_color,
            vmin,
            vmax,
            self.settings.jpeg_quality,
            provisional,
        )

    def _provisional_tile(self, key: PlaneKey, plane: ImagePlane, factor: int, where: tuple[str, int, int]) -> bool:
        """True when this reduced-level tile is to be drawn before its level exists (and remember
        the plane, so that ``levels:ready`` is announced for it)."""
        if factor == 1 or not self.settings.provisional_tiles or not plane.grid_readable:
            return False
        if plane.width * plane.height < PROVISIONAL_MIN_PIXELS:
            return False
        if self.levels.levels(key, plane).has(factor):  # starts the build on first use
            return False
        with self._provisional_lock:
            self._provisional[key] = where
        return True

    def _levels_done(self, key: PlaneKey) -> None:
        with self._provisional_lock:
            where = self._provisional.pop(key, None)
        if where is not None and self.events is not None:
            relative, hdu, plane = where
            self.events.publish({"type": "levels:ready", "path": relative, "hdu": hdu, "plane": plane})

    def ready(self, relative: str, hdu: int, plane: int) -> bool:
        """True when :meth:`spec` needs no file I/O beyond a stat (image open, limits cached)."""
        return self.images.is_ready(relative, hdu, plane)

    def ready_key(self, relative: str, hdu: int, plane: int, *, limits_given: bool = False) -> PlaneKey | None:
        """The plane's key when :meth:`spec` needs no file I/O beyond a stat (pass it on as
        ``spec(..., key=...)``: one path resolution per tile request), else None.
        ``limits_given``: the request names both vmin and vmax (no default limits needed)."""
        key = self.images.plane_key(relative, hdu, plane)
        return key if self.images.key_ready(key, need_limits=not limits_given) else None

    def warm(self, relative: str, hdu: int = 0, plane: int = 0) -> None:
        """Start building the reduced levels of a plane now (e.g. when an image is opened), so
        that the first overview tiles need not wait for the whole cascade."""
        key = self.images.plane_key(relative, hdu, plane)
        self.levels.levels(key, self.images.get_resolved(key[0], hdu).plane(plane))

    def levels_ready(self, relative: str, hdu: int, plane: int) -> bool:
        """True when every reduced level of the plane exists (starts their build otherwise)."""
        key = self.images.plane_key(relative, hdu, plane)
        entry = self.levels.levels(key, self.images.get_resolved(key[0], hdu).plane(plane))
        return entry.done.is_set() and entry.error is None

    def value_range(self, relative: str, hdu: int, plane: int, *, wait: bool = True) -> tuple[float, float] | None:
        """Smallest and largest finite value of the whole plane, from the level build's source
        pass (``wait``: for that pass; None when unknown, e.g. levels read from an older cache)."""
        key = self.images.plane_key(relative, hdu, plane)
        entry = self.levels.levels(key, self.images.get_resolved(key[0], hdu).plane(plane))
        if wait:
            entry.range_known.wait()
        return entry.value_range

    def minmax_limits(self, relative: str, hdu: int, plane: int, *, wait: bool = True) -> tuple[float, float]:
        """``minmax`` display limits over every pixel of the plane (:meth:`value_range`), or over
        the sample when the extremes are unknown (or not yet known and ``wait`` is False)."""
        extremes = self.value_range(relative, hdu, plane, wait=wait)
        if extremes is None:
            return minmax_limits(self.images.sample(relative, hdu, plane))
        return minmax_limits(np.asarray(extremes, dtype=np.float64))

    async def run(self, work: Callable[[], bytes]) -> bytes:
        """``work`` (a tile render) in the tile threads, off the event loop: one executor hop,
        a fraction of the per-call cost of the general thread pool's limiter and cancel scopes."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def close(self) -> None:
        """Stop the render threads (renders already running finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def render(self, spec: TileSpec) -> bytes:
        """The tile's bytes, from the cache or rendered now (blocking)."""
        cached = self.cache.get(spec.etag)
        if cached is not None:
            return cached
        pal = palette(spec.cmap, spec.invert, spec.nan_color)
        if spec.fmt == "png":  # stretch, table and PNG rows in one pass without the GIL
            data = encode_png_rows(png_rows(self.values(spec), spec.vmin, spec.vmax, self._lut(spec)), pal)
        else:
            data = encode(self._indices(spec), pal, spec.fmt, jpeg_quality=spec.jpeg_quality)
        if not spec.provisional:
            self.cache.put(spec.etag, data)
        return data

    def values(self, spec: TileSpec) -> np.ndarray:
        """Physical values under the tile (float32, display orientation: row 0 = top)."""
        image = self.images.get_resolved(spec.key[0], spec.hdu)
        plane = image.plane(spec.plane)
        geometry = Pyramid(image.width, image.height, self.settings.tile_size)
        box = geometry.tile(spec.level, spec.col, spec.row)
        if box.factor == 1:
            try:
                self.levels.levels(spec.key, plane)  # starts the background build on first use
            except MemoryBudgetExceeded:
                pass  # the overview cannot be built now; full-resolution tiles need no level
            y0, y1 = geometry.array_rows(box)
            values = plane.read(y0, y1, box.x0, box.x1)[::-1]
            if not image.compressed:
                self.mapped.touched(image, y0, y1, image.row_bytes)
            return values
        entry = self.levels.levels(spec.key, plane)  # 507 when its levels cannot fit the budget
        if spec.provisional and not entry.has(box.factor):
            grid = self.images.sample_grid(spec.relative, spec.hdu, spec.plane)
            return _strided(plane, box.factor, box.y0, box.y1, box.x0, box.x1, grid)
        return entry.get(box.factor)[box.y0 : box.y1, box.x0 : box.x1]

    def _indices(self, spec: TileSpec) -> np.ndarray:
        return stretches.apply(self.values(spec), spec.vmin, spec.vmax, self._lut(spec))

    def _lut(self, spec: TileSpec) -> np.ndarray:
        key: tuple[object, ...] = (spec.stretch, spec.exponent)
        if spec.stretch == "histequ":
            key = (*key, spec.key, spec.vmin, spec.vmax)
        with self._lut_lock:
            lut = self._luts.get(key)
        if lut is None:
            sample = self.images.sample(spec.relative, spec.hdu, spec.plane) if spec.stretch == "histequ" else None
            lut = stretches.lookup_table(spec.stretch, spec.exponent, sample=sample, limits=(spec.vmin, spec.vmax))
            with self._lut_lock:
                self._luts[key] = lut
                while len(self._luts) > _LUTS_KEPT:
                    self._luts.popitem(last=False)
        return lut
