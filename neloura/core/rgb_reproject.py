"""The reference grid of a composite and the reprojection of its channels onto it.

One channel is the reference: its own pixel grid and celestial WCS become the composite's
(default: the finest pixel scale). The others are reprojected onto that grid with the ``reproject``
package (``reproject_interp``, bilinear, by default; ``reproject_exact`` for flux-conserving work),
through each image's full astropy WCS (SIP and other distortions included). Output rows are done in
bands (a band's WCS is the reference WCS shifted by whole pixels, which is exact), so the
coordinate arrays stay small and progress can be reported. Pixels outside a channel's footprint
are NaN.

Images without a celestial WCS can only be combined pixel by pixel, when all have the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from neloura.errors import InvalidParameter

METHODS = ("interp", "exact")
BAND_PIXELS = 2_000_000  # output pixels reprojected per call (bounds reproject's coordinate arrays)
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    pass


@dataclass(frozen=True)
class ChannelGrid:
    """One channel's pixel grid: numpy ``shape`` (ny, nx) and its celestial WCS (None without one)."""

    shape: tuple[int, int]
    wcs: WCS | None

    @property
    def pixel_scale_arcsec(self) -> float | None:
        if self.wcs is None:
            return None
        return float(np.sqrt(np.abs(np.prod(proj_plane_pixel_scales(self.wcs))))) * 3600.0


def plan_mode(grids: list[ChannelGrid], names: list[str]) -> str:
    """``wcs`` when every channel has a celestial WCS, ``pixel`` when none or some lack one but all
    shapes agree; otherwise a 422 naming the channel without a WCS."""
    missing = [i for i, g in enumerate(grids) if g.wcs is None]
    if not missing:
        return "wcs"
    if len({g.shape for g in grids}) == 1:
        return "pixel"
    i = missing[0]
    raise InvalidParameter(
        f"channel {i} ({names[i]}) has no celestial WCS: channels can only be combined without one "
        f"pixel by pixel, and their shapes differ ({', '.join('x'.join(map(str, g.shape[::-1])) for g in grids)})"
    )


def choose_reference(grids: list[ChannelGrid], requested: int | None = None) -> int:
    """The reference channel: ``requested``, else the finest pixel scale (the first one on a tie;
    the largest image in pixel mode)."""
    if requested is not None:
        if not 0 <= requested < len(grids):
            raise InvalidParameter(f"reference must be a channel index 0..{len(grids) - 1}, got {requested}")
        return requested
    scales = [g.pixel_scale_arcsec for g in grids]
    if any(s is None for s in scales):
        return 0
    return int(np.argmin(np.asarray(scales, dtype=float)))


def _edge_grid(shape: tuple[int, int], n: int = 33) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    xs, ys = np.meshgrid(np.linspace(-0.5, nx - 0.5, n), np.linspace(-0.5, ny - 0.5, n))
    return xs.ravel(), ys.ravel()


def _lands_on(src: ChannelGrid, dst: ChannelGrid) -> bool:
    """Does any point of a grid over ``src`` fall on ``dst``?"""
    assert src.wcs is not None and dst.wcs is not None
    x, y = _edge_grid(src.shape)
    sky = src.wcs.pixel_to_world(x, y)
    with np.errstate(invalid="ignore"):
        u, v = dst.wcs.world_to_pixel(sky)
    ny, nx = dst.shape
    u, v = np.asarray(u, float), np.asarray(v, float)
    inside = np.isfinite(u) & np.isfinite(v) & (u >= -0.5) & (u <= nx - 0.5) & (v >= -0.5) & (v <= ny - 0.5)
    return bool(inside.any())


def check_overlap(grids: list[ChannelGrid], reference: int, names: list[str]) -> None:
    """422 when a channel's footprint does not touch the reference grid at all."""
    ref = grids[reference]
    for i, g in enumerate(grids):
        if i == reference or g.wcs is None or ref.wcs is None:
            continue
        if not (_lands_on(g, ref) or _lands_on(ref, g)):
            raise InvalidParameter(
                f"channel {i} ({names[i]}) does not overlap the reference channel {reference} "
                f"({names[reference]}) on the sky"
            )


def reproject_channel(
    data: np.ndarray,
    wcs_in: WCS,
    wcs_out: WCS,
    out: np.ndarray,
    method: str = "interp",
    *,
    progress: Progress = _no_progress,
) -> None:
    """Reproject ``data`` (numpy order, 0-based pixels) onto the grid of ``wcs_out``, writing into
    ``out`` (float32, the reference shape; may be a memory map) band by band."""
    from reproject import reproject_exact, reproject_interp  # heavy import, only in builds

    if method not in METHODS:
        raise InvalidParameter(f"unknown reprojection method {method!r}; use interp or exact")
    ny, nx = out.shape
    rows = max(1, BAND_PIXELS // max(nx, 1))
    for y0 in range(0, ny, rows):
        y1 = min(ny, y0 + rows)
        band_wcs = wcs_out.slice((slice(y0, y1), slice(None)))
        if method == "interp":
            reproject_interp((data, wcs_in), band_wcs, shape_out=(y1 - y0, nx), output_array=out[y0:y1],
                             return_footprint=False)  # fmt: skip
        else:
            reproject_exact((data, wcs_in), band_wcs, shape_out=(y1 - y0, nx), output_array=out[y0:y1],
                            return_footprint=False)  # fmt: skip
        progress(y1 / ny, f"reprojecting rows {y1}/{ny}")
