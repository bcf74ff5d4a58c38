"""Publication figures with matplotlib WCSAxes: the image with the viewer's stretch, limits and
colormap, a sky grid and labels in a chosen frame, a colorbar in physical units, a scale bar
(arcsec, and kpc at a given distance), a compass (N and E from the WCS), catalog markers,
contours and a title; PDF, SVG or PNG at a chosen size and DPI.

The image is drawn in the pixel frame of the *full* WCS (``imshow`` with an ``extent`` over the
region, block-averaged when the region has more pixels than the figure), so world coordinates
of the grid, markers and compass come from astropy's full WCS. Pixel convention: 0-based.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS

from neloura.core.figure_views import ScreenView, ViewWCS
from neloura.core.sed import check_figure_size
from neloura.core.stretch import check_stretch, normalised_grid, stretch_values
from neloura.errors import InvalidParameter

FORMATS = ("pdf", "svg", "png")
_OUTLINE: list[object] = []  # filled on first use (matplotlib imported lazily)
# labels sit on a dark box (path effects would turn PDF text into outlines, unsearchable)
_BOX = {"facecolor": "black", "alpha": 0.45, "edgecolor": "none", "pad": 1.5}
FRAMES = {"icrs": "icrs", "fk5": "fk5", "fk4": "fk4", "galactic": "galactic", "ecliptic": "barycentricmeanecliptic"}
_NICE_ARCSEC = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 18000, 36000)


@dataclass
class FigureOptions:
    """Everything a figure shows. ``region`` is (x0, y0, x1, y1), 0-based pixel bounds."""

    fmt: str = "pdf"
    width_in: float = 10.0
    height_in: float = 10.0
    dpi: float = 150.0
    frame: str = "icrs"
    title: str = ""
    stretch: str = "linear"
    exponent: float | None = None
    vmin: float = 0.0
    vmax: float = 1.0
    cmap: str = "gray"
    invert: bool = False
    unit: str = ""
    grid: bool = True
    colorbar: bool = True
    compass: bool = True
    scalebar_arcsec: float | None = None  # None: a round length near a fifth of the width; 0: none
    distance_mpc: float | None = None
    marker_ra: list[float] = field(default_factory=list)
    marker_dec: list[float] = field(default_factory=list)
    marker_color: str = "#00e5ff"
    marker_size_px: float = 10.0
    contour_levels: list[float] = field(default_factory=list)
    contour_color: str = "#ffcc00"

    def check(self) -> None:
        if self.fmt not in FORMATS:
            raise InvalidParameter(f"format must be one of {', '.join(FORMATS)}")
        if self.frame not in FRAMES:
            raise InvalidParameter(f"frame must be one of {', '.join(FRAMES)}")
        check_figure_size(self.width_in, self.height_in, self.dpi)
        check_stretch(self.stretch, self.exponent)
        if not (math.isfinite(self.vmin) and math.isfinite(self.vmax) and self.vmax > self.vmin):
            raise InvalidParameter("vmin must be smaller than vmax")


def stretch_norm(options: FigureOptions, sample: np.ndarray | None) -> object:
    """A matplotlib norm applying the viewer's stretch between vmin and vmax (so the colorbar
    shows physical values where the tiles show colours)."""
    from matplotlib.colors import FuncNorm

    grid = normalised_grid()
    limits = (options.vmin, options.vmax)
    table = stretch_values(options.stretch, grid, options.exponent, sample=sample, limits=limits)
    table = np.maximum.accumulate(table) + grid * 1e-12  # strictly increasing for the inverse
    span = options.vmax - options.vmin

    def forward(values: np.ndarray) -> np.ndarray:
        return np.interp((np.asarray(values, dtype=np.float64) - options.vmin) / span, grid, table)

    def inverse(values: np.ndarray) -> np.ndarray:
        return options.vmin + span * np.interp(np.asarray(values, dtype=np.float64), table, grid)

    return FuncNorm((forward, inverse), vmin=options.vmin, vmax=options.vmax, clip=True)


def scalebar_label(arcsec: float, distance_mpc: float | None) -> str:
    text = f'{arcsec:g}"' if arcsec < 60 else f"{arcsec / 60:g}'"
    if distance_mpc:
        kpc = distance_mpc * 1e3 * math.radians(arcsec / 3600.0)
        text += f" = {kpc:.3g} kpc" if kpc >= 0.1 else f" = {kpc * 1e3:.3g} pc"
    return text


def nice_length(width_arcsec: float) -> float:
    goal = width_arcsec / 5.0
    return min(_NICE_ARCSEC, key=lambda v: abs(math.log(v / goal)))


def compass_vectors(wcs: Any, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (pixel frame) towards north and east at pixel (x, y), from the full WCS
    (any APE-14 celestial WCS: an image's, or a panel's :class:`~neloura.core.figure_views.ViewWCS`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        ra, dec = (float(v) for v in wcs.pixel_to_world_values(x, y))
        step = 1.0 / 3600.0
        north = np.array(wcs.world_to_pixel_values(ra, min(89.9999, dec + step)), dtype=float) - [x, y]
        east_ra = ra + step / max(1e-6, math.cos(math.radians(dec)))
        east = np.array(wcs.world_to_pixel_values(east_ra, dec), dtype=float) - [x, y]
    return north / np.linalg.norm(north), east / np.linalg.norm(east)


@dataclass
class Panel:
    """One panel of a figure: its pixels and what it shows. ``data`` covers pixels from ``origin``
    (x0, y0) of ``wcs``'s image in blocks of ``factor`` x ``factor`` (shape (ny, nx, 4) uint8: an
    RGBA composite, drawn as it is, no colorbar); ``contour_data`` (same grid) defaults to ``data``.
    With a ``view``, the panel is the page's panel: its screen, rotation and flip, exactly."""

    data: np.ndarray
    wcs: WCS
    origin: tuple[float, float]
    factor: int
    options: FigureOptions
    sample: np.ndarray | None = None
    contour_data: np.ndarray | None = None
    view: ScreenView | None = None


