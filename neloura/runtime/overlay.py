"""Overlay payloads of catalogs on images, built from the stores and kept in a small LRU.

A payload depends on the catalog file, the image file (path, mtime, HDU, plane) and the drawing
parameters (columns, size, colour, filter); the same request twice is served from memory.
Sources are pre-filtered with the catalog's sky index when it is already built, otherwise by a
brute-force angular test while the index is built in the background for the next request.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import igzip

from neloura.core.overlay import (
    SIZE_UNITS,
    encode_overlay,
    image_footprint,
    project_inside,
    size_to_pixels,
    within_footprint,
)
from neloura.errors import InvalidParameter
from neloura.runtime.crossmatch import SkyIndexCache
from neloura.runtime.images import ImageStore


@dataclass(frozen=True)
class OverlayRequest:
    """What to draw. ``size`` is a column name or a number; sizes are marker radii."""

    name: str
    path: str
    hdu: int = 0
    plane: int = 0
    ra_col: str | None = None
    dec_col: str | None = None
    size: str | None = None
    size_unit: str = "px"
    color_col: str | None = None
    color_scale: str = "linear"
    filter: str | None = None
    computed: tuple[str, ...] = ()  # NAME=EXPRESSION definitions the filter may name


DEFAULT_RADIUS_PX = 5.0
MAX_RADIUS = 1e6  # a constant radius above this (in any unit) is refused: float32 markers overflow


def parse_size(size: str | None) -> float | str | None:
    """A number (constant radius) or a column name; empty means the default radius."""
    if size is None or not size.strip():
        return None
    text = size.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    if not (np.isfinite(value) and 0 <= value <= MAX_RADIUS):
        raise InvalidParameter(f"size_col as a number must be a radius between 0 and {MAX_RADIUS:g}, got {size!r}")
    return value


def numeric_column(table: Any, column: str, rows: np.ndarray) -> np.ndarray:
    """float64 values of ``column`` at ``rows`` (NaN for nulls); 422 for unknown or text columns."""
    if column not in table.column_names:
        raise InvalidParameter(f"unknown column {column!r}; columns: {', '.join(table.column_names)}")
    values = table.column(column).take(pa.array(rows, type=pa.int64()))
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type) or pa.types.is_boolean(values.type)):
        raise InvalidParameter(f"column {column!r} is not numeric ({values.type})")
    return np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


# gzip is sent only when it pays: at most this fraction of the raw payload. Sorted row indices
# and quantised sizes/colours compress; float32 positions barely do (measured for issue 16:
# 0.71-0.87 of the bytes on uniformly spread sources, ISA-L level 1 at ~3 ms per MB).
GZIP_PAYS = 0.9
GZIP_LEVEL = 1  # ISA-L 0..3: higher levels gave the same size at 2-4x the time on payloads


@dataclass(frozen=True)
class EncodedOverlay:
    """One representation of a payload: ``body`` is gzip-encoded when ``gzip`` is true."""

    etag: str  # strong, quoted; names the payload (the gzip representation's ends in -gz)
    body: bytes
    gzip: bool


def _etag(key: tuple[Any, ...]) -> str:
    return f'"{hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()}"'


class OverlayService:
    def __init__(self, images: ImageStore, sky: SkyIndexCache, *, max_bytes: int = 256 << 20) -> None:
        self.images = images
        self.sky = sky
        self._max_bytes = max_bytes
        self._cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._gzipped: OrderedDict[tuple[Any, ...], bytes | None] = OrderedDict()  # None: gzip does not pay
        self._lock = threading.Lock()

    def _key(self, req: OverlayRequest) -> tuple[Any, ...]:
        if req.size_unit not in SIZE_UNITS:
            raise InvalidParameter(f"size_unit must be one of {', '.join(SIZE_UNITS)}, got {req.size_unit!r}")
        if req.color_scale not in ("linear", "log"):
            raise InvalidParameter(f"color_scale must be linear or log, got {req.color_scale!r}")
        catalog_key = self.sky.key(req.name, req.ra_col, req.dec_col)
        image_path = self.images.resolve(req.path)
        return (catalog_key, str(image_path), image_path.stat().st_mtime_ns, astuple(req))

    def etag(self, req: OverlayRequest) -> str:
        """Strong ETag of the payload: catalog file (size, mtime), image file (mtime) and every
        drawing parameter; known without building the payload (a 304 costs a few stats)."""
        return _etag(self._key(req))

    def payload(self, req: OverlayRequest) -> bytes:
        """The binary overlay (layout in :mod:`neloura.core.overlay`) for one request."""
        return self._payload(self._key(req), req)

    def _payload(self, key: tuple[Any, ...], req: OverlayRequest) -> bytes:
        with self._lock:
            data = self._cache.get(key)
            if data is not None:
                self._cache.move_to_end(key)
                return data
        catalog_key = key[0]
        data = self._build(req, catalog_key[3], catalog_key[4])
        with self._lock:
            self._cache[key] = data
            self._trim()
        return data

    def _trim(self) -> None:
        """Drop the least recently built payloads (and their gzip copies) beyond the byte budget."""
        while len(self._cache) > 1 and (
            sum(map(len, self._cache.values())) + sum(len(v or b"") for v in self._gzipped.values()) > self._max_bytes
        ):
            dropped, _ = self._cache.popitem(last=False)
            self._gzipped.pop(dropped, None)

    def encoded(self, req: OverlayRequest, *, accept_gzip: bool) -> EncodedOverlay:
        """The payload as sent: gzip-encoded (compressed once, then cached) when the client
        accepts it and it saves at least ``1 - GZIP_PAYS`` of the bytes, else raw."""
        key = self._key(req)
        etag = _etag(key)
        data = self._payload(key, req)
        if not accept_gzip:
            return EncodedOverlay(etag, data, False)
        with self._lock:
            known = key in self._gzipped
            packed = self._gzipped.get(key)
        if not known:
            packed = igzip.compress(data, GZIP_LEVEL)
            packed = packed if len(packed) <= GZIP_PAYS * len(data) else None
            with self._lock:
                if key in self._cache:  # not dropped meanwhile: keep the copy beside its payload
                    self._gzipped[key] = packed
                    self._trim()
        if packed is None:
            return EncodedOverlay(etag, data, False)
        return EncodedOverlay(etag[:-1] + '-gz"', packed, True)

    def _build(self, req: OverlayRequest, ra_col: str, dec_col: str) -> bytes:
        image = self.images.get(req.path, req.hdu)
        image.plane(req.plane)  # validates the plane index
        wcs = image.wcs
        if not wcs.has_celestial:
            raise InvalidParameter(f"{req.path} HDU {req.hdu} has no celestial WCS: a catalog cannot be placed on it")
        catalogs = self.sky.catalogs
        ra, dec = catalogs.radec(req.name, ra_col, dec_col)
        footprint = image_footprint(wcs, image.width, image.height, plane=req.plane)
        index = self.sky.cached(req.name, ra_col, dec_col)
        if index is not None:
            near = index.within_cap(footprint.ra_deg, footprint.dec_deg, footprint.radius_arcsec)
        else:
            near = within_footprint(ra, dec, footprint)
            self.sky.build_later(req.name, ra_col, dec_col)
        valid = np.isfinite(ra) & np.isfinite(dec)
        matched = int(valid.sum())
        if req.filter and req.filter.strip():
            selected = np.asarray(catalogs.select(req.name, req.filter, req.computed or None), dtype=np.int64)
            near = np.intersect1d(near, selected, assume_unique=True)
            matched = int(valid[selected].sum())
        which, x, y = project_inside(wcs, ra[near], dec[near], image.width, image.height, plane=req.plane)
        rows = near[which]
        scale = wcs.pixel_scale_arcsec()
        size = parse_size(req.size)
        table = catalogs.table(req.name) if isinstance(size, str) or req.color_col else None
        radius: np.ndarray | float = DEFAULT_RADIUS_PX
        if isinstance(size, str):
            radius = size_to_pixels(numeric_column(table, size, rows), req.size_unit, scale)
        elif size is not None:
            radius = float(size_to_pixels(size, req.size_unit, scale))
        color = numeric_column(table, req.color_col, rows) if req.color_col else None
        return encode_overlay(
            x,
            y,
            rows,
            size_px=radius,
            color=color,
            color_log=req.color_scale == "log",
            matched=matched,
            pixel_scale_arcsec=scale,
            width=image.width,
            height=image.height,
        )

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
            self._gzipped.clear()
