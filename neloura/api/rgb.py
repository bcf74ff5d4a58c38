"""RGB composites of 2-5 images: build (a job, cached), state, Deep Zoom tiles, readout, limits,
exports (PNG, FITS cube), presets from header keywords, and the ``/open-rgb`` deep link."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field, FiniteFloat
from starlette.concurrency import run_in_threadpool

from neloura.api.conditional import cache_headers, not_modified
from neloura.api.deps import ServicesDep, resolve_hdu
from neloura.api.openapi import IMAGE_ERRORS, NOT_MODIFIED, Out, binary, errors, redirect
from neloura.api.session import owner_of
from neloura.core.bandpasses import order_by_wavelength, preset_colors
from neloura.core.limits import LIMIT_MODES
from neloura.core.rgb import MAX_CHANNELS, MIN_CHANNELS, hex_color
from neloura.core.stretch import STRETCHES
from neloura.errors import InvalidParameter
from neloura.runtime.rgb import ChannelRequest, image_band, plan_composite
from neloura.runtime.rgb_render import DisplayQuery

router = APIRouter(responses=errors(*IMAGE_ERRORS, 409), tags=["rgb"])


def _one_of(names: tuple[str, ...]) -> str:
    """A pattern matching exactly one of ``names``."""
    return "^(" + "|".join(names) + ")$"


PathStr = Annotated[str, Field(min_length=1, max_length=4096, description="image path relative to files/")]


class Channel(BaseModel):
    path: PathStr
    hdu: Annotated[int | None, Field(ge=0, le=100_000, description="HDU (default: the recommended one)")] = None
    plane: Annotated[int, Field(ge=0, le=1_000_000, description="plane of a cube")] = 0
    color: Annotated[str | None, Field(max_length=32, description="#rrggbb (default: by position)")] = None
    vmin: FiniteFloat | None = None
    vmax: FiniteFloat | None = None
    stretch: Annotated[str | None, Field(pattern=_one_of(STRETCHES), description=" ".join(STRETCHES))] = None
    weight: Annotated[float | None, Field(ge=0, le=100)] = None
    visible: bool | None = None


class RgbRequest(BaseModel):
    # the count is checked by the route (its 422 says "2 to 5 channels"); the schema says it too
    channels: Annotated[
        list[Channel],
        Field(
            description=f"{MIN_CHANNELS} to {MAX_CHANNELS} channels",
            json_schema_extra={"minItems": MIN_CHANNELS, "maxItems": MAX_CHANNELS},
        ),
    ]
    reference: Annotated[
        int | None, Field(ge=0, le=MAX_CHANNELS - 1, description="reference channel (default: finest pixel scale)")
    ] = None
    method: Annotated[Literal["interp", "exact"], Field(description="interp (bilinear) or exact (flux conserving)")] = (
        "interp"
    )


class PresetRequest(BaseModel):
    channels: Annotated[list[Channel], Field(min_length=1, max_length=50)]


class ChannelStateOut(Out):
    """One channel of a composite as built (band from its header; limits once ready)."""

    path: str
    hdu: int
    plane: int
    width: int
    height: int
    bunit: str
    telescope: str
    instrument: str
    filter: str
    pivot_um: float | None
    pivot_source: str = Field(description="header, table, name or empty")
    default_color: str = Field(description="#rrggbb")
    limits: dict[str, list[float]] | None = Field(description="percentiles, zscale, minmax [lo, hi] once ready")


class RgbStateOut(Out):
    id: str
    state: str = Field(description="building, ready or failed")
    progress: float = Field(description="0..1")
    message: str
    error: str | None
    job_id: str | None
    width: int = Field(description="of the reference grid, pixels")
    height: int
    tile_size: int
    max_level: int
    reference: int
    method: str
    mode: str = Field(description="wcs (reprojected) or pixel (same-shape images)")
    channels: list[ChannelStateOut]


class DisplayOut(Out):
    color: str
    vmin: float | None
    vmax: float | None
    stretch: str
    weight: float
    visible: bool


class RgbCreatedOut(RgbStateOut):
    display: list[DisplayOut] = Field(description="this request's display, defaults filled")


class ChannelValueOut(Out):
    index: int
    value: float | None = Field(description="physical value; null for blank/NaN or off the channel")
    unit: str
    filter: str
    path: str


class RgbPixelOut(Out):
    x: int
    y: int
    ra_deg: float | None
    dec_deg: float | None
    channels: list[ChannelValueOut]


class RgbLimitsOut(Out):
    channel: int
    mode: str
    vmin: float
    vmax: float


class PresetChannelOut(Out):
    path: str
    hdu: int
    plane: int
    telescope: str
    instrument: str
    filter: str
    pivot_um: float | None
    pivot_source: str
    color: str


class PresetsOut(Out):
    channels: list[PresetChannelOut] = Field(description="longest pivot wavelength first (red)")
    complete: bool = Field(description="every channel's pivot wavelength is known")


def _display(body: RgbRequest, state: dict[str, Any]) -> dict[str, Any]:
    """This request's display (colours, limits, stretches), defaults filled, as tile parameters."""
    n = len(body.channels)
    colors = preset_colors(n)
    out = []
    for i, ch in enumerate(body.channels):
        if ch.vmin is not None and ch.vmax is not None and not ch.vmin < ch.vmax:
            raise InvalidParameter(f"channel {i}: vmin ({ch.vmin}) must be smaller than vmax ({ch.vmax})")
        if ch.stretch is not None and ch.stretch not in STRETCHES:
            raise InvalidParameter(f"channel {i}: unknown stretch {ch.stretch!r}; use one of {', '.join(STRETCHES)}")
        out.append(
            {
                "color": hex_color(ch.color) if ch.color else colors[i],
                "vmin": ch.vmin,
                "vmax": ch.vmax,
                "stretch": ch.stretch or "linear",
                "weight": 1.0 if ch.weight is None else ch.weight,
                "visible": True if ch.visible is None else ch.visible,
            }
        )
    return {**state, "display": out}


