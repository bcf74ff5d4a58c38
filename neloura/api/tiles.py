"""Deep Zoom tiles and the histogram of an image plane.

``GET /api/images/tiles/{level}/{col}_{row}.{png|jpg}`` follows OpenSeadragon's Deep Zoom
convention (256-px tiles, no overlap, level 0 = 1x1, ``max_level = ceil(log2(max(w, h)))`` is
full resolution, edge tiles smaller), with FITS row 0 at the BOTTOM of the displayed image.

Display convention shared with the front end:

* every display parameter is in the URL, so a tile URL names its pixels: browsers and proxies
  cache it (``Cache-Control``), and the strong ``ETag`` (a hash of file, mtime and parameters)
  answers ``If-None-Match`` with 304;
* PNG tiles are 8-bit palette images: indices 0..254 carry data (``round(stretch(x) * 254)``
  with ``x = (value - vmin) / (vmax - vmin)`` clipped to [0, 1]), index 255 is NaN/blank, drawn
  in ``nan_color`` (default ``transparent``: alpha 0 through the PNG tRNS chunk);
* ``invert=true`` flips the colormap; ``cmap`` is any matplotlib colormap or its ``_r`` reverse;
* defaults: ``stretch=linear``, ``cmap=gray``, ``vmin``/``vmax`` = the default limits (0.5/99.5
  percentiles of a sample spread over the whole plane, as ``/api/images/info`` reports them).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from neloura.api import query
from neloura.api.conditional import cache_headers
from neloura.api.deps import ServicesDep, services_of
from neloura.api.openapi import IMAGE_ERRORS, NOT_MODIFIED, Out, binary, errors
from neloura.api.tile_answer import TileAnswer, respond
from neloura.core.colormaps import TRANSPARENT
from neloura.core.histogram import MAX_BINS, histogram
from neloura.core.limits import percentile_limits, user_limits, zscale_limits
from neloura.errors import InvalidParameter
from neloura.runtime.tiles import TileService

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/images", tags=["images"])

PathQ = Annotated[str, Query(description="image path relative to files/, e.g. demo/galaxy.fits")]
HduQ = Annotated[int, Query(ge=0, description="HDU index")]
PlaneQ = Annotated[int, Query(ge=0, description="plane index along the cube's plane axis")]


def _parse_tile_name(name: str) -> tuple[int, int, str]:
    stem, dot, fmt = name.rpartition(".")
    col, underscore, row = stem.partition("_")
    if not (dot and underscore and col.isdigit() and row.isdigit()):
        raise InvalidParameter(f"tile name must look like COL_ROW.png or COL_ROW.jpg, got {name!r}")
    return int(col), int(row), fmt.lower()


class RangeOut(Out):
    vmin: float | None
    vmax: float | None


class HistogramOut(Out):
    bins: int
    counts: list[int]
    edges: list[float] = Field(description="bins + 1 edges, physical units")
    vmin: float | None
    vmax: float | None
    below: int = Field(description="sample values below vmin")
    above: int = Field(description="sample values above vmax")
    sample_size: int
    default_limits: RangeOut
    limits: dict[str, RangeOut] = Field(description="percentiles, minmax and zscale limits")


class PlaneParams(BaseModel):
    """The plane a data request names (query parameters)."""

    path: str = Field(description="image path relative to files/, e.g. demo/galaxy.fits")
    hdu: int = Field(0, ge=0, description="HDU index")
    plane: int = Field(0, ge=0, description="plane index along the cube's plane axis")


class TileParams(PlaneParams):
    """A PNG/JPEG tile's plane and display (query parameters)."""

    stretch: str = Field("linear", description="linear log sqrt squared power asinh sinh histequ")
    exponent: float | None = Field(None, description="log: a (default 1000); power: p (default 2)")
    cmap: str = Field("gray", description="any matplotlib colormap, reverses as name_r")
    invert: bool = False
    nan_color: str = Field(TRANSPARENT, description="transparent, a colour name or #rrggbb[aa]")
    vmin: float | None = None
    vmax: float | None = None


def prepare_tile(
    tiles: TileService,
    level: int,
    name: str,
    params: Mapping[str, str],
    accept_encoding: str | None = None,
    *,
    may_block: bool = True,
) -> TileAnswer | None:
    """Validate a tile request and name its bytes. ``may_block=False``: None when the plane
    needs file I/O first (opening the file, computing the default limits); raises the request's
    error otherwise. ``accept_encoding`` is unused: PNG and JPEG are compressed already."""
    col, row, fmt = _parse_tile_name(name)
    q = query.validate(TileParams, params)  # one validation pass: the route's hottest cost otherwise
    key = tiles.ready_key(q.path, q.hdu, q.plane, limits_given=q.vmin is not None and q.vmax is not None)
    if key is None and not may_block:
        return None
    spec = tiles.spec(q.path, level, col, row, fmt, **q.model_dump(exclude={"path"}), key=key)
    headers = cache_headers(spec.etag, provisional=spec.provisional)
    return TileAnswer(headers, spec.media_type, tiles.cache.get(spec.etag), partial(tiles.render, spec))


@router.get(
    "/tiles/{level}/{name}",
    responses={**binary("image/png", "image/jpeg", description="the tile"), **NOT_MODIFIED},
    response_class=Response,
    openapi_extra=query.parameters(TileParams),
)
async def tile(level: int, name: str, request: Request) -> Response:
    """One Deep Zoom tile (``name`` is ``COL_ROW.png`` or ``COL_ROW.jpg``) of an image plane.
    Usually answered by the lean path of :mod:`neloura.api.fast_tiles`; this route answers the
    first tiles of a plane (file I/O) and every refusal."""
    tiles = services_of(request).tiles
    params = dict(request.query_params)
    answer = prepare_tile(tiles, level, name, params, may_block=False)
    if answer is None:  # first use: opens the file and computes the default limits
        answer = await run_in_threadpool(partial(prepare_tile, tiles, level, name, params))
        assert answer is not None
    return await respond(tiles, answer, request.headers.get("if-none-match"))


@router.get("/histogram")
def image_histogram(
    services: ServicesDep,
    path: PathQ,
    hdu: HduQ = 0,
    plane: PlaneQ = 0,
    bins: Annotated[int, Query(ge=1, le=MAX_BINS)] = 256,
    vmin: float | None = None,
    vmax: float | None = None,
) -> HistogramOut:
    """Histogram of physical values over the plane's sample, between the current limits
    (``vmin``/``vmax``, each defaulting to the default limits), with the limits of every mode."""
    images = services.images
    images.get(path, hdu).plane(plane)  # 404/403/415/422 before any work
    sample = images.sample(path, hdu, plane)
    default = images.default_limits(path, hdu, plane)
    lo, hi = user_limits(sample, default[0] if vmin is None else vmin, default[1] if vmax is None else vmax)
    result = histogram(sample, bins, lo, hi)
    return HistogramOut.model_validate(
        {
            "bins": bins,
            "counts": result.counts.tolist(),
            "edges": result.edges.tolist(),
            "vmin": result.vmin,
            "vmax": result.vmax,
            "below": result.below,
            "above": result.above,
            "sample_size": result.sample_size,
            "default_limits": {"vmin": default[0], "vmax": default[1]},
            "limits": {
                "percentiles": dict(zip(("vmin", "vmax"), percentile_limits(sample), strict=True)),
                "minmax": dict(
                    zip(("vmin", "vmax"), services.tiles.minmax_limits(path, hdu, plane, wait=False), strict=True)
                ),
                "zscale": dict(zip(("vmin", "vmax"), zscale_limits(sample), strict=True)),
            },
        }
    )
