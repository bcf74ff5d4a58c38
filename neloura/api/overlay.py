"""Catalog overlays on the open image: a compact binary payload, and rows by index for popups.

``GET /api/catalogs/overlay`` answers ``application/octet-stream`` in the layout documented in
:mod:`neloura.core.overlay` (48-byte header, then float32 x, float32 y, uint32 row, optional
uint16 size and uint16 colour per source: 12-16 bytes per source), gzip-encoded when the client
accepts it and that saves at least 10 % (``Content-Encoding: gzip``), with a strong ``ETag``
(catalog and image file versions + parameters) that answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from neloura.api.conditional import accepts_gzip, etag_matches
from neloura.api.deps import ServicesDep
from neloura.api.openapi import Out, binary, errors
from neloura.errors import InvalidParameter
from neloura.runtime.crossmatch import table_rows
from neloura.runtime.overlay import OverlayRequest

router = APIRouter(responses=errors(404, 409, 413, 415, 422, 503), prefix="/api/catalogs", tags=["catalogs"])

MAX_TAKE = 5_000


@router.get(
    "/overlay",
    response_class=Response,
    responses=binary("application/octet-stream", description="packed overlay positions (see the docstring)"),
)
def overlay(
    http: Request,
    services: ServicesDep,
    name: Annotated[str, Query(min_length=1, max_length=4096, description="catalog, relative to catalogs/")],
    path: Annotated[str, Query(description="image, relative to files/")],
    hdu: Annotated[int, Query(ge=0)] = 0,
    plane: Annotated[int, Query(ge=0)] = 0,
    ra_col: str | None = None,
    dec_col: str | None = None,
    size_col: Annotated[str | None, Query(description="column of marker radii, or a constant radius")] = None,
    size_unit: Annotated[str, Query(description="px (image pixels), arcsec, arcmin or deg")] = "px",
    color_col: str | None = None,
    color_scale: Annotated[str, Query(description="linear or log (log10 of the colour column)")] = "linear",
    filter: str | None = None,
    computed: Annotated[
        list[str] | None, Query(description="computed columns NAME=EXPRESSION the filter may name (as on /rows)")
    ] = None,
) -> Response:
    """Sources inside the image footprint projected through its full WCS (binary, see module doc)."""
    request = OverlayRequest(
        name=name,
        path=path,
        hdu=hdu,
        plane=plane,
        ra_col=ra_col or None,
        dec_col=dec_col or None,
        size=size_col or None,
        size_unit=size_unit,
        color_col=color_col or None,
        color_scale=color_scale,
        filter=filter or None,
        computed=tuple(computed or ()),
    )
    overlays = services.overlays
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}  # kept, revalidated by ETag
    etag = overlays.etag(request)
    if etag_matches(http.headers.get("if-none-match"), etag) or etag_matches(
        http.headers.get("if-none-match"), etag[:-1] + '-gz"'
    ):
        return Response(status_code=304, headers={**headers, "ETag": etag})
    sent = overlays.encoded(request, accept_gzip=accepts_gzip(http.headers.get("accept-encoding")))
    headers["ETag"] = sent.etag
    if sent.gzip:
        headers["Content-Encoding"] = "gzip"
    return Response(content=sent.body, media_type="application/octet-stream", headers=headers)


class TakeBody(BaseModel):
    name: str = Field(min_length=1, max_length=4096, description="catalog, relative to catalogs/")
    rows: list[Annotated[int, Field(ge=0)]] = Field(
        max_length=MAX_TAKE, description="0-based row indices in file order"
    )
    columns: list[str] | None = None


class TakenOut(Out):
    columns: list[str]
    rows: list[list[Any]] = Field(description="one list of values per row, in the order of columns")
    index: list[int] = Field(description="0-based row indices in file order, as asked")


@router.post("/overlay/rows")
def take_rows(services: ServicesDep, body: TakeBody) -> TakenOut:
    """Values of the given rows (marker popups and labels): ``{"columns", "rows", "index"}``."""
    table = services.sky.catalogs.table(body.name)
    rows = np.asarray(body.rows, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= table.num_rows):
        raise InvalidParameter(f"row indices must be within 0..{table.num_rows - 1}")
    names, values = table_rows(table, rows, body.columns)
    return TakenOut.model_validate({"columns": names, "rows": values, "index": rows.tolist()})
