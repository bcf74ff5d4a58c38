"""Which images cover a sky position (the footprint index of files/), and typed positions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from neloura.api.deps import ServicesDep
from neloura.api.openapi import Out, errors
from neloura.core.footprints import parse_position

router = APIRouter(responses=errors(404, 422), prefix="/api/sky", tags=["sky"])

RaQuery = Annotated[float, Query(ge=-360, le=720, description="ICRS right ascension, degrees")]
DecQuery = Annotated[float, Query(ge=-90, le=90, description="ICRS declination, degrees")]
FolderQuery = Annotated[
    str | None, Query(max_length=4096, description="only images under this folder (relative to files/)")
]


class CoveringOut(Out):
    ra_deg: float
    dec_deg: float
    images: list[dict[str, Any]] = Field(description="each image footprint holding the position, with x_pix/y_pix")


class PositionOut(Out):
    ra_deg: float
    dec_deg: float
    frame: str


@router.get("/covering", summary="Every image HDU under files/ whose valid (non-NaN) footprint holds the position")
def covering(services: ServicesDep, ra_deg: RaQuery, dec_deg: DecQuery, folder: FolderQuery = None) -> CoveringOut:
    found = services.footprints.covering(ra_deg % 360.0, dec_deg, folder)
    return CoveringOut.model_validate(
        {
            "ra_deg": ra_deg % 360.0,
            "dec_deg": dec_deg,
            "images": [{**c.footprint.describe(), "x_pix": c.x_pix, "y_pix": c.y_pix} for c in found],
        }
    )


@router.get("/resolve", summary="A typed position (degrees or sexagesimal, in a named frame) in ICRS degrees")
def resolve(
    text: Annotated[str, Query(min_length=1, max_length=200, description="e.g. '150.1 2.2' or '10:00:24 +02:12:00'")],
    frame: Annotated[
        str, Query(max_length=32, description="icrs, fk5, fk4, galactic, supergalactic, ecliptic")
    ] = "icrs",
) -> PositionOut:
    ra, dec = parse_position(text, frame)
    return PositionOut(ra_deg=ra, dec_deg=dec, frame="icrs")
