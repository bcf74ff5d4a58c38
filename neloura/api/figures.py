"""Publication figures (matplotlib WCSAxes) of an image, rendered in a job."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from neloura.api.deps import ServicesDep, SettingsDep, resolve_hdu
from neloura.api.jobs import user_of
from neloura.api.openapi import IMAGE_ERRORS, errors
from neloura.core.figures import FigureOptions
from neloura.errors import InvalidParameter
from neloura.runtime.detection import safe_stem
from neloura.runtime.figures import figure_task

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api", tags=["figures"])

MAX_MARKERS = 200_000


class Markers(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=4096, description="catalog under catalogs/")]
    ra_col: Annotated[str | None, Field(max_length=256)] = None
    dec_col: Annotated[str | None, Field(max_length=256)] = None
    filter: Annotated[str | None, Field(max_length=10_000)] = None
    color: Annotated[str, Field(max_length=32)] = "#00e5ff"
    size_px: Annotated[float, Field(gt=0, le=200, description="marker radius, screen points")] = 10.0


class Contours(BaseModel):
    levels: Annotated[list[float], Field(min_length=1, max_length=50, description="physical values")]
    path: Annotated[str | None, Field(max_length=4096, description="another image (default: this one)")] = None
    hdu: Annotated[int | None, Field(ge=0, le=100_000)] = None
    color: Annotated[str, Field(max_length=32)] = "#ffcc00"


class FigureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option is an error, not silently the default

    path: Annotated[str, Field(min_length=1, max_length=4096, description="image path relative to files/")]
    hdu: Annotated[int | None, Field(ge=0, le=100_000)] = None
    plane: Annotated[int, Field(ge=0)] = 0
    format: Literal["pdf", "svg", "png"] = "pdf"
    width_in: Annotated[float, Field(gt=1, le=40)] = 10.0
    height_in: Annotated[float, Field(gt=1, le=40)] = 10.0
    dpi: Annotated[float, Field(ge=30, le=1200)] = 150.0
    frame: Literal["icrs", "fk5", "fk4", "galactic", "ecliptic"] = "icrs"
    title: Annotated[str, Field(max_length=300)] = ""
    stretch: Annotated[str, Field(max_length=16)] = "linear"
    exponent: Annotated[float | None, Field(gt=0, le=1e6)] = None
    vmin: float | None = None
    vmax: float | None = None
    cmap: Annotated[str, Field(max_length=64)] = "gray"
    invert: bool = False
    region: Annotated[
        tuple[float, float, float, float] | None, Field(description="x0, y0, x1, y1: 0-based pixel bounds (the view)")
    ] = None
    grid: bool = True
    colorbar: bool = True
    compass: bool = True
    scalebar_arcsec: Annotated[float | None, Field(ge=0, le=360_000, description="0: none; default: automatic")] = None
    distance_mpc: Annotated[float | None, Field(gt=0, le=1e5, description="distance for the kpc scale bar")] = None
    catalog: Markers | None = None
    contours: Contours | None = None


def _region(body: FigureBody, width: int, height: int) -> tuple[int, int, int, int]:
    if body.region is None:
        return 0, 0, width, height
    x0, y0, x1, y1 = body.region
    if not all(np.isfinite(body.region)):
        raise InvalidParameter("region must be finite numbers")
    lo_x, hi_x = sorted((x0, x1))
    lo_y, hi_y = sorted((y0, y1))
    box = (max(0, int(np.floor(lo_x + 0.5))), max(0, int(np.floor(lo_y + 0.5))))
    end = (min(width, int(np.ceil(hi_x + 0.5))), min(height, int(np.ceil(hi_y + 0.5))))
    if end[0] - box[0] < 2 or end[1] - box[1] < 2:
        raise InvalidParameter("the region holds less than 2 x 2 pixels of the image")
    return box[0], box[1], end[0], end[1]


@router.post("/figures", summary="A publication figure of an image (WCSAxes; PDF, SVG or PNG): returns the job")
def figures(request: Request, services: ServicesDep, settings: SettingsDep, body: FigureBody) -> dict[str, Any]:
    file = services.images.resolve(body.path)
    hdu = resolve_hdu(file, body.hdu)
    image = services.images.get_resolved(file, hdu)
    image.plane(body.plane)
    if not image.wcs.has_celestial:
        raise InvalidParameter("a figure needs an image with a celestial WCS")
    region = _region(body, image.width, image.height)
    vmin, vmax = body.vmin, body.vmax
    if vmin is None or vmax is None:
        default = services.images.default_limits(body.path, hdu, body.plane)
        vmin = default[0] if vmin is None else vmin
        vmax = default[1] if vmax is None else vmax
    sample = None
    if body.stretch == "histequ":
        sample = services.images.sample(body.path, hdu, body.plane)[::4].tolist()
    options = FigureOptions(
        fmt=body.format,
        width_in=body.width_in,
        height_in=body.height_in,
        dpi=body.dpi,
        frame=body.frame,
        title=body.title,
        stretch=body.stretch,
        exponent=body.exponent,
        vmin=float(vmin),
        vmax=float(vmax),
        cmap=body.cmap,
        invert=body.invert,
        unit=image.bunit,
        grid=body.grid,
        colorbar=body.colorbar,
        compass=body.compass,
        scalebar_arcsec=body.scalebar_arcsec,
        distance_mpc=body.distance_mpc,
        contour_levels=list(body.contours.levels) if body.contours else [],
        contour_color=body.contours.color if body.contours else "#ffcc00",
    )
    if body.catalog is not None:
        ra, dec = services.catalogs.radec(body.catalog.name, body.catalog.ra_col, body.catalog.dec_col)
        rows = services.catalogs.select(body.catalog.name, body.catalog.filter) if body.catalog.filter else None
        if rows is not None:
            ra, dec = ra[rows], dec[rows]
        x, y = image.wcs.world_to_pixel(ra, dec, body.plane)
        with np.errstate(invalid="ignore"):
            keep = (x >= region[0] - 0.5) & (x < region[2] - 0.5) & (y >= region[1] - 0.5) & (y < region[3] - 0.5)
        if keep.sum() > MAX_MARKERS:
            raise InvalidParameter(f"{int(keep.sum())} markers in the region; at most {MAX_MARKERS} (use a filter)")
        options.marker_ra, options.marker_dec = ra[keep].tolist(), dec[keep].tolist()
        options.marker_color, options.marker_size_px = body.catalog.color, body.catalog.size_px
    options.check()
    contours = None
    if body.contours is not None and body.contours.path:
        other = services.images.resolve(body.contours.path)
        other_hdu = resolve_hdu(other, body.contours.hdu)
        services.images.get_resolved(other, other_hdu)
        contours = {"image_path": str(other), "hdu": other_hdu}
    tag = uuid.uuid4().hex[:12]
    name = f"{safe_stem(file)}_{tag}.{body.format}"
    job = services.jobs.submit(
        "figure",
        figure_task,
        {
            "image_path": str(file),
            "hdu": hdu,
            "plane": body.plane,
            "region": region,
            "options": options.__dict__,
            "sample": sample,
            "contours": contours,
            "out_dir": str(settings.images_dir / "figures" / tag),
            "name": name,
        },
        user=user_of(request),
        memory_bytes=600 * 2**20,
    )
    return job.public()