LAYOUTS = {"1": (1, 1), "1x2": (1, 2), "2x1": (2, 1), "2x2": (2, 2)}  # rows x columns, as the page's panels


def render(
    data: np.ndarray,
    wcs: WCS,
    origin: tuple[float, float],
    factor: int,
    options: FigureOptions,
    *,
    sample: np.ndarray | None = None,
    contour_data: np.ndarray | None = None,
    view: ScreenView | None = None,
) -> bytes:
    """The figure of one image as bytes (see :class:`Panel` for the arguments); its title over the axes."""
    return _compose([Panel(data, wcs, origin, factor, options, sample, contour_data, view)], "1", options, single=True)


def render_panels(panels: list[Panel], layout: str, options: FigureOptions) -> bytes:
    """A figure of up to four panels in a ``layout`` grid (``"1x2"``: one row of two), each a WCSAxes
    subplot in its own image's WCS with its own stretch, limits, colormap and colorbar; the title,
    size, DPI and format from ``options``; panels fill the grid row by row."""
    if layout not in LAYOUTS:
        raise InvalidParameter(f"layout must be one of {', '.join(LAYOUTS)}")
    rows, cols = LAYOUTS[layout]
    if not 1 <= len(panels) <= rows * cols:
        raise InvalidParameter(f"layout {layout} holds 1 to {rows * cols} panels, got {len(panels)}")
    return _compose(panels, layout, options)


def _compose(panels: list[Panel], layout: str, options: FigureOptions, *, single: bool = False) -> bytes:
    """One figure: a WCSAxes per panel, then the figure's title (``single``, the figure of one
    image: its title over the axes; a layout: each panel's title over it, the figure's above all)."""
    options.check()
    rows, cols = LAYOUTS[layout]
    fig = _figure(options.width_in, options.height_in, options.dpi)
    for i, panel in enumerate(panels):
        panel.options.check()
        wcs = panel.wcs if panel.view is None else ViewWCS(panel.wcs, panel.view)
        ax = fig.add_subplot(rows, cols, i + 1, projection=wcs)
        draw_panel(fig, ax, panel)
        if panel.options.title and not single:
            ax.set_title(panel.options.title, fontsize=12)
    if single and options.title:
        fig.axes[0].set_title(options.title, fontsize=16)
    elif options.title:
        fig.suptitle(options.title, fontsize=16)
    if not single:
        fig.subplots_adjust(wspace=0.75, hspace=0.35)  # room for each panel's colorbar and the next one's labels
    return _save(fig, options)


