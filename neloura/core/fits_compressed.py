"""Tile-compressed image HDUs (``CompImageHDU``, ``.fits.fz``) read by tile, within bounds.

astropy's ``CompImageHDU.section`` decompresses only the compression tiles a slice touches.
:class:`BandReader` serves every read (windows, strided samples, single values) from it:
windows come from full-width bands of rows decompressed once and kept in a small per-image LRU
(neighbouring display tiles share the decompression), so the memory an open compressed image
holds is bounded by :data:`BAND_CACHE_BYTES`, whatever its decompressed size.

The data are read raw from a memory-mapped file (``do_not_scale_image_data``): astropy still
dequantises floats (ZQUANTIZ/ZSCALE/ZZERO, ZBLANK -> NaN) tile by tile; BSCALE/BZERO/BLANK are
applied by the caller's ``physical`` conversion, as for uncompressed data. Nothing reads the
whole compressed heap into memory.

:func:`check_compressed_bounds` refuses (413) an HDU whose decompressed size or compression tile
is beyond the caller's ceiling: a few kilobytes of file can announce gigabytes of zeros.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from neloura.errors import ImageTooLarge

IN_MEMORY_MAX_PIXELS = 4 * 1024 * 1024  # a plane this small is decompressed whole (16 MB of float32)
BAND_ROWS = 256  # rows of a compressed plane decompressed together (fewer when the image is wide)
BAND_MAX_BYTES = 16 * 1024 * 1024  # one band at most
BAND_CACHE_BYTES = 48 * 1024 * 1024  # bands kept per open image
TILE_MAX_PIXELS = 16 * 1024 * 1024  # one compression tile: astropy decompresses it whole for any pixel
MB = 1024 * 1024


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def compression_tile(hdu_obj: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The compression tile shape (numpy order) of a ``CompImageHDU``: ``ZTILEn``, by default
    one row (``ZTILE1 = NAXIS1``, the others 1) as the FITS convention says."""
    table = getattr(hdu_obj, "_bintable", None)  # astropy's table header keeps the Z keywords
    header = getattr(table, "header", None) or {}
    fits_order = shape[::-1]
    tile = [_int(header.get(f"ZTILE{i + 1}", fits_order[i] if i == 0 else 1)) for i in range(len(shape))]
    return tuple(tile[::-1])


def check_compressed_bounds(hdu_obj: Any, shape: tuple[int, ...], label: str, max_bytes: int) -> None:
    """Refuse (:class:`~neloura.errors.ImageTooLarge`, 413) a compressed HDU that decompresses
    to more than ``max_bytes`` of float32 pixels (0: no ceiling) or whose compression tile
    exceeds :data:`TILE_MAX_PIXELS` (reading any one pixel decompresses its whole tile)."""
    pixels = int(np.prod(shape, dtype=np.float64))
    if max_bytes > 0 and pixels * 4 > max_bytes:
        raise ImageTooLarge(
            f"{label} decompresses to {pixels * 4 / MB:,.0f} MB, over this server's ceiling of "
            f"{max_bytes // MB:,} MB per compressed image (NELOURA_DECOMPRESSED_MAX_MB)"
        )
    tile = compression_tile(hdu_obj, shape)
    tile_pixels = int(np.prod([min(t, n) if t else n for t, n in zip(tile, shape, strict=True)], dtype=np.float64))
    if tile_pixels > TILE_MAX_PIXELS:
        raise ImageTooLarge(
            f"{label} is compressed in tiles of {tile_pixels:,} pixels; at most {TILE_MAX_PIXELS:,} "
            "can be read (re-compress it with smaller tiles, e.g. fpack's default of one row)"
        )


class BandReader:
    """Reads a compressed HDU's ``section`` as physical float32 values, windows through a
    bounded LRU of full-width row bands. Thread-safe (the section shares one file handle)."""

    def __init__(self, section: Any, shape: tuple[int, ...], physical: Callable[[np.ndarray], np.ndarray]) -> None:
        self.section = section
        self.shape = shape
        self.height, self.width = int(shape[-2]), int(shape[-1])
        self.physical = physical
        self.band_rows = max(1, min(BAND_ROWS, BAND_MAX_BYTES // max(1, 4 * self.width)))
        self._bands: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes of decompressed bands held now."""
        return self._bytes

    def trim(self) -> int:
        """Drop every kept band (they are decompressed again when needed); bytes freed."""
        with self._lock:
            freed, self._bytes = self._bytes, 0
            self._bands.clear()
        return freed

    def read(self, index: tuple[Any, ...]) -> np.ndarray:
        """Physical float32 values of ``data[index]`` (basic or strided slices and ints)."""
        rows, cols = index[-2], index[-1]
        if isinstance(rows, slice) and isinstance(cols, slice) and rows.step in (None, 1):
            return self._window(index[:-2], rows, cols)
        return self.read_direct(index)

    def read_direct(self, index: tuple[Any, ...]) -> np.ndarray:
        """``data[index]`` straight from the section (no band cache)."""
        with self._lock:
            raw = np.asarray(self.section[index])
        return self.physical(raw)

    def _window(self, prefix: tuple[Any, ...], rows: slice, cols: slice) -> np.ndarray:
        y0, y1, _ = rows.indices(self.height)
        x0, x1, _ = cols.indices(self.width)
        out = np.empty((max(0, y1 - y0), max(0, x1 - x0)), np.float32)
        if out.size == 0:
            return out
        n = self.band_rows
        for band in range(y0 // n, (y1 - 1) // n + 1):
            values = self._band(prefix, band)
            top = band * n
            a, b = max(y0, top), min(y1, top + n)
            out[a - y0 : b - y0] = values[a - top : b - top, x0:x1]
        return out

    def _band(self, prefix: tuple[Any, ...], band: int) -> np.ndarray:
        key = (*prefix, band)
        with self._lock:
            cached = self._bands.get(key)
            if cached is not None:
                self._bands.move_to_end(key)
                return cached
        top = band * self.band_rows
        values = self.read_direct((*prefix, slice(top, min(self.height, top + self.band_rows)), slice(0, self.width)))
        values.setflags(write=False)
        keep = max(2, BAND_CACHE_BYTES // max(1, values.nbytes))
        with self._lock:
            if key not in self._bands:
                self._bands[key] = values
                self._bytes += values.nbytes
            while len(self._bands) > keep:
                _, old = self._bands.popitem(last=False)
                self._bytes -= old.nbytes
        return values
