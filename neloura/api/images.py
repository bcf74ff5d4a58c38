"""Images: HDU listing, header cards, image info, pixel readout and batch coordinate conversion.

Paths are relative to files/; pixel ``x``, ``y`` are 0-based array indices (``data[y, x]``),
``y`` increasing upward. Sky positions are ICRS degrees whatever the image's own frame.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from neloura.api.deps import (
    HduQuery,
    ImageRef,
    PathQuery,
    PlaneDep,
    PlaneRef,
    ServicesDep,
    SettingsDep,
    resolve_hdu,
)
from neloura.api.openapi import IMAGE_ERRORS, Out, errors
from neloura.core.wcs import ImageWcs
from neloura.errors import InvalidParameter, PayloadTooLarge

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/images", tags=["images"])

MAX_BATCH = 100_000
MAX_BODY_BYTES = 16 * 1024 * 1024


def _json_float(value: float | np.floating | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _json_list(values: np.ndarray) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def _check_body_size(request: Request) -> None:
    """Refuse huge batch bodies before they are read (413)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MB; send at most {MAX_BATCH} points"
        )


BodySizeChecked = Depends(_check_body_size)


class HduOut(Out):
    """One HDU as listed (neloura.core.fits_inspect.HduSummary); ``shape`` in numpy order."""

    index: int
    name: str
    kind: str
    shape: list[int]
    bitpix: int | None
    bunit: str
    has_celestial_wcs: bool
    compressed: bool
    truncated: bool = Field(description="the file ends inside this HDU's data")
    problem: str = Field(description="why opening this HDU is refused; empty when none is known")
    columns: int | None = None
    recommended: bool


class HdusOut(Out):
    path: str
    recommended: int | None = Field(description="the image HDU to open by default; null when none")
    hdus: list[HduOut]


class CardOut(Out):
    index: int = Field(description="0-based position of the card in the header")
    key: str
    value: str | int | float | bool | None
    comment: str


class HeaderOut(Out):
    path: str
    hdu: int
    count: int = Field(description="cards in the HDU")
    total: int = Field(description="cards matching q")
    offset: int
    cards: list[CardOut]


class PlaneOut(Out):
    index: int
    value: float | None = Field(description="world value of the plane along its axis; null without WCS")
    unit: str
    kind: str


class InfoOut(Out):
    path: str
    hdu: int
    name: str
    shape: list[int]
    width: int
    height: int
    bitpix: int
    compressed: bool
    bunit: str
    version: str = Field(description="changes whenever the file does (tile URLs carry it)")
    levels_ready: bool
    tile_size: int
    min_level: int
    max_level: int
    plane: int
    plane_count: int
    plane_axis: int | None = Field(description="1-based FITS axis of the planes; null for a 2-D image")
    planes: list[PlaneOut]
    vmin: float | None
    vmax: float | None
    wcs: dict[str, Any]


class SpectralOut(Out):
    value: float | None
    unit: str
    kind: str


class PixelOut(Out):
    x: float
    y: float
    column: int
    row: int
    plane: int
    value: float | None = Field(description="physical value; null for blank/NaN")
    unit: str
    ra_deg: float | None
    dec_deg: float | None
    ra_hms: str | None
    dec_dms: str | None
    frame: str | None
    spectral: SpectralOut | None


class SkyBatchOut(Out):
    count: int
    frame: str
    ra_deg: list[float | None]
    dec_deg: list[float | None]


class PixelBatchOut(Out):
    count: int
    x_pix: list[float | None]
    y_pix: list[float | None]
    inside: list[bool]


@router.get(
    "/hdus",
    response_model=HdusOut,  # the body is pre-rendered JSON of that shape (one listing per file version)
    response_class=JSONResponse,
    summary="Every HDU of a FITS file, with the recommended image HDU",
)
def hdus(services: ServicesDep, path: PathQuery) -> Response:
    """``{"path", "recommended", "hdus": [{"index", "name", "kind", "shape", ..., "recommended"}]}``;
    ``truncated``: the file ends inside this HDU's data; ``problem``: why opening it is refused.
    The HDU list is rendered once per file version (a large file's by the parse worker)."""
    file = services.images.resolve(path)
    listing = services.images.listing(file)
    head = json.dumps({"path": path, "recommended": services.images.inspect(file).recommended})
    return Response(head[:-1].encode() + b',"hdus":' + listing + b"}", media_type="application/json")


HEADER_PAGE_MAX = 10_000


