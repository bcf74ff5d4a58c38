"""Regions: statistics, DS9/CRTF conversion, parsing for the page, cutouts, histograms, radial
profiles and regions <-> catalog selections.

Every body names an image (``path`` under files/, ``hdu``, ``plane``) and carries region text
(DS9 ``.reg`` or CRTF, detected from its first line). Pixels are 0-based (``data[y, x]``);
statistics come from the full-resolution physical pixels of the plane (never tiles).
"""

from __future__ import annotations

import io
import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from neloura.api.deps import ImageRef, PlaneRef, ServicesDep, SettingsDep, resolve_hdu
from neloura.api.openapi import IMAGE_ERRORS, Out, binary, errors
from neloura.core.photometry import flux_unit
from neloura.core.region_files import RegionText, read_regions
from neloura.core.region_stats import (
    check_size,
    cutout_hdus,
    histogram,
    member_values,
    radial_profile,
    region_stats,
    working_bytes,
)
from neloura.core.regions import PixelShape, celestial, to_pixel_shapes, to_region, write_regions
from neloura.errors import InvalidParameter
from neloura.runtime import region_links

router = APIRouter(responses=errors(*IMAGE_ERRORS, 409), prefix="/api/regions", tags=["regions"])

MAX_TEXT = 16 * 1024 * 1024


class SkippedOut(Out):
    line: int = Field(description="1-based line of the text")
    shape: str
    reason: str


class ShapeOut(Out):
    """One region in 0-based image pixels; ``text``, ``color``, ``point``, ``tag`` when given."""

    index: int
    shape: str
    points: list[list[float]] = Field(description="[[x, y], ...] 0-based pixels")
    sizes: list[float] = Field(description="radii, widths/heights... in pixels, per shape")
    angle: float = Field(description="degrees counter-clockwise from +x, 0..360")
    include: bool
    line: int
    frame: str = Field(description="image, or the sky frame the region was given in")


class ParseOut(Out):
    format: str = Field(description="ds9 or crtf")
    count: int
    regions: list[ShapeOut]
    skipped: list[SkippedOut]


class RegionStatsOut(Out):
    """One region's statistics (null when it holds no finite pixel); annuli add ``background``,
    ``source_flux``, ``source_area_px``, ``net_flux``."""

    index: int
    shape: str
    include: bool
    line: int
    npix: int = Field(description="finite pixels whose centres are inside")
    area_px: float = Field(description="exact area of the finite pixels covered")
    area_arcsec2: float | None
    sum: float | None
    mean: float | None
    median: float | None
    std: float | None
    min: float | None
    max: float | None
    flux: float | None = Field(description="exact-overlap sum in flux_unit")
    flux_unit: str


class RegionsStatsOut(Out):
    regions: list[RegionStatsOut]
    skipped: list[SkippedOut]
    bunit: str


class ConvertOut(Out):
    regions: str = Field(description="the region file")
    count: int
    skipped: list[SkippedOut]
    left_out: list[int] = Field(description="indices of regions the target format cannot hold")


class RegionHistogramOut(Out):
    counts: list[int]
    edges: list[float] = Field(description="bins + 1 edges (empty without finite pixels)")
    n: int
    unit: str


class ProfileOut(Out):
    radius_px: list[float]
    edges_px: list[float]
    profile: list[float | None] = Field(description="mean value per annulus (null: no finite pixel)")
    area_px: list[float]
    unit: str


class CatalogRowsOut(Out):
    name: str
    count: int
    rows: list[int] = Field(description="0-based catalog rows")


class PointOut(ShapeOut):
    row: int = Field(description="0-based catalog row")


class FromCatalogOut(Out):
    name: str
    count: int
    regions: list[PointOut]


class LinkOut(Out):
    id: str


class LinkRegionsOut(LinkOut):
    regions: str


class ImageBody(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="image path relative to files/")
    hdu: int | None = Field(default=None, ge=0, le=100_000)
    plane: int = Field(default=0, ge=0, le=1_000_000)


class RegionsBody(ImageBody):
    regions: str = Field(max_length=MAX_TEXT, description="DS9 .reg or CRTF text")


class OneRegionBody(RegionsBody):
    index: int = Field(default=0, ge=0, le=1_000_000, description="which region of the text (0-based)")


class ConvertBody(RegionsBody):
    to: Literal["ds9", "crtf"] = "ds9"
    system: Literal["sky", "pixel"] = "sky"


class HistogramBody(OneRegionBody):
    bins: int = Field(default=64, ge=1, le=4096)


class ProfileBody(OneRegionBody):
    step_px: float = Field(default=1.0, gt=0, le=1e6)


class CatalogBody(RegionsBody):
    name: str = Field(min_length=1, max_length=4096, description="catalog name under catalogs/")
    ra_col: str | None = Field(default=None, max_length=256)
    dec_col: str | None = Field(default=None, max_length=256)


class PointsBody(ImageBody):
    name: str = Field(min_length=1, max_length=4096)
    rows: list[Annotated[int, Field(ge=0, le=2**53)]] = Field(max_length=100_000, description="0-based catalog rows")
    ra_col: str | None = Field(default=None, max_length=256)
    dec_col: str | None = Field(default=None, max_length=256)


