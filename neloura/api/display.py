"""Display helpers for the page: colormap list and swatches, limit presets, colorbar ticks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import Field

from neloura.api.deps import PlaneDep, ServicesDep
from neloura.api.openapi import IMAGE_ERRORS, Out, binary, errors
from neloura.core.colormaps import colormap_names
from neloura.core.display import colorbar_ticks, swatch_png
from neloura.core.limits import LIMIT_MODES, compute_limits, user_limits
from neloura.core.stretch import STRETCHES
from neloura.errors import InvalidParameter

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/images", tags=["display"])
_CACHE = {"Cache-Control": "public, max-age=86400"}


class ColormapsOut(Out):
    colormaps: list[str]
    stretches: list[str]
    limit_modes: list[str]


class LimitsOut(Out):
    mode: str
    vmin: float | None
    vmax: float | None


class TickOut(Out):
    position: float = Field(description="0..1 along the bar")
    value: float | None = Field(description="physical value at that position")


class ColorbarOut(Out):
    unit: str
    vmin: float | None
    vmax: float | None
    ticks: list[TickOut]


@router.get("/colormaps", summary="Every colormap name (matplotlib, reverses as name_r) and the stretches")
def colormaps() -> ColormapsOut:
    return ColormapsOut.model_validate(
        {"colormaps": colormap_names(), "stretches": list(STRETCHES), "limit_modes": list(LIMIT_MODES)}
    )


@router.get(
    "/colormaps/{name}.png",
    summary="A swatch of one colormap",
    response_class=Response,
    responses=binary("image/png", description="the swatch"),
)
def colormap_swatch(
    name: Annotated[str, PathParam(description="a matplotlib colormap", json_schema_extra={"enum": colormap_names()})],
    width: Annotated[int, Query(ge=8, le=1024)] = 128,
    height: Annotated[int, Query(ge=1, le=64)] = 12,
    invert: bool = False,
) -> Response:
    return Response(swatch_png(name, width, height, invert=invert), media_type="image/png", headers=_CACHE)


@router.get("/limits", summary="Display limits of a plane by mode (percentiles low/high, minmax, zscale)")
def limits(
    services: ServicesDep,
    plane: PlaneDep,
    mode: str = "percentiles",
    low: Annotated[float, Query(ge=0, le=100)] = 0.5,
    high: Annotated[float, Query(ge=0, le=100)] = 99.5,
) -> LimitsOut:
    if mode not in LIMIT_MODES or mode == "user":
        raise InvalidParameter(f"unknown limits mode {mode!r}; use percentiles, minmax or zscale")
    if mode == "minmax":  # the whole plane's extremes, not the sample's
        vmin, vmax = services.tiles.minmax_limits(plane.ref.path, plane.ref.hdu, plane.index)
        return LimitsOut(mode=mode, vmin=vmin, vmax=vmax)
    sample = services.images.sample(plane.ref.path, plane.ref.hdu, plane.index)
    vmin, vmax = compute_limits(sample, mode, low=low, high=high)
    return LimitsOut(mode=mode, vmin=vmin, vmax=vmax)


@router.get("/colorbar", summary="Colorbar ticks: physical values at evenly spaced positions of the bar")
def colorbar(
    services: ServicesDep,
    plane: PlaneDep,
    stretch: str = "linear",
    exponent: float | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    ticks: Annotated[int, Query(ge=2, le=21)] = 6,
) -> ColorbarOut:
    ref = plane.ref
    sample = services.images.sample(ref.path, ref.hdu, plane.index)
    if vmin is None or vmax is None:
        dmin, dmax = services.images.default_limits(ref.path, ref.hdu, plane.index)
        vmin = dmin if vmin is None else vmin
        vmax = dmax if vmax is None else vmax
    lo, hi = user_limits(sample, vmin, vmax)
    pairs = colorbar_ticks(stretch, lo, hi, ticks, exponent=exponent, sample=sample if stretch == "histequ" else None)
    ticks_out = [{"position": p, "value": v} for p, v in pairs]
    return ColorbarOut.model_validate({"unit": ref.image.bunit, "vmin": lo, "vmax": hi, "ticks": ticks_out})
