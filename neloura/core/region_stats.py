"""Statistics, histogram, radial profile and cutout of regions, from full-resolution pixels.

Membership follows DS9: a pixel belongs to a region when its centre is inside
(``regions``' ``to_mask(mode="center")``); NaN/blank pixels are left out of every statistic.
``flux`` sums the physical values weighted by the exact sub-pixel overlap
(``mode="exact"``), times the factor of :func:`neloura.core.photometry.flux_unit` (µJy when the header
calibrates, the one conversion path of the package). An annulus also gives the
background-subtracted flux of its inner disk: ``net_flux = (sum_exact(inner disk) -
median(annulus) * exact area(inner disk)) * factor`` (the annulus median per pixel, centre rule).

Pixel values are read window by window through a ``read(y0, y1, x0, x1)`` callable returning
physical float values (``ImagePlane.read``), so only each region's bounding box is read.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from regions import CirclePixelRegion, PixCoord, RegionMask

from neloura.core.regions import AREA_SHAPES, PixelShape, to_region
from neloura.errors import InvalidParameter

Reader = Callable[[int, int, int, int], np.ndarray]
MAX_STATS_PIXELS = 400_000_000  # bounding-box pixels summed over one request


@dataclass(frozen=True)
class Pixels:
    """The physical values of one mask's overlap with the image, and the mask's weights there."""

    values: np.ndarray
    weights: np.ndarray


def mask_pixels(mask: RegionMask, read: Reader, width: int, height: int) -> Pixels | None:
    """Values and weights of the part of ``mask`` on a ``width`` x ``height`` image (None: off)."""
    slices = mask.get_overlap_slices((height, width))
    large, small = slices
    if large is None or small is None:
        return None
    ys, xs = large
    values = read(ys.start, ys.stop, xs.start, xs.stop)
    return Pixels(values, np.asarray(mask.data[small], dtype=np.float64))


def exact_mask(shape: PixelShape) -> RegionMask:
    """Exact sub-pixel overlap mask; annuli (compound regions, which ``regions`` masks only by
    pixel centre) as the outer shape's exact mask minus the inner one's."""
    if shape.shape not in ("annulus", "ellipse_annulus", "box_annulus"):
        return to_region(shape).to_mask(mode="exact")
    half = len(shape.sizes) // 2
    kind = {"annulus": "circle", "ellipse_annulus": "ellipse", "box_annulus": "box"}[shape.shape]
    inner_shape = PixelShape(kind, shape.points, shape.sizes[:half], shape.angle_deg)
    outer_shape = PixelShape(kind, shape.points, shape.sizes[half:], shape.angle_deg)
    outer = to_region(outer_shape).to_mask(mode="exact")
    inner = to_region(inner_shape).to_mask(mode="exact")
    data = np.array(outer.data, dtype=np.float64)
    dy, dx = inner.bbox.iymin - outer.bbox.iymin, inner.bbox.ixmin - outer.bbox.ixmin
    ny, nx = inner.data.shape
    data[dy : dy + ny, dx : dx + nx] -= inner.data
    return RegionMask(np.clip(data, 0.0, 1.0), bbox=outer.bbox)


def _finite_members(pixels: Pixels | None) -> np.ndarray:
    if pixels is None:
        return np.empty(0)
    v = pixels.values[pixels.weights > 0]
    return v[np.isfinite(v)].astype(np.float64)


def _exact_sum(pixels: Pixels | None) -> tuple[float, float]:
    """(sum of value * overlap, overlap area) over finite pixels."""
    if pixels is None:
        return 0.0, 0.0
    ok = np.isfinite(pixels.values) & (pixels.weights > 0)
    return float(np.sum(pixels.values[ok] * pixels.weights[ok])), float(np.sum(pixels.weights[ok]))


def _summary(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return dict.fromkeys(("sum", "mean", "median", "std", "min", "max"))
    return {
        "sum": float(values.sum()),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def region_stats(
    shape: PixelShape,
    read: Reader,
    width: int,
    height: int,
    *,
    factor: float,
    flux_unit: str,
    pixel_area_arcsec2: float | None,
) -> dict[str, Any]:
    """The statistics of one region (keys of ``POST /api/regions/stats``)."""
    out: dict[str, Any] = {"shape": shape.shape, "include": shape.include, "line": shape.line}
    if shape.shape not in AREA_SHAPES and shape.shape != "point":
        out.update(npix=0, area_px=0.0, area_arcsec2=None, flux=None, flux_unit=flux_unit, **_summary(np.empty(0)))
        return out
    if shape.shape == "point":
        col, row = math.floor(shape.points[0][0] + 0.5), math.floor(shape.points[0][1] + 0.5)
        inside = 0 <= col < width and 0 <= row < height
        values = read(row, row + 1, col, col + 1).ravel().astype(np.float64) if inside else np.empty(0)
        values = values[np.isfinite(values)]
        out.update(npix=int(values.size), area_px=float(values.size), **_summary(values))
        out["area_arcsec2"] = None if pixel_area_arcsec2 is None else values.size * pixel_area_arcsec2
        out.update(flux=None if not values.size else float(values.sum()) * factor, flux_unit=flux_unit)
        return out
    region = to_region(shape)
    members = _finite_members(mask_pixels(region.to_mask(mode="center"), read, width, height))
    flux_sum, area = _exact_sum(mask_pixels(exact_mask(shape), read, width, height))
    out.update(npix=int(members.size), area_px=area, **_summary(members))
    out["area_arcsec2"] = None if pixel_area_arcsec2 is None else area * pixel_area_arcsec2
    out.update(flux=flux_sum * factor if area > 0 else None, flux_unit=flux_unit)
    if shape.shape == "annulus":
        out.update(_annulus_net(shape, members, read, width, height, factor))
    return out


def _annulus_net(
    shape: PixelShape, ring: np.ndarray, read: Reader, width: int, height: int, factor: float
) -> dict[str, Any]:
    disk = CirclePixelRegion(PixCoord(*shape.points[0]), shape.sizes[0])
    inner_sum, inner_area = _exact_sum(mask_pixels(disk.to_mask(mode="exact"), read, width, height))
    background = float(np.median(ring)) if ring.size else None
    net = None if background is None or inner_area == 0 else (inner_sum - background * inner_area) * factor
    return {
        "background": background,
        "source_flux": inner_sum * factor if inner_area else None,
        "source_area_px": inner_area,
        "net_flux": net,
    }


MAX_STATS_REGIONS = 20_000
# Peak bytes per bounding-box pixel of one region's work: its centre and exact masks (float64),
# the pixels read twice (float32), weights and products (float64), boolean temporaries.
WORK_BYTES_PER_PIXEL = 64


def working_bytes(shapes: list[PixelShape]) -> int:
    """Peak memory of statistics, histogram, profile or cutout over ``shapes``: regions are
    worked one at a time, so the largest bounding box (masks are built over all of it, on the
    image or not) times :data:`WORK_BYTES_PER_PIXEL`."""
    largest = 0
    for s in shapes:
        if s.shape in AREA_SHAPES:
            box = to_region(s).bounding_box
            largest = max(largest, box.shape[0] * box.shape[1])
    return largest * WORK_BYTES_PER_PIXEL


def check_size(shapes: list[PixelShape], limit: int = MAX_STATS_PIXELS) -> None:
    """Refuse requests whose masks would be too large: bounding boxes adding up to more than
    ``limit`` pixels, or more than ``MAX_STATS_REGIONS`` regions (422). Masks are allocated per
    bounding box, so a hostile radius must be refused before any is built."""
    if len(shapes) > MAX_STATS_REGIONS:
        raise InvalidParameter(f"{len(shapes):,} regions: statistics of at most {MAX_STATS_REGIONS:,} per request")
    total = 0
    for s in shapes:
        if s.shape in AREA_SHAPES:
            box = to_region(s).bounding_box
            total += box.shape[0] * box.shape[1]
    if total > limit:
        raise InvalidParameter(f"the regions cover {total:,} pixels of bounding boxes; at most {limit:,} per request")


def member_values(shape: PixelShape, read: Reader, width: int, height: int) -> np.ndarray:
    """Finite physical values of the pixels whose centres are inside ``shape`` (float64)."""
    if shape.shape not in AREA_SHAPES:
        raise InvalidParameter(f"a {shape.shape} has no pixels inside (use an area shape)")
    return _finite_members(mask_pixels(to_region(shape).to_mask(mode="center"), read, width, height))


def histogram(values: np.ndarray, bins: int = 64) -> dict[str, Any]:
    """Counts over ``bins`` equal bins between the minimum and maximum value."""
    if values.size == 0:
        return {"counts": [], "edges": [], "n": 0}
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + (abs(lo) * 1e-6 or 1.0)
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return {"counts": counts.tolist(), "edges": edges.tolist(), "n": int(values.size)}


def radial_profile(shape: PixelShape, read: Reader, width: int, height: int, step_px: float = 1.0) -> dict[str, Any]:
    """Mean surface brightness in rings of ``step_px`` around a circle's or annulus' centre
    (photutils ``RadialProfile``, exact overlap, NaN pixels masked); from 0 (circle) or the
    inner radius (annulus) to the outer radius."""
    if shape.shape not in ("circle", "annulus"):
        raise InvalidParameter("a radial profile needs a circle or an annulus")
    if not step_px > 0:
        raise InvalidParameter("step_px must be positive")
    from photutils.profiles import RadialProfile

    (cx, cy), outer = shape.points[0], shape.sizes[-1]
    inner = shape.sizes[0] if shape.shape == "annulus" else 0.0
    n = math.ceil((outer - inner) / step_px)
    if n > 10_000:
        raise InvalidParameter("more than 10,000 rings: use a larger step_px")
    edges = inner + step_px * np.arange(n + 1)
    edges[-1] = min(edges[-1], outer)
    pad = math.ceil(outer) + 1
    x0, y0 = max(0, math.floor(cx) - pad), max(0, math.floor(cy) - pad)
    x1, y1 = min(width, math.floor(cx) + pad + 1), min(height, math.floor(cy) + pad + 1)
    if x0 >= x1 or y0 >= y1:
        return {"radius_px": [], "edges_px": edges.tolist(), "profile": [], "area_px": []}
    data = read(y0, y1, x0, x1).astype(np.float64)
    bad = ~np.isfinite(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rp = RadialProfile(np.where(bad, 0.0, data), (cx - x0, cy - y0), edges, mask=bad)
    profile = np.asarray(rp.profile, dtype=np.float64)
    return {
        "radius_px": np.asarray(rp.radius, dtype=np.float64).tolist(),
        "edges_px": edges.tolist(),
        "profile": [v if math.isfinite(v) else None for v in profile.tolist()],
        "area_px": np.asarray(rp.area, dtype=np.float64).tolist(),
    }


def cutout_hdus(shape: PixelShape, read: Reader, width: int, height: int, celestial_wcs: Any | None, bunit: str) -> Any:
    """A FITS HDU list: the region's bounding box (physical values, the image's WCS shifted to
    the cutout) and a ``MASK`` extension (1 where the pixel centre is inside, DS9's rule)."""
    from astropy.io import fits

    if shape.shape not in AREA_SHAPES:
        raise InvalidParameter(f"a {shape.shape} has no area to cut out")
    mask = to_region(shape).to_mask(mode="center")
    large, small = mask.get_overlap_slices((height, width))
    if large is None or small is None:
        raise InvalidParameter("the region does not overlap the image")
    ys, xs = large
    data = read(ys.start, ys.stop, xs.start, xs.stop).astype(np.float32)
    header = fits.Header()
    if celestial_wcs is not None:
        header.update(celestial_wcs.slice((ys, xs)).to_header(relax=True))
    if bunit:
        header["BUNIT"] = bunit
    header["LTV1"] = (-xs.start, "cutout origin: image x = cutout x - LTV1")
    header["LTV2"] = (-ys.start, "cutout origin: image y = cutout y - LTV2")
    primary = fits.PrimaryHDU(data, header=header)
    mask_hdu = fits.ImageHDU(np.asarray(mask.data[small] > 0, dtype=np.uint8), header=header.copy(), name="MASK")
    mask_hdu.header.pop("BUNIT", None)
    return fits.HDUList([primary, mask_hdu])