@router.get(
    "/header",
    response_model=HeaderOut,
    summary="Header cards of one HDU, paged and searched on the server (HISTORY included)",
)
def header(
    services: ServicesDep,
    path: PathQuery,
    hdu: HduQuery = None,
    offset: Annotated[int, Query(ge=0, description="first card of the page (0-based, among the matches)")] = 0,
    limit: Annotated[int | None, Query(ge=0, le=HEADER_PAGE_MAX, description="cards per page (all: omit)")] = None,
    q: Annotated[str, Query(max_length=200, description="keep cards whose key, value or comment contain q")] = "",
) -> JSONResponse:
    """``{"path", "hdu", "count", "total", "offset", "cards": [{"index", "key", "value", "comment"}]}``:
    ``count`` cards in the HDU, ``total`` of them matching ``q`` (case-insensitive), the page
    of ``limit`` matches from ``offset`` in file order; ``index`` is the card's position."""
    file = services.images.resolve(path)
    index = hdu if hdu is not None else (services.images.inspect(file).recommended or 0)
    page = services.images.header_page(file, index, offset, limit, q)
    rows = [{"index": i, "key": k, "value": v, "comment": c} for i, k, v, c in page["rows"]]
    return JSONResponse(
        {"path": path, "hdu": index, "count": page["count"], "total": page["total"], "offset": offset, "cards": rows}
    )


def _planes(wcs: ImageWcs, count: int) -> list[dict[str, Any]]:
    values = wcs.plane_values(np.arange(count))
    if values is None:
        return [{"index": i, "value": None, "unit": "", "kind": ""} for i in range(count)]
    numbers, unit, kind = values
    return [{"index": i, "value": v, "unit": unit, "kind": kind} for i, v in enumerate(_json_list(numbers))]


@router.get("/info", summary="Size, Deep Zoom levels, planes, default display limits and WCS of an image")
def info(services: ServicesDep, settings: SettingsDep, plane: PlaneDep) -> InfoOut:
    ref = plane.ref
    image = ref.image
    vmin, vmax = services.images.default_limits(ref.path, ref.hdu, plane.index)
    wcs = image.wcs
    return InfoOut.model_validate(
        {
            "path": ref.path,
            "hdu": ref.hdu,
            "name": str(image.header.get("EXTNAME", "") or ("PRIMARY" if ref.hdu == 0 else f"HDU{ref.hdu}")),
            "shape": list(image.shape),
            "width": image.width,
            "height": image.height,
            "bitpix": int(image.header.get("BITPIX", 0) or 0),
            "compressed": image.compressed,
            "bunit": image.bunit,
            "version": _file_version(image.path),
            "levels_ready": services.tiles.levels_ready(ref.path, ref.hdu, plane.index),
            "tile_size": settings.tile_size,
            "min_level": 0,
            "max_level": max(0, math.ceil(math.log2(max(image.width, image.height)))),
            "plane": plane.index,
            "plane_count": image.planes,
            "plane_axis": image.plane_fits_axis,
            "planes": _planes(wcs, image.planes),
            "vmin": _json_float(vmin),
            "vmax": _json_float(vmax),
            "wcs": wcs.summary(),
        }
    )


def _file_version(path: Path) -> str:
    """Changes whenever the file does: tile URLs carry it so no cache shows a replaced file's tiles."""
    st = path.stat()
    return f"{st.st_mtime_ns:x}-{st.st_size:x}"


def _sexagesimal(ra_deg: float | None, dec_deg: float | None) -> tuple[str | None, str | None]:
    if ra_deg is None or dec_deg is None:
        return None, None
    ra = Angle(ra_deg, u.deg).to_string(unit=u.hourangle, sep=":", precision=3, pad=True)
    dec = Angle(dec_deg, u.deg).to_string(unit=u.deg, sep=":", precision=2, pad=True, alwayssign=True)
    return str(ra), str(dec)


def _sky(plane: PlaneRef, x: float, y: float) -> dict[str, Any]:
    wcs = plane.ref.image.wcs
    if not wcs.has_celestial:
        return {"ra_deg": None, "dec_deg": None, "ra_hms": None, "dec_dms": None, "frame": None}
    ra, dec = wcs.pixel_to_world([x], [y], plane.index)
    lon, lat = wcs.pixel_to_native([x], [y], plane.index)
    ra_deg, dec_deg = _json_float(ra[0]), _json_float(dec[0])
    ra_hms, dec_dms = _sexagesimal(ra_deg, dec_deg)
    return {
        "ra_deg": ra_deg,
        "dec_deg": dec_deg,
        "ra_hms": ra_hms,
        "dec_dms": dec_dms,
        "frame": wcs.frame_name,
        "native_lon_deg": _json_float(lon[0]),
        "native_lat_deg": _json_float(lat[0]),
    }


