"""Channel maps: a grid of planes around a chosen spectral value with one colour scale, drawn
with matplotlib WCSAxes (RA/Dec ticks on the outer panels) and one colorbar in BUNIT.

Planes larger than ``PANEL_PIXELS_MAX`` on a side are read with a stride (every k-th pixel, the
celestial WCS sliced the same way), so a grid of a 4k x 4k cube stays quick.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from neloura.core.cubes import SpectralAxis, require_cube
from neloura.core.fitsio import FitsImage
from neloura.core.limits import percentile_limits
from neloura.errors import InvalidParameter

PANEL_PIXELS_MAX = 512
FIGURE_FORMATS = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}


@dataclass(frozen=True)
class ChannelGrid:
    planes: list[int]
    vmin: float
    vmax: float


def grid_planes(axis: SpectralAxis, centre: float | None, count: int, step: int) -> list[int]:
    """``count`` planes ``step`` apart, centred on the plane nearest ``centre`` (default: the
    middle plane), clipped to the cube."""
    n = len(axis.values)
    if not 1 <= count <= 64 or step < 1:
        raise InvalidParameter("count must be 1..64 and step >= 1")
    middle = n // 2 if centre is None else int(np.nanargmin(np.abs(axis.values - centre)))
    half = float(np.nanmax(np.abs(np.diff(axis.values)))) / 2 if n > 1 else 0.0  # a typed value rounds
    if centre is not None and not (np.nanmin(axis.values) - half <= centre <= np.nanmax(axis.values) + half):
        raise InvalidParameter(f"{centre:g} {axis.unit} lies outside the cube")
    first = middle - (count // 2) * step
    first = min(max(0, first), max(0, n - 1 - (count - 1) * step))
    return [p for p in range(first, first + count * step, step) if 0 <= p < n]


def channel_maps(
    image: FitsImage,
    axis: SpectralAxis,
    planes: list[int],
    *,
    cmap: str = "inferno",
    vmin: float | None = None,
    vmax: float | None = None,
    fmt: str = "png",
    dpi: int = 110,
) -> bytes:
    """The figure as PNG, PDF or SVG bytes; one colour scale (the 0.5/99.5 percentiles of all
    panels unless ``vmin``/``vmax`` are given)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    require_cube(image)
    if fmt not in FIGURE_FORMATS:
        raise InvalidParameter(f"format must be one of {', '.join(FIGURE_FORMATS)}")
    if cmap not in colormaps:
        raise InvalidParameter(f"unknown colormap {cmap!r}")
    step = max(1, math.ceil(max(image.width, image.height) / PANEL_PIXELS_MAX))
    every = (slice(None, None, step), slice(None, None, step))  # strided read: no full plane for a big cube
    panels = [image.read_index((*image.plane(p).prefix, *every)) for p in planes]
    if vmin is None or vmax is None:
        stacked = np.concatenate([p[np.isfinite(p)] for p in panels]) if panels else np.empty(0)
        lo, hi = percentile_limits(stacked, 0.5, 99.5)
        vmin, vmax = (lo if vmin is None else vmin), (hi if vmax is None else vmax)
    if not vmin < vmax:
        raise InvalidParameter("vmin must be below vmax")
    wcs = image.wcs.wcs.celestial[::step, ::step] if image.wcs.has_celestial and image.wcs.wcs is not None else None
    ncols = math.ceil(math.sqrt(len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(2.6 * ncols + 1.0, 2.6 * nrows + 0.4), dpi=dpi, layout="constrained")
    shown = None
    for i, (plane, data) in enumerate(zip(planes, panels, strict=True)):
        ax = (
            fig.add_subplot(nrows, ncols, i + 1, projection=wcs)
            if wcs is not None
            else fig.add_subplot(nrows, ncols, i + 1)
        )
        shown = ax.imshow(data, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        value = axis.values[plane]
        label = f"{value:.6g} {axis.unit}" if axis.kind != "pixel" else f"plane {plane}"
        ax.text(
            0.04,
            0.94,
            label,
            transform=ax.transAxes,
            color="white",
            fontsize=8,
            va="top",
            bbox={"facecolor": "black", "alpha": 0.5, "pad": 1.5, "edgecolor": "none"},
        )
        _axis_labels(ax, wcs is not None, i, ncols, nrows, len(panels))
    if shown is not None:
        fig.colorbar(shown, ax=fig.axes, shrink=0.9, label=image.bunit or "value")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    return buffer.getvalue()


def _axis_labels(ax: object, sky: bool, i: int, ncols: int, nrows: int, total: int) -> None:
    """Tick labels only on the left column and bottom row, so the grid stays readable."""
    left, bottom = i % ncols == 0, i >= total - ncols
    if sky:
        coords = ax.coords  # type: ignore[attr-defined]
        coords[0].set_ticklabel_visible(bottom)
        coords[1].set_ticklabel_visible(left)
        coords[0].set_axislabel("RA" if bottom else "")
        coords[1].set_axislabel("Dec" if left else "")
        coords[0].set_ticklabel(size=6)
        coords[1].set_ticklabel(size=6)
    else:
        ax.tick_params(labelbottom=bottom, labelleft=left, labelsize=6)  # type: ignore[attr-defined]