def _figure(width_in: float, height_in: float, dpi: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    if not _OUTLINE:
        from matplotlib import patheffects

        _OUTLINE.append(patheffects.withStroke(linewidth=2.5, foreground="black"))
    return Figure(figsize=(width_in, height_in), dpi=dpi)


def _save(fig: Any, options: FigureOptions) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buffer, format=options.fmt, dpi=options.dpi, bbox_inches="tight")
    return buffer.getvalue()


def _image(ax: Any, panel: Panel, extent: tuple[float, float, float, float]) -> Any:
    """The pixels on the axes: in the image's pixel frame, or turned into the panel's screen."""
    options, data = panel.options, panel.data
    kwargs: dict[str, Any] = {"origin": "lower", "extent": extent, "interpolation": "nearest"}
    if panel.view is not None:
        from matplotlib.transforms import Affine2D

        kwargs["transform"] = Affine2D(panel.view.affine()) + ax.transData
    if data.ndim == 3:
        return ax.imshow(data, **kwargs)
    cmap = options.cmap + ("_r" if options.invert and not options.cmap.endswith("_r") else "")
    if options.invert and options.cmap.endswith("_r"):
        cmap = options.cmap[:-2]
    return ax.imshow(data, cmap=cmap, norm=stretch_norm(options, panel.sample), **kwargs)


def draw_panel(fig: Any, ax: Any, panel: Panel) -> None:
    """The image, grid, colorbar, contours, markers, scale bar and compass on one WCSAxes."""
    options, data, view = panel.options, panel.data, panel.view
    x0, y0 = panel.origin
    ny, nx = data.shape[:2]
    extent = (x0 - 0.5, x0 - 0.5 + nx * panel.factor, y0 - 0.5, y0 - 0.5 + ny * panel.factor)
    rgb = data.ndim == 3
    image = _image(ax, panel, extent)
    # the axes: the image region, or the panel's screen (its pixels are the figure's pixels)
    frame = extent if view is None else (-0.5, view.width_px - 0.5, -0.5, view.height_px - 0.5)
    ax.set_xlim(frame[0], frame[1])
    ax.set_ylim(frame[2], frame[3])
    _coordinates(ax, options)
    if options.colorbar and not rgb:
        from matplotlib.ticker import MaxNLocator

        bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ticks = MaxNLocator(8).tick_values(options.vmin, options.vmax)  # the norm clamps: none beyond the limits
        bar.set_ticks([t for t in ticks if options.vmin <= t <= options.vmax])
        bar.set_label(options.unit or "image units")
    levels = sorted(v for v in options.contour_levels if math.isfinite(v))
    if levels and (panel.contour_data is not None or not rgb):
        values = data if panel.contour_data is None else panel.contour_data
        more = {} if view is None else {"transform": image.get_transform()}
        ax.contour(values, levels=levels, colors=options.contour_color, linewidths=0.8, extent=extent,
                   origin="lower", **more)  # fmt: skip
    if options.marker_ra:
        ax.scatter(
            options.marker_ra,
            options.marker_dec,
            transform=ax.get_transform("icrs"),
            s=options.marker_size_px**2,
            facecolors="none",
            edgecolors=options.marker_color,
            linewidths=1.0,
        )
    scale = _scale_arcsec(panel.wcs) / (1.0 if view is None else view.zoom)  # arcsec per axes pixel
    length = options.scalebar_arcsec
    if length is None:
        length = nice_length(abs(frame[1] - frame[0]) * scale)
    if length:
        _scalebar(ax, frame, length / scale, scalebar_label(length, options.distance_mpc))
    if options.compass:
        _compass(ax, ax.wcs if view is not None else panel.wcs, frame)


