"""The plotter: catalog columns or expressions as one binary columnar payload, and a row
selection (a lasso in the plot, rows in the table) exported as a catalog file."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from neloura.api.deps import ServicesDep
from neloura.api.openapi import EXPORT_MEDIA, binary, errors
from neloura.runtime.catalog_export import EXPORT_FORMATS, export_filename
from neloura.runtime.plotter import MAX_POINTS, export_rows, plot_data

router = APIRouter(responses=errors(404, 409, 413, 415, 422, 503), prefix="/api/plotter", tags=["plotter"])

AxisQ = Annotated[str | None, Query(max_length=2000, description="a column or a filter-language expression")]


@router.get(
    "/data",
    response_class=Response,
    responses=binary("application/octet-stream", description="packed float32 columns (see the docstring)"),
)
def data(
    services: ServicesDep,
    name: Annotated[str, Query(min_length=1, max_length=4096, description="catalog path relative to catalogs/")],
    x: Annotated[str, Query(min_length=1, max_length=2000, description="a column or an expression")],
    y: AxisQ = None,
    color: AxisQ = None,
    size: AxisQ = None,
    filter: Annotated[str | None, Query(description="filter expression")] = None,
    computed: Annotated[list[str] | None, Query(description="computed column NAME=EXPRESSION")] = None,
) -> Response:
    """Values of the filtered rows, file order (binary: see :mod:`neloura.core.plotter`); 413 above
    5,000,000 points."""
    payload = plot_data(
        services.catalogs,
        name,
        x=x,
        y=y or None,
        color=color or None,
        size=size or None,
        filter=filter or None,
        computed=computed,
    )
    return Response(content=payload, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})


class ExportBody(BaseModel):
    name: str = Field(min_length=1, max_length=4096, description="catalog path relative to catalogs/")
    rows: list[int] = Field(max_length=MAX_POINTS, description="0-based row indices in file order")
    columns: list[str] | None = None
    format: Literal["csv", "fits", "votable", "parquet"] = "csv"


@router.post(
    "/export",
    response_class=StreamingResponse,
    responses=binary(
        *EXPORT_MEDIA,
        description="the rows, streamed",
    ),
    summary="The given rows (a plot or table selection) as CSV, FITS, VOTable or Parquet",
)
def export(services: ServicesDep, body: ExportBody) -> StreamingResponse:
    stream = export_rows(services.catalogs, body.name, body.rows, body.format, body.columns)
    media, _ = EXPORT_FORMATS[body.format]
    filename = export_filename(body.name, body.format)
    return StreamingResponse(
        stream, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