@router.get("/pixel", summary="Physical value, sky position and spectral value at one pixel")
def pixel(
    plane: PlaneDep,
    x: Annotated[float, Query(description="0-based column (FITS axis 1); pixel i spans i-0.5..i+0.5")],
    y: Annotated[float, Query(description="0-based row (FITS axis 2), increasing upward")],
) -> PixelOut:
    image = plane.ref.image
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidParameter("x and y must be finite numbers")
    col, row = math.floor(x + 0.5), math.floor(y + 0.5)
    if not (0 <= col < image.width and 0 <= row < image.height):
        raise InvalidParameter(f"pixel ({x}, {y}) is outside the {image.width}x{image.height} image")
    spectral = image.wcs.spectral_at(x, y, plane.index)
    return PixelOut.model_validate(
        {
            "x": x,
            "y": y,
            "column": col,
            "row": row,
            "plane": plane.index,
            "value": plane.plane.value(col, row),
            "unit": image.bunit,
            **_sky(plane, x, y),
            "spectral": None if spectral is None else dict(zip(("value", "unit", "kind"), spectral, strict=True)),
        }
    )


class _Batch(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="file path relative to files/")
    hdu: int | None = Field(default=None, ge=0, le=100_000)
    plane: int = Field(default=0, ge=0)


class PixelsIn(_Batch):
    x: list[float] = Field(max_length=MAX_BATCH, description="0-based columns")
    y: list[float] = Field(max_length=MAX_BATCH, description="0-based rows")


class WorldIn(_Batch):
    ra_deg: list[float] = Field(max_length=MAX_BATCH, description="longitudes in `frame`, degrees")
    dec_deg: list[float] = Field(max_length=MAX_BATCH, description="latitudes in `frame`, degrees")
    frame: str = Field(default="icrs", description="icrs, fk5, fk4, galactic, supergalactic, ecliptic or native")


def _batch_plane(services: ServicesDep, body: _Batch, first: list[float], second: list[float]) -> PlaneRef:
    if len(first) != len(second):
        raise InvalidParameter(f"the two coordinate lists differ in length ({len(first)} vs {len(second)})")
    file = services.images.resolve(body.path)
    hdu = resolve_hdu(file, body.hdu, services.images)
    image = services.images.get_resolved(file, hdu)
    return PlaneRef(ImageRef(body.path, file, hdu, image), body.plane, image.plane(body.plane))


@router.post(
    "/pixel-to-world",
    response_model=SkyBatchOut,
    summary="Batch: 0-based pixels -> ICRS degrees",
    dependencies=[BodySizeChecked],
)
def pixel_to_world(services: ServicesDep, body: PixelsIn) -> JSONResponse:
    """``{"count", "frame": "icrs", "ra_deg": [...], "dec_deg": [...]}`` (null where undefined)."""
    plane = _batch_plane(services, body, body.x, body.y)
    ra, dec = plane.ref.image.wcs.pixel_to_world(np.asarray(body.x), np.asarray(body.y), plane.index)
    # JSONResponse directly: FastAPI's generic encoder walks every float of a 100k-point batch.
    return JSONResponse({"count": len(body.x), "frame": "icrs", "ra_deg": _json_list(ra), "dec_deg": _json_list(dec)})


@router.post(
    "/world-to-pixel",
    response_model=PixelBatchOut,
    summary="Batch: sky degrees -> 0-based pixels",
    dependencies=[BodySizeChecked],
)
def world_to_pixel(services: ServicesDep, body: WorldIn) -> JSONResponse:
    """``{"count", "x_pix": [...], "y_pix": [...], "inside": [...]}`` (0-based; null where undefined)."""
    plane = _batch_plane(services, body, body.ra_deg, body.dec_deg)
    image = plane.ref.image
    x, y = image.wcs.world_to_pixel(np.asarray(body.ra_deg), np.asarray(body.dec_deg), plane.index, body.frame)
    with np.errstate(invalid="ignore"):
        inside = (x >= -0.5) & (x < image.width - 0.5) & (y >= -0.5) & (y < image.height - 0.5)
    return JSONResponse(
        {"count": len(body.ra_deg), "x_pix": _json_list(x), "y_pix": _json_list(y), "inside": inside.tolist()}
    )
