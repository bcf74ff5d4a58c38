"""The pixel table (DS9's Analysis > Pixel Table): the physical values of a small box of pixels.

``x``, ``y`` are 0-based array indices of the centre pixel (``data[y, x]``, y up); the box holds
``size`` x ``size`` pixels (odd, at most 15), rows listed top (highest y) first as on the screen.
Values are physical (BSCALE/BZERO applied); blank, NaN, inf and pixels off the image are null.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from pydantic import Field

from neloura.api.deps import PlaneDep
from neloura.api.openapi import IMAGE_ERRORS, Out, errors
from neloura.errors import InvalidParameter

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/images", tags=["images"])


class PixelTableOut(Out):
    x: int
    y: int
    size: int
    columns: list[int] = Field(description="0-based column of each value of a row, left to right")
    rows: list[int] = Field(description="0-based row of each list of values, top (highest y) first")
    values: list[list[float | None]] = Field(description="physical values; null for blank, NaN, inf or off the image")
    unit: str


@router.get(
    "/pixel-table", response_model=PixelTableOut, summary="Physical values of the size x size pixels around one pixel"
)
def pixel_table(
    plane: PlaneDep,
    x: Annotated[int, Query(ge=0, le=10_000_000, description="0-based column of the centre pixel")],
    y: Annotated[int, Query(ge=0, le=10_000_000, description="0-based row of the centre pixel, increasing upward")],
    size: Annotated[
        int,
        Query(ge=1, le=15, description="box side in pixels (odd)", json_schema_extra={"enum": list(range(1, 16, 2))}),
    ] = 5,
) -> dict[str, Any]:
    image = plane.ref.image
    if size % 2 == 0:
        raise InvalidParameter("size must be odd (the centre pixel sits in the middle)")
    if not (0 <= x < image.width and 0 <= y < image.height):
        raise InvalidParameter(f"pixel ({x}, {y}) is outside the {image.width}x{image.height} image")
    half = size // 2
    box = np.full((size, size), np.nan, dtype=np.float64)
    window = plane.plane.read(y - half, y + half + 1, x - half, x + half + 1)
    y0, x0 = max(0, y - half) - (y - half), max(0, x - half) - (x - half)
    box[y0 : y0 + window.shape[0], x0 : x0 + window.shape[1]] = window
    rows = list(range(y + half, y - half - 1, -1))  # top of the screen first
    values = [[v if math.isfinite(v) else None for v in box[r - (y - half)].tolist()] for r in rows]
    return {
        "x": x,
        "y": y,
        "size": size,
        "columns": list(range(x - half, x + half + 1)),
        "rows": rows,
        "values": values,
        "unit": image.bunit,
    }