@router.post(
    "/api/rgb",
    response_model=RgbCreatedOut,
    summary="Build (or reopen) a composite of 2-5 images; the same body gives the same id",
)
def create_rgb(request: Request, services: ServicesDep, body: RgbRequest) -> dict[str, Any]:
    if not MIN_CHANNELS <= len(body.channels) <= MAX_CHANNELS:
        raise InvalidParameter(f"a composite has {MIN_CHANNELS} to {MAX_CHANNELS} channels, got {len(body.channels)}")
    requests = [ChannelRequest(c.path, c.hdu, c.plane) for c in body.channels]
    plan = plan_composite(services.images, requests, body.reference, body.method)
    display = _display(body, {})  # bad colours/limits: 422 before any work
    return {**services.rgb.create(plan, user=owner_of(request)), **display}


@router.get(
    "/api/rgb/{rgb_id}",
    response_model=RgbStateOut,
    summary="State of a composite: building (progress), ready or failed",
)
def rgb_state(services: ServicesDep, rgb_id: str) -> dict[str, Any]:
    return services.rgb.state(rgb_id)


def display_query(
    color: Annotated[str, Query(max_length=400, description="hex colours, one per channel: ff0000,00ff00,0000ff")] = "",
    vmin: Annotated[str, Query(max_length=400, description="lower limits (empty entry: default)")] = "",
    vmax: Annotated[str, Query(max_length=400, description="upper limits")] = "",
    stretch: Annotated[str, Query(max_length=400, description="stretch per channel")] = "",
    visible: Annotated[str, Query(max_length=100, description="1 or 0 per channel")] = "",
    weight: Annotated[str, Query(max_length=400, description="weight per channel (0..100)")] = "",
    mode: Annotated[str, Query(max_length=16, description="add (linear light) or lupton")] = "add",
    q: Annotated[float, Query(gt=0, le=1e4, description="Lupton Q")] = 8.0,
    lupton_stretch: Annotated[float, Query(gt=0, le=1e4, description="Lupton stretch")] = 0.5,
) -> DisplayQuery:
    return DisplayQuery(color, vmin, vmax, stretch, visible, weight, mode, q, lupton_stretch)


