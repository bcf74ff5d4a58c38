"""Publication-figure jobs of several images: a panel layout (one WCSAxes subplot per panel, each
with its own stretch, limits, colormap and view) and an RGB composite (the built composite's
reprojected channels composed with the page's colours, limits and stretches, drawn in the
reference channel's WCS). Each job writes into its own ``images/figures/<tag>/`` folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from neloura.core.figure_views import ScreenView
from neloura.core.figures import LAYOUTS, FigureOptions, Panel, render, render_panels
from neloura.core.fitsio import FitsImage
from neloura.core.rgb import ChannelDisplay, compose
from neloura.runtime.figures import block_factor, celestial_of, read_region, write_figure
from neloura.runtime.rgb import load_composite


def panels_task(
    progress: Any, *, panels: list[dict[str, Any]], layout: str, options: dict[str, Any], out_dir: str, name: str
) -> dict[str, Any]:
    """Job body: a ``layout`` figure of ``panels`` (each: image_path, hdu, plane, region, options,
    sample, view: the page panel's screen, or None for the region as it is)."""
    figure = FigureOptions(**options)
    figure.check()
    rows, cols = LAYOUTS[layout]
    cell_px = max(figure.width_in / cols, figure.height_in / rows) * figure.dpi
    drawn: list[Panel] = []
    for i, spec in enumerate(panels):
        progress(0.05 + 0.6 * i / len(panels), f"reading panel {i + 1} of {len(panels)}")
        view = None if spec.get("view") is None else ScreenView(**spec["view"])
        x0, y0, x1, y1 = spec["region"]
        # the image pixels across the cell: the region's, or the screen's longer side at the view's zoom
        span = max(x1 - x0, y1 - y0) if view is None else max(view.width_px, view.height_px) / view.zoom
        factor = block_factor(span, cell_px)
        with FitsImage(Path(spec["image_path"]), int(spec["hdu"])) as image:
            celestial = celestial_of(image, f"panel {i + 1}: a figure")
            data = read_region(image.plane(int(spec["plane"])), (x0, y0, x1, y1), factor)
        sample = spec.get("sample")
        values = None if sample is None else np.asarray(sample, dtype=np.float32)
        options_i = FigureOptions(**spec["options"])
        drawn.append(Panel(data, celestial, (x0, y0), factor, options_i, values, view=view))
    progress(0.7, "drawing")
    return write_figure(render_panels(drawn, layout, figure), out_dir, name, figure.fmt)


def rgb_factor(region_px: int, factors: list[int], target_px: float) -> int:
    """The coarsest stored reduction factor that keeps ``target_px`` pixels over ``region_px``."""
    return max((f for f in {1, *factors} if region_px / f >= target_px), default=1)


def rgb_task(
    progress: Any,
    *,
    folder: str,
    displays: list[ChannelDisplay],
    mode: str,
    q: float,
    lupton_stretch: float,
    wcs_header: str,
    region: tuple[int, int, int, int],
    options: dict[str, Any],
    out_dir: str,
    name: str,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Job body: the composite of ``folder`` (built by the RGB job) drawn with ``displays`` (of
    ``region``; with a ``view``, exactly the viewer's screen, ``region`` the box under it)."""
    figure = FigureOptions(**options)
    figure.check()
    progress(0.05, "reading the composite")
    comp = load_composite(Path(folder))
    x0, y0, x1, y1 = region
    screen = None if view is None else ScreenView(**view)
    longest = max(x1 - x0, y1 - y0) if screen is None else round(max(screen.width_px, screen.height_px) / screen.zoom)
    factor = rgb_factor(longest, list(comp.levels[0]), max(figure.width_in, figure.height_in) * figure.dpi)
    # stored levels are block means from (0, 0) in display orientation (row 0 at the top): flipped
    # to FITS orientation, then the blocks that hold the region
    bx0, by0 = x0 // factor, y0 // factor
    bx1, by1 = -(-x1 // factor), -(-y1 // factor)
    values = [np.asarray(comp.level_array(i, factor))[::-1][by0:by1, bx0:bx1] for i in range(comp.count)]
    progress(0.4, "composing")
    rgba = compose(values, displays, mode, q=q, stretch=lupton_stretch)
    wcs = WCS(fits.Header.fromstring(wcs_header))
    progress(0.6, "drawing")
    content = render(rgba, wcs, (bx0 * factor, by0 * factor), factor, figure, view=screen)
    return write_figure(content, out_dir, name, figure.fmt)
