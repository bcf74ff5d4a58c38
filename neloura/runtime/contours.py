"""Contours of an open image plane, traced on a block-mean level when the plane is large, and
drawn on the same image or on another one (vertices carried through both full WCSs).

The levels in sigma units use the plane's sample: sigma-clipped median and standard deviation of
the image's own pixels (before any smoothing). Lines come back in 0-based pixels of the image
they are drawn on (``on``, default the source itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.stats import sigma_clipped_stats

from neloura.core.contours import Lines, contour_levels, ds9_regions, smooth, trace
from neloura.core.fitsio import FitsImage
from neloura.errors import InvalidParameter
from neloura.runtime.images import ImageStore
from neloura.runtime.levels import LevelStore
from neloura.runtime.memory import array_bytes


@dataclass(frozen=True)
class PlaneName:
    path: str
    hdu: int
    plane: int = 0


@dataclass(frozen=True)
class ContourSpec:
    levels: list[float] | None = None
    n_levels: int | None = None
    vmin: float | None = None
    vmax: float | None = None
    spacing: str = "linear"
    sigma_levels: list[float] | None = None
    smooth_px: float = 0.0
    max_size: int = 2048
    max_points: int = 400_000


# Peak bytes per traced pixel: the plane (float32), its smoothed copy and the tracer's work (float64)
WORK_BYTES_PER_PIXEL = 24


def _factor(image: FitsImage, max_size: int) -> int:
    """The smallest power of 2 that brings the image under ``max_size`` pixels a side."""
    factor = 1
    while max(image.width, image.height) / factor > max_size:
        factor *= 2
    return factor


def _values(images: ImageStore, levels: LevelStore, src: PlaneName, max_size: int) -> tuple[np.ndarray, int]:
    """The plane in FITS order, block averaged by :func:`_factor` (the viewer's own cached
    levels), and that factor."""
    image = images.get(src.path, src.hdu)
    plane = image.plane(src.plane)
    factor = _factor(image, max_size)
    if factor == 1:
        return plane.full(), 1
    key = images.plane_key(src.path, src.hdu, src.plane)
    return np.asarray(levels.level(key, plane, factor))[::-1], factor


def _to_full(lines: Lines, factor: int, height: int, level_height: int) -> Lines:
    """Level pixels (FITS order) -> full-resolution pixels: a level pixel is the mean of a block of
    display rows starting at the top of the image, so its centre sits at these coordinates."""
    if factor == 1:
        return lines
    half = (factor - 1) / 2
    out: Lines = []
    for level, paths in lines:
        moved = []
        for p in paths:
            x = p[:, 0] * factor + half
            display_row = (level_height - 1 - p[:, 1]) * factor + half
            moved.append(np.column_stack([x, height - 1 - display_row]))
        out.append((level, moved))
    return out


def _sky(image: FitsImage, plane: int, lines: Lines) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    return [[image.wcs.pixel_to_world(p[:, 0], p[:, 1], plane) for p in paths] for _, paths in lines]


def contours(
    images: ImageStore, levels: LevelStore, src: PlaneName, spec: ContourSpec, on: PlaneName | None = None
) -> dict[str, Any]:
    """Contour lines of ``src`` in the pixels of ``on`` (default ``src``) and what made them
    (the traced plane's memory reserved from the server's budget first: 507 when it cannot fit)."""
    image = images.get(src.path, src.hdu)
    factor = _factor(image, spec.max_size)
    shape = (-(-image.height // factor), -(-image.width // factor))
    with images.budget.reserve(array_bytes(shape, np.uint8, WORK_BYTES_PER_PIXEL), f"contours of {image.path.name}"):
        return _contours(images, levels, image, src, spec, on)


def _contours(
    images: ImageStore, levels: LevelStore, image: FitsImage, src: PlaneName, spec: ContourSpec, on: PlaneName | None
) -> dict[str, Any]:
    values, factor = _values(images, levels, src, spec.max_size)
    median, _, sigma = sigma_clipped_stats(images.sample(src.path, src.hdu, src.plane), sigma=3.0, maxiters=5)
    vmin, vmax = spec.vmin, spec.vmax
    if spec.n_levels is not None and (vmin is None or vmax is None):
        lo, hi = images.default_limits(src.path, src.hdu, src.plane)
        vmin, vmax = (lo if vmin is None else vmin), (hi if vmax is None else vmax)
    chosen = contour_levels(
        levels=spec.levels, n_levels=spec.n_levels, vmin=vmin, vmax=vmax, spacing=spec.spacing,
        sigma_levels=spec.sigma_levels, median=float(median), sigma=float(sigma),
    )  # fmt: skip
    smoothed = smooth(values, spec.smooth_px / factor)
    traced, truncated = trace(smoothed, chosen.tolist(), spec.max_points)
    lines = _to_full(traced, factor, image.height, values.shape[0])
    sky = _sky(image, src.plane, lines) if image.wcs.has_celestial else None
    target = on or src
    if target != src:
        other = images.get(target.path, target.hdu)
        other.plane(target.plane)
        if sky is None or not other.wcs.has_celestial:
            if (other.width, other.height) != (image.width, image.height):
                raise InvalidParameter("contours of another image need a celestial WCS in both (or the same shape)")
        else:
            moved: Lines = []
            for (level, _), positions in zip(lines, sky, strict=True):
                paths = [np.column_stack(other.wcs.world_to_pixel(ra, dec, target.plane)) for ra, dec in positions]
                moved.append((level, paths))
            lines = moved
    return {
        "levels": [float(v) for v in chosen],
        "unit": image.bunit,
        "median": float(median),
        "sigma": float(sigma),
        "factor": factor,
        "truncated": truncated,
        "n_points": sum(len(p) for _, paths in lines for p in paths),
        "on": {"path": target.path, "hdu": target.hdu, "plane": target.plane},
        "lines": lines,
        "sky": sky,
    }


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    """Lines as flat ``[x0, y0, x1, y1, ...]`` lists (NaN vertices, off the target's sky, as null)."""
    out = {k: v for k, v in result.items() if k not in ("lines", "sky")}
    out["contours"] = [
        {
            "level": level,
            "paths": [[None if not np.isfinite(v) else round(float(v), 3) for v in p.ravel()] for p in paths],
        }
        for level, paths in result["lines"]
    ]
    return out


def to_ds9(result: dict[str, Any], color: str) -> str:
    """The DS9 region file: sky polygons when the source has a celestial WCS, else image polygons."""
    return ds9_regions(result["lines"], ra_dec=result["sky"], color=color)