DisplayDep = Annotated[DisplayQuery, Depends(display_query)]


@router.get(
    "/api/rgb/{rgb_id}/tiles/{level}/{name}",
    responses={**binary("image/png", description="the tile"), **NOT_MODIFIED},
    response_class=Response,
    summary="One Deep Zoom tile (COL_ROW.png) of a composite; 409 while it builds",
)
async def rgb_tile(
    rgb_id: str, level: int, name: str, request: Request, services: ServicesDep, display: DisplayDep
) -> Response:
    stem, dot, fmt = name.rpartition(".")
    col, underscore, row = stem.partition("_")
    if not (dot and underscore and col.isdigit() and row.isdigit() and fmt.lower() == "png"):
        raise InvalidParameter(f"tile name must look like COL_ROW.png, got {name!r}")
    comp = await run_in_threadpool(services.rgb.get, rgb_id)
    comp.geometry.tile(level, int(col), int(row))  # 422 outside the pyramid
    render = services.rgb_render
    resolved = render.resolve(comp, display)
    tag = render.etag(resolved, level, int(col), int(row))
    headers = cache_headers(tag)
    if (unchanged := not_modified(request, headers)) is not None:
        return unchanged
    data = render.cache.get(tag)
    if data is None:
        data = await run_in_threadpool(render.tile, comp, resolved, level, int(col), int(row))
    return Response(content=data, media_type="image/png", headers=headers)


@router.get(
    "/api/rgb/{rgb_id}/png",
    response_class=Response,
    responses=binary("image/png", description="the composite"),
    summary="The whole composite as a PNG of a width",
)
def rgb_png(
    services: ServicesDep, rgb_id: str, display: DisplayDep, width: Annotated[int, Query(ge=16, le=16384)] = 2048
) -> Response:
    comp = services.rgb.get(rgb_id)
    data = services.rgb_render.export_png(comp, services.rgb_render.resolve(comp, display), width)
    headers = {"Content-Disposition": f'attachment; filename="rgb_{rgb_id[:8]}_{width}px.png"'}
    return Response(content=data, media_type="image/png", headers=headers)


@router.get(
    "/api/rgb/{rgb_id}/fits",
    response_class=FileResponse,
    responses=binary("application/fits", description="the channels as a cube"),
    summary="The reprojected channels as a FITS cube with the reference WCS",
)
def rgb_fits(services: ServicesDep, rgb_id: str) -> FileResponse:
    comp = services.rgb.get(rgb_id)
    header = services.rgb.reference_header(comp)
    path = services.rgb_render.fits_cube(comp, services.rgb.folder(rgb_id), header)
    return FileResponse(path, media_type="application/fits", filename=f"rgb_{rgb_id[:8]}.fits")


@router.get(
    "/api/rgb/{rgb_id}/pixel",
    response_model=RgbPixelOut,
    summary="Every channel's physical value and the sky position at a pixel",
)
def rgb_pixel(
    services: ServicesDep,
    rgb_id: str,
    x: Annotated[int, Query(ge=0, le=10_000_000)],
    y: Annotated[int, Query(ge=0, le=10_000_000)],
) -> dict[str, Any]:
    comp = services.rgb.get(rgb_id)
    values = services.rgb_render.pixel(comp, x, y)
    ref = comp.meta["channels"][comp.meta["reference"]]
    ra = dec = None
    if comp.meta["mode"] == "wcs":
        wcs = services.images.get(ref["path"], int(ref["hdu"])).wcs
        ras, decs = wcs.pixel_to_world([float(x)], [float(y)], int(ref["plane"]))
        ra, dec = float(ras[0]), float(decs[0])
    channels = [
        {"index": i, "value": v, "unit": c.get("bunit", ""), "filter": c.get("filter", ""), "path": c["path"]}
        for i, (v, c) in enumerate(zip(values, comp.meta["channels"], strict=True))
    ]
    return {"x": x, "y": y, "ra_deg": ra, "dec_deg": dec, "channels": channels}


