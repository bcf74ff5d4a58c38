"""Segmentation maps opened on an image: checked, put on the image's grid once and kept (LRU).

A map on the same grid as the image (same shape, and the same WCS or none) is used as it is; any
other map with a celestial WCS is reprojected onto the image's full WCS, nearest-neighbour. The
label maps live here, keyed by both files' versions; a segment's bounding box comes from one
``ndimage.find_objects`` pass per map, and catalog rows fall in a segment when their position,
projected through the image's full WCS, lands on one of its pixels.

The kept maps count against the server's memory budget (a cache evicted oldest first), and a
build or a segment's properties reserve their working memory from it first (507 when it cannot
fit even with the caches emptied).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from neloura.core.crossmatch import unit_vectors, vector_separation_arcsec
from neloura.core.fitsio import FitsImage
from neloura.core.photometry import flux_unit
from neloura.core.segmentation import (
    color_hex,
    labels_from_values,
    render_labels,
    reproject_labels,
    sample_window,
    segment_properties,
)
from neloura.errors import InvalidParameter, NotASegmentationMap
from neloura.runtime.catalogs import CatalogStore
from neloura.runtime.memory import MemoryBudget, array_bytes

MAX_PIXELS = 120_000_000  # label maps held in memory as int32 (480 MB)
REPROJECT_MAX_PIXELS = 40_000_000  # reproject works in float64 with footprints
KEPT = 4
# Peak bytes per pixel: a build reads the map (float32) and makes its labels (int32) and their
# sorted copy (np.unique); a reprojection works in float64 with footprints on the image grid;
# a segment's properties (photutils SourceCatalog) hold several copies of its bounding box.
BUILD_BYTES_PER_PIXEL = 16
REPROJECT_BYTES_PER_PIXEL = 32
PROPERTIES_BYTES_PER_PIXEL = 64


@dataclass
class SegmentationMap:
    """Labels on the grid of one image (int32, ``labels[y, x]``)."""

    labels: np.ndarray
    reprojected: bool
    max_label: int
    n_labels: int
    _slices: list[Any] | None = field(default=None, repr=False)

    def slices(self) -> list[Any]:
        if self._slices is None:
            self._slices = ndimage.find_objects(self.labels)
        return self._slices

    def label_at(self, x: float, y: float) -> int:
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        if not (0 <= ix < self.labels.shape[1] and 0 <= iy < self.labels.shape[0]):
            return 0
        return int(self.labels[iy, ix])

    def bbox(self, label: int) -> tuple[slice, slice]:
        found = self.slices()[label - 1] if 0 < label <= self.max_label else None
        if found is None:
            raise InvalidParameter(f"label {label} is not in the segmentation map")
        return found[0], found[1]


def _same_grid(image: FitsImage, seg: FitsImage) -> bool:
    if (image.height, image.width) != (seg.height, seg.width):
        return False
    if not (image.wcs.has_celestial and seg.wcs.has_celestial):
        return True  # a map without WCS on an image of its own size: the same pixels
    h, w = image.height, image.width
    x = np.array([0.0, w - 1.0, 0.0, w - 1.0, w / 2])
    y = np.array([0.0, 0.0, h - 1.0, h - 1.0, h / 2])
    ra, dec = image.wcs.pixel_to_world(x, y)
    sx, sy = seg.wcs.world_to_pixel(ra, dec)
    return bool(np.all(np.hypot(sx - x, sy - y) < 0.01))


def build_map(image: FitsImage, seg: FitsImage, seg_name: str) -> SegmentationMap:
    """The labels of ``seg`` on the grid of ``image`` (checked, reprojected when needed)."""
    if seg.planes > 1:
        raise NotASegmentationMap(f"{seg_name}: a segmentation map is a 2-D image (this one has {seg.planes} planes)")
    if seg.width * seg.height > MAX_PIXELS:
        raise InvalidParameter(f"{seg_name}: segmentation maps up to {MAX_PIXELS:,} pixels are supported")
    labels = labels_from_values(seg.plane(0).full(), seg_name)
    reprojected = not _same_grid(image, seg)
    if reprojected:
        if not (image.wcs.has_celestial and seg.wcs.has_celestial):
            raise InvalidParameter(
                f"{seg_name} is {seg.width}x{seg.height} and the image {image.width}x{image.height}: "
                "reprojecting needs a celestial WCS in both"
            )
        if image.width * image.height > REPROJECT_MAX_PIXELS:
            raise InvalidParameter(f"reprojection onto images up to {REPROJECT_MAX_PIXELS:,} pixels is supported")
        assert image.wcs.wcs is not None and seg.wcs.wcs is not None
        target = image.wcs.wcs.celestial
        labels = reproject_labels(labels, seg.wcs.wcs.celestial, target, (image.height, image.width))
    present = np.unique(labels)
    return SegmentationMap(labels, reprojected, int(labels.max(initial=0)), int((present > 0).sum()))


class SegmentationStore:
    """Label maps per (image, segmentation file) version, LRU; properties and catalog links."""

    def __init__(self, catalogs: CatalogStore, budget: MemoryBudget | None = None) -> None:
        self.catalogs = catalogs
        self._maps: OrderedDict[tuple[Any, ...], SegmentationMap] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[Any, ...], threading.Lock] = {}
        self.budget = budget or MemoryBudget(0)
        self.budget.register("segmentation", self.nbytes, self._evict_one)

    def nbytes(self) -> int:
        """Memory held by the kept label maps."""
        with self._lock:
            return sum(m.labels.nbytes for m in self._maps.values())

    def _evict_one(self) -> int:
        """Drop the least recently used map (never the most recent); bytes freed."""
        with self._lock:
            if len(self._maps) <= 1:
                return 0
            return int(self._maps.popitem(last=False)[1].labels.nbytes)

    @staticmethod
    def build_bytes(image: FitsImage, seg: FitsImage) -> int:
        """Working memory of :func:`build_map` (a reprojection counted whatever the grids)."""
        own = array_bytes((seg.height, seg.width), np.uint8, BUILD_BYTES_PER_PIXEL)
        if (image.height, image.width) == (seg.height, seg.width):
            return own
        return own + array_bytes((image.height, image.width), np.uint8, REPROJECT_BYTES_PER_PIXEL)

    def get(self, image: FitsImage, seg: FitsImage, seg_name: str) -> SegmentationMap:
        key = (*_version(image), *_version(seg))
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
                return found
            lock = self._building.setdefault(key, threading.Lock())
        with lock:  # one build per map even with concurrent first requests
            with self._lock:
                found = self._maps.get(key)
            if found is None:
                with self.budget.reserve(self.build_bytes(image, seg), f"opening the segmentation map {seg_name}"):
                    found = build_map(image, seg, seg_name)
                with self._lock:
                    self._maps[key] = found
                    while len(self._maps) > KEPT:
                        self._maps.popitem(last=False)
                    self._building.pop(key, None)
        return found

    def properties(
        self,
        image: FitsImage,
        plane: int,
        segmap: SegmentationMap,
        label: int,
        *,
        catalog: str | None = None,
        ra_col: str | None = None,
        dec_col: str | None = None,
    ) -> dict[str, Any]:
        """SourceCatalog properties of ``label`` over ``image``'s plane, its sky position and colour,
        and the rows of ``catalog`` whose positions fall on the segment."""
        rows_slice, cols_slice = segmap.bbox(label)
        y0, y1, x0, x1 = rows_slice.start, rows_slice.stop, cols_slice.start, cols_slice.stop
        wcs = image.wcs
        area_sr = wcs.pixel_area_sr() if wcs.has_celestial else None
        factor, unit = flux_unit(image.bunit, area_sr, image.header)
        work = array_bytes((y1 - y0, x1 - x0), np.uint8, PROPERTIES_BYTES_PER_PIXEL)
        with self.budget.reserve(work, f"the properties of segment {label}"):
            data = image.plane(plane).read(y0, y1, x0, x1)
            props = segment_properties(
                data, segmap.labels[y0:y1, x0:x1], label, offset=(x0, y0), pixel_area_sr=area_sr, flux_factor=factor
            )
        props["flux_unit"] = unit
        props["color"] = color_hex(label)
        props["ra_deg"] = props["dec_deg"] = None
        if wcs.has_celestial and props["x_centroid"] is not None:
            ra, dec = wcs.pixel_to_world([props["x_centroid"]], [props["y_centroid"]], plane)
            props["ra_deg"], props["dec_deg"] = float(ra[0]), float(dec[0])
        props["catalog"] = catalog
        props["rows"] = [] if catalog is None else self.rows_in(image, plane, segmap, label, catalog, ra_col, dec_col)
        return props

    def rows_in(
        self,
        image: FitsImage,
        plane: int,
        segmap: SegmentationMap,
        label: int,
        catalog: str,
        ra_col: str | None,
        dec_col: str | None,
    ) -> list[int]:
        """0-based rows of ``catalog`` whose sky position projects onto a pixel of segment ``label``."""
        wcs = image.wcs
        if not wcs.has_celestial:
            raise InvalidParameter("linking a segment to catalog rows needs an image with a celestial WCS")
        ra, dec = self.catalogs.radec(catalog, ra_col, dec_col)
        rows_slice, cols_slice = segmap.bbox(label)
        # only rows near the segment are projected: a cone around the bounding box's centre
        cx = (cols_slice.start + cols_slice.stop - 1) / 2
        cy = (rows_slice.start + rows_slice.stop - 1) / 2
        half = np.hypot(cols_slice.stop - cols_slice.start, rows_slice.stop - rows_slice.start)
        c_ra, c_dec = wcs.pixel_to_world([cx], [cy], plane)
        radius = (half + 2) * wcs.pixel_scale_arcsec() * 1.5
        near = np.isfinite(ra) & np.isfinite(dec)
        near[near] = vector_separation_arcsec(unit_vectors(ra[near], dec[near]), unit_vectors(c_ra, c_dec)) < radius
        index = np.flatnonzero(near)
        if index.size == 0:
            return []
        x, y = wcs.world_to_pixel(ra[index], dec[index], plane)
        ok = np.isfinite(x) & np.isfinite(y)
        ix = np.floor(np.where(ok, x, -1) + 0.5).astype(np.int64)
        iy = np.floor(np.where(ok, y, -1) + 0.5).astype(np.int64)
        h, w = segmap.labels.shape
        ok &= (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        hit = np.zeros(index.size, bool)
        hit[ok] = segmap.labels[iy[ok], ix[ok]] == label
        return [int(r) for r in index[hit]]


def render_png(segmap: SegmentationMap, window: tuple[float, float, float, float], size: tuple[int, int],
               *, outline: bool, selected: int | None) -> bytes:  # fmt: skip
    """PNG (RGBA) of the map over the image window (x0, y0, x1, y1) at ``size`` (width, height)."""
    import io

    from PIL import Image

    grid = sample_window(segmap.labels, *window, *size)
    buffer = io.BytesIO()
    Image.fromarray(render_labels(grid, outline=outline, selected=selected), "RGBA").save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()


def _version(image: FitsImage) -> tuple[Path, int, int, int]:
    stat = image.path.stat()
    return image.path, image.hdu_index, stat.st_mtime_ns, stat.st_size
