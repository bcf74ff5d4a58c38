"""Contours of an image plane: levels (a list, a count between limits, or sigma units), optional
NaN-aware Gaussian smoothing, contour lines traced by ``contourpy`` (matplotlib's contouring
library), and DS9 region files of the contour polygons through the ``regions`` package.

Pixel convention: 0-based, ``data[y, x]``, pixel centres at integers. Lines come back as (n, 2)
arrays of ``(x, y)`` in the pixels of the array they were traced on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

from neloura.errors import InvalidParameter

MAX_LEVELS = 50
SPACINGS = ("linear", "log", "sqrt")
Lines = list[tuple[float, list[np.ndarray]]]


def contour_levels(
    *,
    levels: Sequence[float] | None = None,
    n_levels: int | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    spacing: str = "linear",
    sigma_levels: Sequence[float] | None = None,
    median: float = 0.0,
    sigma: float = 1.0,
) -> np.ndarray:
    """Sorted unique levels from exactly one of: ``levels`` (physical values), ``n_levels`` between
    ``vmin`` and ``vmax`` (both included; ``linear``, ``log`` or ``sqrt`` spacing) or
    ``sigma_levels`` (``median + k * sigma`` for each ``k``)."""
    given = [levels is not None, n_levels is not None, sigma_levels is not None]
    if sum(given) != 1:
        raise InvalidParameter("give exactly one of levels, n_levels (with vmin/vmax) or sigma_levels")
    if levels is not None:
        out = np.asarray(levels, dtype=np.float64)
    elif sigma_levels is not None:
        if not (np.isfinite(sigma) and sigma > 0):
            raise InvalidParameter("the image's noise (sigma) is not a positive number: give levels instead")
        out = median + np.asarray(sigma_levels, dtype=np.float64) * sigma
    else:
        assert n_levels is not None
        if not 1 <= n_levels <= MAX_LEVELS:
            raise InvalidParameter(f"n_levels must be 1..{MAX_LEVELS}, got {n_levels}")
        if vmin is None or vmax is None or not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
            raise InvalidParameter("n_levels needs finite limits vmin < vmax")
        if spacing not in SPACINGS:
            raise InvalidParameter(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")
        t = np.linspace(0.0, 1.0, n_levels) if n_levels > 1 else np.array([0.5])
        if spacing == "log":
            t = (10.0 ** (3 * t) - 1) / 999.0  # log-spaced steps, dense at the low end
        elif spacing == "sqrt":
            t = t**2
        out = vmin + t * (vmax - vmin)
    if out.size == 0 or out.size > MAX_LEVELS or not np.isfinite(out).all():
        raise InvalidParameter(f"give 1 to {MAX_LEVELS} finite levels")
    return np.unique(out)


def smooth(values: np.ndarray, sigma_px: float) -> np.ndarray:
    """NaN-aware Gaussian smoothing (``sigma_px`` pixels): blanks neither spread nor darken their
    surroundings (the filtered values are divided by the filtered weights); blanks stay blank."""
    if sigma_px <= 0:
        return np.asarray(values, dtype=np.float32)
    if sigma_px > 100:
        raise InvalidParameter(f"smoothing must be at most 100 pixels, got {sigma_px}")
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0).astype(np.float32)
    num = gaussian_filter(filled, sigma_px, mode="nearest")
    den = gaussian_filter(finite.astype(np.float32), sigma_px, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~finite] = np.nan
    return out.astype(np.float32)


def trace(values: np.ndarray, levels: Sequence[float], max_points: int = 400_000) -> tuple[Lines, bool]:
    """Contour lines of ``values`` at each level (blank pixels masked). Returns the lines per level
    and whether ``max_points`` cut them short (the longest lines are kept first)."""
    import contourpy

    z = np.ma.masked_invalid(np.asarray(values, dtype=np.float64))
    generator = contourpy.contour_generator(z=z, line_type=contourpy.LineType.Separate)
    out: Lines = []
    total, truncated = 0, False
    for level in levels:
        lines = sorted((np.asarray(a) for a in generator.lines(float(level)) if len(a) >= 2), key=len, reverse=True)
        kept = []
        for line in lines:
            if total + len(line) > max_points:
                truncated = True
                break
            kept.append(line)
            total += len(line)
        out.append((float(level), kept))
    return out, truncated


def ds9_regions(
    lines: Lines, *, ra_dec: list[list[tuple[np.ndarray, np.ndarray]]] | None = None, color: str = "green"
) -> str:
    """A DS9 region file with one polygon per contour line: sky polygons (ICRS degrees) when
    ``ra_dec`` gives each line's positions, else image polygons (the file is 1-based, as DS9 wants)."""
    from astropy.coordinates import SkyCoord
    from regions import PixCoord, PolygonPixelRegion, PolygonSkyRegion, Regions, RegionVisual

    shapes = []
    for i, (level, paths) in enumerate(lines):
        for j, path in enumerate(paths):
            if len(path) < 3:
                continue
            visual = RegionVisual(color=color)
            meta = {"tag": [f"level={level:.6g}"]}
            if ra_dec is not None:
                ra, dec = ra_dec[i][j]
                ok = np.isfinite(ra) & np.isfinite(dec)
                if ok.sum() < 3:
                    continue
                vertices = SkyCoord(ra[ok], dec[ok], unit="deg", frame="icrs")
                shapes.append(PolygonSkyRegion(vertices=vertices, visual=visual, meta=meta))
            else:
                shapes.append(PolygonPixelRegion(PixCoord(path[:, 0], path[:, 1]), visual=visual, meta=meta))
    text = Regions(shapes).serialize(format="ds9", precision=8) if shapes else "# Region file format: DS9\n"
    levels = ", ".join(f"{level:.6g}" for level, _ in lines)
    head, _, rest = text.partition("\n")
    return f"{head}\n# Neloura contours, levels: {levels}\n{rest}"
