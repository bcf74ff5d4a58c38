"""Publication-figure jobs: read a region of one plane (block-averaged to the figure's pixels),
optional contours from another image, and render with :func:`neloura.core.figures.render`.

Each job writes into its own folder ``images/figures/<tag>/`` (a random tag), so figures of
two users never collide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from neloura.core.figure_views import ScreenView
from neloura.core.figures import FigureOptions, render
from neloura.core.fitsio import FitsImage, ImagePlane
from neloura.core.pyramid import block_mean
from neloura.errors import InvalidParameter

BAND_BLOCKS = 256


def read_region(plane: ImagePlane, region: tuple[int, int, int, int], factor: int) -> np.ndarray:
    """NaN-aware block means of ``factor`` x ``factor`` over pixels x0..x1-1, y0..y1-1, read in bands."""
    x0, y0, x1, y1 = region
    step = factor * BAND_BLOCKS
    bands = [block_mean(plane.read(top, min(y1, top + step), x0, x1), factor) for top in range(y0, y1, step)]
    return np.vstack(bands).astype(np.float32)


def celestial_of(image: FitsImage, what: str = "a figure") -> Any:
    """The celestial part of an image's full WCS (SIP kept), or a clear refusal."""
    wcs = image.wcs
    if wcs.wcs is None or not wcs.has_celestial:
        raise InvalidParameter(f"{what} needs an image with a celestial WCS")
    return wcs.wcs if wcs.wcs.naxis == 2 else wcs.wcs.celestial


def block_factor(span_px: float, target_px: float) -> int:
    """The block size that leaves about ``target_px`` of ``span_px`` image pixels (at least 1)."""
    return max(1, int(np.ceil(span_px / target_px)))


def write_figure(content: bytes, out_dir: str, name: str, fmt: str) -> dict[str, Any]:
    """The job's result: the file ``out_dir/name`` (its own folder per job: no collisions)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_bytes(content)
    return {"figure": name, "format": fmt, "bytes": len(content), "files": {name: str(path)}}


def figure_task(
    progress: Any,
    *,
    image_path: str,
    hdu: int,
    plane: int,
    region: tuple[int, int, int, int],
    options: dict[str, Any],
    sample: list[float] | None,
    contours: dict[str, Any] | None,
    out_dir: str,
    name: str,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Job body: the figure file ``out_dir/name`` (of ``region``; with a ``view``, exactly the
    viewer's screen, ``region`` then the image box under it)."""
    figure = FigureOptions(**options)
    figure.check()
    progress(0.05, "reading the image")
    with FitsImage(Path(image_path), hdu) as image:
        celestial = celestial_of(image)
        x0, y0, x1, y1 = region
        screen = None if view is None else ScreenView(**view)
        span = max(x1 - x0, y1 - y0) if screen is None else max(screen.width_px, screen.height_px) / screen.zoom
        factor = block_factor(span, max(figure.width_in, figure.height_in) * figure.dpi)
        data = read_region(image.plane(plane), region, factor)
        contour_data = None
        if contours and contours.get("image_path"):
            progress(0.4, "resampling the contour image")
            contour_data = _resampled(image.wcs, plane, region[:2], factor, data.shape, contours)
        progress(0.6, "drawing")
        content = render(
            data,
            celestial,
            region[:2],
            factor,
            figure,
            sample=None if sample is None else np.asarray(sample, dtype=np.float32),
            contour_data=contour_data,
            view=screen,
        )
    return write_figure(content, out_dir, name, figure.fmt)


def _resampled(
    wcs: Any, plane: int, origin: tuple[int, int], factor: int, shape: tuple[int, ...], contours: dict[str, Any]
) -> np.ndarray:
    """The contour image's values at the centres of the figure's blocks (bilinear), through
    both images' full WCS."""
    ny, nx = shape
    x0, y0 = origin
    gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * factor - 0.5, y0 + (np.arange(ny) + 0.5) * factor - 0.5)
    ra, dec = wcs.pixel_to_world(gx.ravel(), gy.ravel(), plane)
    with FitsImage(Path(contours["image_path"]), int(contours.get("hdu", 0))) as other:
        if not other.wcs.has_celestial:
            raise InvalidParameter("the contour image has no celestial WCS")
        ox, oy = other.wcs.world_to_pixel(ra, dec)
        ok = np.isfinite(ox) & np.isfinite(oy)
        if not ok.any():
            raise InvalidParameter("the contour image does not overlap the figure")
        bx0, bx1 = max(0, int(np.floor(ox[ok].min())) - 1), min(other.width, int(np.ceil(ox[ok].max())) + 2)
        by0, by1 = max(0, int(np.floor(oy[ok].min())) - 1), min(other.height, int(np.ceil(oy[ok].max())) + 2)
        if bx0 >= bx1 or by0 >= by1:
            raise InvalidParameter("the contour image does not overlap the figure")
        if (bx1 - bx0) * (by1 - by0) > 200_000_000:
            raise InvalidParameter("the contour image is too large over this region")
        window = other.plane(0).read(by0, by1, bx0, bx1).astype(np.float64)
    coords = np.vstack([np.where(ok, oy, -1e9) - by0, np.where(ok, ox, -1e9) - bx0])
    values = ndimage.map_coordinates(np.nan_to_num(window, nan=0.0), coords, order=1, cval=np.nan)
    return values.reshape(ny, nx)