@router.get(
    "/api/rgb/{rgb_id}/limits",
    response_model=RgbLimitsOut,
    summary="Limits of one reprojected channel (percentiles, minmax, zscale)",
)
def rgb_limits(
    services: ServicesDep,
    rgb_id: str,
    channel: Annotated[int, Query(ge=0, le=MAX_CHANNELS - 1)],
    mode: Annotated[str, Query(pattern=_one_of(LIMIT_MODES), description=" ".join(LIMIT_MODES))] = "percentiles",
    low: Annotated[float, Query(ge=0, le=100)] = 0.5,
    high: Annotated[float, Query(ge=0, le=100)] = 99.5,
) -> dict[str, Any]:
    comp = services.rgb.get(rgb_id)
    vmin, vmax = services.rgb_render.limits(comp, channel, mode, low, high)
    return {"channel": channel, "mode": mode, "vmin": vmin, "vmax": vmax}


@router.post(
    "/api/rgb/presets",
    response_model=PresetsOut,
    summary="Channels ordered by pivot wavelength (longest red) from header keywords",
)
def rgb_presets(services: ServicesDep, body: PresetRequest) -> dict[str, Any]:
    found = []
    for ch in body.channels:
        file = services.images.resolve(ch.path)
        hdu = resolve_hdu(file, ch.hdu, services.images)
        image = services.images.get_resolved(file, hdu)
        found.append(({"path": ch.path, "hdu": hdu, "plane": ch.plane}, image_band(image)))
    order = order_by_wavelength([band for _, band in found])
    colors = preset_colors(len(order))
    channels = [{**found[i][0], **found[i][1].public(), "color": colors[k]} for k, i in enumerate(order)]
    return {"channels": channels, "complete": all(c["pivot_um"] is not None for c in channels)}


_LETTERS = ("r", "g", "b")


@router.get(
    "/open-rgb",
    response_class=RedirectResponse,
    status_code=307,
    responses=redirect("to the page, with the composite in its query"),
    summary="Deep link: a composite of r, g, b (and ch3, ch4) images -> 307 to the page",
)
def open_rgb(services: ServicesDep, request: Request) -> RedirectResponse:
    """``?r=<path>&g=<path>&b=<path>`` with optional ``r_hdu``, ``r_plane``, ``r_color``, ``r_vmin``,
    ``r_vmax``, ``r_stretch``... per letter; extra channels as ``ch3=<path>&ch3_hdu=...``."""
    query = request.query_params
    channels: list[tuple[str, str]] = [(p, str(i)) for i, p in enumerate(_LETTERS) if query.get(p)]
    channels += [(f"ch{i}", str(i)) for i in range(len(_LETTERS), 10) if query.get(f"ch{i}")]
    if not MIN_CHANNELS <= len(channels) <= MAX_CHANNELS:
        raise InvalidParameter(f"a composite has {MIN_CHANNELS} to {MAX_CHANNELS} channels, got {len(channels)}")
    colors = {"r": "#ff0000", "g": "#00ff00", "b": "#0000ff"}
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    for k, (prefix, _) in enumerate(channels):
        services.images.resolve(query[prefix])  # 403/404 now rather than on the page
        pairs.append((f"ch{k}", query[prefix]))
        used.add(prefix)
        if prefix in colors and not query.get(f"{prefix}_color"):
            pairs.append((f"ch{k}_color", colors[prefix]))
        for key, value in query.multi_items():
            if key.startswith(prefix + "_"):
                pairs.append((f"ch{k}_{key[len(prefix) + 1 :]}", value))
                used.add(key)
    pairs += [(k, v) for k, v in query.multi_items() if k not in used and not k.startswith(("ch", "r_", "g_", "b_"))]
    return RedirectResponse("/?" + urlencode(pairs), status_code=307)
