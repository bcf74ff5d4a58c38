"""Contours of an image plane (levels by list, count or sigma; smoothing), drawn on it or on
another image, as JSON lines for the page's overlay or as a DS9 region file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, FiniteFloat

from neloura.api.deps import ServicesDep, resolve_hdu
from neloura.api.openapi import IMAGE_ERRORS, Out, errors, text
from neloura.core.colormaps import parse_color
from neloura.core.contours import MAX_LEVELS
from neloura.runtime.contours import ContourSpec, PlaneName, contours, to_ds9, to_json
from neloura.runtime.services import Services

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/contours", tags=["contours"])

PathStr = Annotated[str, Field(min_length=1, max_length=4096, description="image path relative to files/")]


class PlaneRef(BaseModel):
    path: PathStr
    hdu: Annotated[int | None, Field(ge=0, le=100_000)] = None
    plane: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class ContourRequest(PlaneRef):
    levels: Annotated[
        list[FiniteFloat] | None, Field(min_length=1, max_length=MAX_LEVELS, description="physical values")
    ] = None
    n_levels: Annotated[int | None, Field(ge=1, le=MAX_LEVELS, description="count between vmin and vmax")] = None
    vmin: FiniteFloat | None = None
    vmax: FiniteFloat | None = None
    spacing: Annotated[Literal["linear", "log", "sqrt"], Field(description="level spacing (with n_levels)")] = "linear"
    sigma_levels: Annotated[
        list[FiniteFloat] | None, Field(min_length=1, max_length=MAX_LEVELS, description="median + k sigma")
    ] = None
    smooth_px: Annotated[float, Field(ge=0, le=100, description="Gaussian smoothing sigma, image pixels")] = 0.0
    max_size: Annotated[int, Field(ge=64, le=8192, description="trace on a block mean at most this large")] = 2048
    on: Annotated[PlaneRef | None, Field(description="draw on this image (reprojected through both WCSs)")] = None
    color: Annotated[str, Field(max_length=32, description="region colour of the DS9 export")] = "green"


class OnOut(Out):
    path: str
    hdu: int
    plane: int


class ContourOut(Out):
    paths: list[list[float | None]] = Field(description="flat [x0, y0, x1, y1, ...] (null: off the target's sky)")
    level: float


class ContoursOut(Out):
    levels: list[float] = Field(description="physical values, sorted")
    unit: str
    median: float = Field(description="sigma-clipped median of the plane")
    sigma: float = Field(description="sigma-clipped standard deviation of the plane")
    factor: int = Field(description="block size of the grid traced (1: full resolution)")
    truncated: bool = Field(description="the lines were cut at the point budget")
    n_points: int
    on: OnOut = Field(description="the image whose 0-based pixels the lines are in")
    contours: list[ContourOut]


def _run(services: Services, body: ContourRequest) -> dict[str, Any]:
    def name(ref: PlaneRef) -> PlaneName:
        return PlaneName(ref.path, resolve_hdu(services.images.resolve(ref.path), ref.hdu, services.images), ref.plane)

    spec = ContourSpec(
        levels=body.levels, n_levels=body.n_levels, vmin=body.vmin, vmax=body.vmax, spacing=body.spacing,
        sigma_levels=body.sigma_levels, smooth_px=body.smooth_px, max_size=body.max_size,
    )  # fmt: skip
    on = name(body.on) if body.on is not None else None
    return contours(services.images, services.levels, name(body), spec, on)


@router.post(
    "",
    response_model=ContoursOut,
    summary="Contour lines of an image plane in the pixels of the image they are drawn on",
)
def contour_lines(services: ServicesDep, body: ContourRequest) -> dict[str, Any]:
    """``{"levels", "unit", "median", "sigma", "factor", "truncated", "n_points", "on",
    "contours": [{"level", "paths": [[x0, y0, x1, y1, ...], ...]}]}`` (0-based pixels of ``on``)."""
    return to_json(_run(services, body))


@router.post(
    "/ds9",
    response_class=Response,
    responses=text("text/plain", description="DS9 region file"),
    summary="The contours as a DS9 region file of polygons",
)
def contour_regions(services: ServicesDep, body: ContourRequest) -> Response:
    parse_color(body.color)
    text = to_ds9(_run(services, body), body.color)
    headers = {"Content-Disposition": 'attachment; filename="contours.reg"'}
    return Response(content=text, media_type="text/plain", headers=headers)