def _scale_arcsec(wcs: WCS) -> float:
    from astropy.wcs.utils import proj_plane_pixel_scales

    scales = proj_plane_pixel_scales(wcs)
    return float(math.sqrt(abs(scales[0] * scales[1])) * 3600.0)


def _coordinates(ax: object, options: FigureOptions) -> None:
    """Grid, ticks and labels in the chosen frame (an overlay when it is not the image's)."""
    native = ax.coords  # type: ignore[attr-defined]
    wanted = FRAMES[options.frame]
    image_frame = getattr(getattr(ax, "wcs", None), "wcs", None)
    radesys = str(getattr(image_frame, "radesys", "") or "").lower()
    ctype = str(getattr(image_frame, "ctype", [""])[0]).upper()
    native_name = "galactic" if ctype.startswith("GLON") else (radesys or "icrs")
    coords = native
    if wanted != native_name:
        coords = ax.get_coords_overlay(wanted)  # type: ignore[attr-defined]
        for c in native:
            c.set_ticks_visible(False)
            c.set_ticklabel_visible(False)
            c.set_axislabel("")
        coords[0].set_ticks_position("b")
        coords[1].set_ticks_position("l")
        coords[0].set_ticklabel_position("b")
        coords[1].set_ticklabel_position("l")
        coords[0].set_axislabel_position("b")
        coords[1].set_axislabel_position("l")
    lon, lat = coords[0], coords[1]
    if options.frame in ("icrs", "fk5", "fk4"):
        lon.set_major_formatter("hh:mm:ss.s")
        lat.set_major_formatter("dd:mm:ss")
        lon.set_axislabel(f"RA ({options.frame.upper()})", fontsize=13)
        lat.set_axislabel(f"Dec ({options.frame.upper()})", fontsize=13)
    else:
        lon.set_major_formatter("d.ddd")
        lat.set_major_formatter("d.ddd")
        names = ("l", "b") if options.frame == "galactic" else ("ecliptic longitude", "ecliptic latitude")
        lon.set_axislabel(f"{names[0]} (deg)", fontsize=13)
        lat.set_axislabel(f"{names[1]} (deg)", fontsize=13)
    if options.grid:
        coords.grid(color="white", alpha=0.6, linestyle="solid", linewidth=0.7)


def _compass(ax: object, wcs: Any, extent: tuple[float, float, float, float]) -> None:
    width = extent[1] - extent[0]
    height = extent[3] - extent[2]
    base = np.array([extent[0] + 0.12 * width, extent[2] + 0.12 * height])
    north, east = compass_vectors(wcs, float(base[0]), float(base[1]))
    length = 0.08 * min(width, height)
    for vector, name in ((north, "N"), (east, "E")):
        tip = base + vector * length
        ax.annotate(  # type: ignore[attr-defined]
            "", xy=tip, xytext=base, arrowprops={"arrowstyle": "-|>", "color": "white", "lw": 1.5}, zorder=10
        )
        text = base + vector * length * 1.35
        ax.text(text[0], text[1], name, color="white", ha="center", va="center", fontsize=13,  # type: ignore[attr-defined]
                bbox=_BOX, zorder=10)  # fmt: skip


def _scalebar(ax: object, extent: tuple[float, float, float, float], length_px: float, text: str) -> None:
    """A bar of ``length_px`` image pixels in the lower right corner, its label above it."""
    width, height = extent[1] - extent[0], extent[3] - extent[2]
    right, bottom = extent[1] - 0.05 * width, extent[2] + 0.06 * height
    ax.plot([right - length_px, right], [bottom, bottom], color="white", lw=3, solid_capstyle="butt",  # type: ignore[attr-defined]
            path_effects=_OUTLINE, zorder=10)  # fmt: skip
    ax.text(right - length_px / 2, bottom + 0.02 * height, text, color="white", ha="center", va="bottom",  # type: ignore[attr-defined]
            fontsize=13, bbox=_BOX, zorder=10)  # fmt: skip