def _plane(services: ServicesDep, body: ImageBody) -> PlaneRef:
    file = services.images.resolve(body.path)
    hdu = resolve_hdu(file, body.hdu, services.images)
    image = services.images.get_resolved(file, hdu)
    return PlaneRef(ImageRef(body.path, file, hdu, image), body.plane, image.plane(body.plane))


def _shapes(plane: PlaneRef, text: str) -> tuple[list[PixelShape], RegionText]:
    parsed = read_regions(text)
    return to_pixel_shapes(parsed.records, plane.ref.image.wcs, plane.index), parsed


def _skipped(parsed: RegionText) -> list[dict[str, Any]]:
    return [{"line": s.line, "shape": s.shape, "reason": s.reason} for s in parsed.skipped]


def _one(shapes: list[PixelShape], index: int) -> PixelShape:
    if index >= len(shapes):
        raise InvalidParameter(f"index {index}: the text holds {len(shapes)} region(s)")
    return shapes[index]


def _json(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _units(plane: PlaneRef) -> tuple[float, str, float | None]:
    image = plane.ref.image
    wcs = image.wcs
    area_sr = wcs.pixel_area_sr() if wcs.has_celestial else None
    factor, unit = flux_unit(image.bunit, area_sr, image.header)
    area_arcsec2 = None if area_sr is None else area_sr * (180 / math.pi * 3600) ** 2
    return factor, unit, area_arcsec2


@router.post(
    "/stats", response_model=RegionsStatsOut, summary="Statistics of every region on the full-resolution pixels"
)
def stats(services: ServicesDep, body: RegionsBody) -> JSONResponse:
    """``{"regions": [{"index", "shape", "npix", "area_px", "area_arcsec2", "sum", "mean", "median",
    "std", "min", "max", "flux", "flux_unit", ...}], "skipped": [...]}``; annuli add
    ``background``, ``source_flux``, ``net_flux``."""
    plane = _plane(services, body)
    shapes, parsed = _shapes(plane, body.regions)
    check_size(shapes)
    factor, unit, area = _units(plane)
    img = plane.plane
    with services.memory.reserve(working_bytes(shapes), f"the statistics of {len(shapes)} region(s)"):
        rows = [
            {
                "index": i,
                **region_stats(
                    s, img.read, img.width, img.height, factor=factor, flux_unit=unit, pixel_area_arcsec2=area
                ),
            }
            for i, s in enumerate(shapes)
        ]
    return JSONResponse(_json({"regions": rows, "skipped": _skipped(parsed), "bunit": plane.ref.image.bunit}))


@router.post(
    "/convert",
    response_model=ConvertOut,
    summary="Region text -> DS9 or CRTF, in sky or pixel coordinates of the image",
)
def convert(services: ServicesDep, body: ConvertBody) -> dict[str, Any]:
    """``{"regions": "<text>", "count", "skipped", "left_out"}`` (``left_out``: indices the
    target format cannot hold, e.g. CRTF has no elliptical annulus)."""
    plane = _plane(services, body)
    shapes, parsed = _shapes(plane, body.regions)
    text, left_out = write_regions(shapes, plane.ref.image.wcs, body.to, body.system)
    return {"regions": text, "count": len(shapes) - len(left_out), "skipped": _skipped(parsed), "left_out": left_out}


@router.post("/parse", response_model=ParseOut, summary="Region text -> shapes in 0-based image pixels (for drawing)")
def parse(services: ServicesDep, body: RegionsBody) -> JSONResponse:
    """``{"format", "count", "regions": [{"index", "shape", "points", "sizes", "angle", "include",
    "line", "frame", "text"?, "color"?, "point"?}], "skipped": [...]}``."""
    plane = _plane(services, body)
    shapes, parsed = _shapes(plane, body.regions)
    out = {"format": parsed.format, "count": len(shapes), "regions": [s.to_json(i) for i, s in enumerate(shapes)]}
    return JSONResponse({**out, "skipped": _skipped(parsed)})


@router.post(
    "/cutout",
    response_class=Response,
    responses=binary("application/fits", description="the cutout and its mask"),
    summary="FITS cutout of one region: data with WCS, and its mask",
)
def cutout(services: ServicesDep, body: OneRegionBody) -> Response:
    plane = _plane(services, body)
    shapes, _ = _shapes(plane, body.regions)
    shape = _one(shapes, body.index)
    check_size([shape])
    image = plane.ref.image
    sky = celestial(image.wcs) if image.wcs.has_celestial else None
    with services.memory.reserve(working_bytes([shape]), "the cutout of a region"):
        hdus = cutout_hdus(shape, plane.plane.read, image.width, image.height, sky, image.bunit)
        buffer = io.BytesIO()
        hdus.writeto(buffer)
    stem = plane.ref.path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    name = f"{stem}_region{body.index + 1}.fits"
    return Response(
        buffer.getvalue(),
        media_type="application/fits",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/histogram", response_model=RegionHistogramOut, summary="Histogram of the pixel values inside one region")
def region_histogram(services: ServicesDep, body: HistogramBody) -> dict[str, Any]:
    plane = _plane(services, body)
    shapes, _ = _shapes(plane, body.regions)
    img = plane.plane
    shape = _one(shapes, body.index)
    check_size([shape])
    with services.memory.reserve(working_bytes([shape]), "the histogram of a region"):
        values = member_values(shape, img.read, img.width, img.height)
        return {**histogram(values, body.bins), "unit": plane.ref.image.bunit}


@router.post(
    "/profile", response_model=ProfileOut, summary="Radial profile of a circle or annulus (photutils RadialProfile)"
)
def profile(services: ServicesDep, body: ProfileBody) -> JSONResponse:
    plane = _plane(services, body)
    shapes, _ = _shapes(plane, body.regions)
    img = plane.plane
    shape = _one(shapes, body.index)
    with services.memory.reserve(working_bytes([shape]), "the radial profile of a region"):
        out = radial_profile(shape, img.read, img.width, img.height, body.step_px)
    return JSONResponse(_json({**out, "unit": plane.ref.image.bunit}))


def _catalog_pixels(
    services: ServicesDep, plane: PlaneRef, name: str, ra_col: str | None, dec_col: str | None
) -> tuple[np.ndarray, np.ndarray]:
    ra, dec = services.catalogs.radec(name, ra_col, dec_col)
    ok = np.isfinite(ra) & np.isfinite(dec)
    x = np.full(ra.shape, np.nan)
    y = np.full(ra.shape, np.nan)
    if ok.any():
        x[ok], y[ok] = plane.ref.image.wcs.world_to_pixel(ra[ok], dec[ok], plane.index)
    return x, y


@router.post(
    "/catalog", response_model=CatalogRowsOut, summary="Catalog rows inside the regions (included minus excluded)"
)
def catalog_rows(services: ServicesDep, body: CatalogBody) -> dict[str, Any]:
    """``{"name", "count", "rows": [...]}``: 0-based rows whose position (through the image WCS)
    lies inside any included region and no excluded one (centre rule)."""
    plane = _plane(services, body)
    shapes, _ = _shapes(plane, body.regions)
    x, y = _catalog_pixels(services, plane, body.name, body.ra_col, body.dec_col)
    finite = np.isfinite(x) & np.isfinite(y)
    coords = np.where(finite, x, -1e9), np.where(finite, y, -1e9)
    from regions import PixCoord

    pix = PixCoord(*coords)
    inside = np.zeros(x.shape, dtype=bool)
    excluded = np.zeros(x.shape, dtype=bool)
    for shape in shapes:
        if shape.shape in ("line", "point", "text"):
            continue
        hit = np.asarray(to_region(shape).contains(pix), dtype=bool)
        if shape.include:
            inside |= hit
        else:
            excluded |= hit
    rows = np.flatnonzero(inside & ~excluded & finite)
    return {"name": body.name, "count": int(rows.size), "rows": rows.tolist()}


@router.post("/from-catalog", response_model=FromCatalogOut, summary="Catalog rows -> point regions on the image")
def from_catalog(services: ServicesDep, body: PointsBody) -> dict[str, Any]:
    """``{"regions": [shape...]}`` (as ``/parse``): one point per row that lands on the image."""
    plane = _plane(services, body)
    x, y = _catalog_pixels(services, plane, body.name, body.ra_col, body.dec_col)
    rows = np.asarray(body.rows, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= x.size):
        raise InvalidParameter(f"rows must be within 0..{x.size - 1}")
    img = plane.ref.image
    out: list[dict[str, Any]] = []
    for row in rows.tolist():
        px, py = float(x[row]), float(y[row])
        if math.isfinite(px) and math.isfinite(py) and -0.5 <= px < img.width - 0.5 and -0.5 <= py < img.height - 0.5:
            shape = PixelShape("point", [(px, py)], meta={"point": "cross", "text": f"{body.name}#{row}"})
            out.append({**shape.to_json(len(out)), "row": row})
    return {"name": body.name, "count": len(out), "regions": out}


class SaveBody(BaseModel):
    regions: str = Field(max_length=MAX_TEXT, description="region text (the page sends DS9 image-frame text)")


@router.post("/links", response_model=LinkOut, summary="Save a region set behind a short view link")
def save_link(settings: SettingsDep, body: SaveBody) -> dict[str, str]:
    """``{"id"}``: the page puts ``regions_id=<id>`` in the view link when the regions are too many
    for the URL itself. Content-addressed: the same text gives the same id."""
    read_regions(body.regions)  # refuse text that would not load again (422 naming the line)
    return {"id": region_links.save(settings, body.regions)}


@router.get("/links/{link_id}", response_model=LinkRegionsOut, summary="The region set saved behind a short link")
def get_link(
    settings: SettingsDep,
    link_id: Annotated[str, Path(pattern="^[0-9a-f]{24}$", description="24 hexadecimal digits")],
) -> dict[str, str]:
    return {"id": link_id, "regions": region_links.load(settings, link_id)}
