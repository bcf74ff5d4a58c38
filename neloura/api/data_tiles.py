"""Data tiles and stretch tables for the page's WebGL renderer (display changes without a tile
request).

``GET /api/images/data-tiles/{level}/{col}_{row}.u16``: the physical values under the Deep Zoom
tile of the same name as ``/api/images/tiles`` (same pyramid, block-mean levels and BSCALE/BZERO/
BLANK conversion; row 0 = top of the display), as asinh-companded uint16 codes with NaN kept
(layout: :mod:`neloura.core.data_tiles`), gzip-encoded when the client accepts it. Cached like
the PNG tiles: ``Cache-Control`` and a strong ``ETag`` that answers ``If-None-Match`` with 304.

``GET /api/images/stretch-table``: the 65,536 palette indices the PNG renderer maps normalised
values through, for a stretch, exponent and limits (the page computes the analytic stretches
itself; ``histequ`` depends on the plane's sample and the limits, so it comes from here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from neloura.api import query
from neloura.api.conditional import accepts_gzip, cache_headers, not_modified
from neloura.api.deps import ServicesDep, services_of
from neloura.api.openapi import IMAGE_ERRORS, NOT_MODIFIED, binary, errors
from neloura.api.tile_answer import TileAnswer, respond
from neloura.api.tiles import HduQ, PathQ, PlaneParams, PlaneQ
from neloura.core.data_tiles import MEDIA_TYPE
from neloura.errors import InvalidParameter
from neloura.runtime.data_tiles import data_etag, data_spec, render_data_tile, stretch_table
from neloura.runtime.tiles import TileService

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/images", tags=["images"])


def _parse_name(name: str) -> tuple[int, int]:
    stem, dot, ext = name.rpartition(".")
    col, underscore, row = stem.partition("_")
    if not (dot and ext == "u16" and underscore and col.isdigit() and row.isdigit()):
        raise InvalidParameter(f"data tile name must look like COL_ROW.u16, got {name!r}")
    return int(col), int(row)


def prepare_data_tile(
    tiles: TileService,
    level: int,
    name: str,
    params: Mapping[str, str],
    accept_encoding: str | None = None,
    *,
    may_block: bool = True,
) -> TileAnswer | None:
    """Validate a data-tile request and name its bytes (gzip-encoded when ``accept_encoding``
    allows). ``may_block=False``: None when the plane needs file I/O first."""
    col, row = _parse_name(name)
    q = query.validate(PlaneParams, params)
    path, hdu, plane = q.path, q.hdu, q.plane
    if not may_block and not tiles.ready(path, hdu, plane):
        return None
    spec = data_spec(tiles, path, level, col, row, hdu=hdu, plane=plane)
    gzip = accepts_gzip(accept_encoding)
    headers = cache_headers(data_etag(spec, gzip=gzip), provisional=spec.provisional, vary="Accept-Encoding")
    render = partial(render_data_tile, tiles, spec, gzip=gzip)
    return TileAnswer(headers, MEDIA_TYPE, None, render, "gzip" if gzip else None)


@router.get(
    "/data-tiles/{level}/{name}",
    response_class=Response,
    responses={**binary(MEDIA_TYPE, description="the tile's uint16 codes (gzip when accepted)"), **NOT_MODIFIED},
    openapi_extra=query.parameters(PlaneParams),
)
async def data_tile(level: int, name: str, request: Request) -> Response:
    """Physical values of one Deep Zoom tile (``name`` is ``COL_ROW.u16``) as uint16 codes.
    Usually answered by the lean path of :mod:`neloura.api.fast_tiles` (as PNG tiles)."""
    tiles = services_of(request).tiles
    params, encodings = dict(request.query_params), request.headers.get("accept-encoding")
    answer = prepare_data_tile(tiles, level, name, params, encodings, may_block=False)
    if answer is None:  # first use: opens the file and computes the default limits
        answer = await run_in_threadpool(partial(prepare_data_tile, tiles, level, name, params, encodings))
        assert answer is not None
    return await respond(tiles, answer, request.headers.get("if-none-match"))


@router.get(
    "/stretch-table",
    response_class=Response,
    responses={**binary("application/octet-stream", description="65,536 palette indices"), **NOT_MODIFIED},
)
async def stretch_table_route(
    request: Request,
    services: ServicesDep,
    path: PathQ,
    hdu: HduQ = 0,
    plane: PlaneQ = 0,
    stretch: Annotated[str, Query(description="linear log sqrt squared power asinh sinh histequ")] = "histequ",
    exponent: Annotated[float | None, Query(description="log: a (default 1000); power: p (default 2)")] = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Response:
    """65,536 palette indices (bytes 0..254): entry ``i`` is the index of ``x = i / 65535``
    between the limits, exactly as the PNG tiles map values."""
    key = services.images.plane_key(path, hdu, plane)
    text = "|".join(map(repr, (str(key[0]), key[1], hdu, plane, stretch, exponent, vmin, vmax)))
    etag = '"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"'
    headers = cache_headers(etag)
    if (unchanged := not_modified(request, headers)) is not None:
        return unchanged
    table = await run_in_threadpool(
        stretch_table,
        services.tiles,
        path,
        hdu=hdu,
        plane=plane,
        stretch=stretch,
        exponent=exponent,
        vmin=vmin,
        vmax=vmax,
    )
    return Response(content=table, media_type="application/octet-stream", headers=headers)
