"""Positional catalog queries: cone search, box search and cross-match of two catalogs.

Row indices are 0-based positions in the catalog file (file order). Positions are ICRS; ``ra``
and ``dec`` accept degrees or sexagesimal (``10:00:24`` hours, ``-02:30:00`` degrees).
Indexes are built on first use (seconds for ten million rows) and kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from neloura.api.deps import ServicesDep
from neloura.api.openapi import EXPORT_MEDIA, Out, binary, errors
from neloura.core.catalogs import ColumnInfo
from neloura.core.crossmatch import MatchResult, join_indices, parse_dec_deg, parse_ra_deg
from neloura.runtime.catalog_export import EXPORT_FORMATS, export_filename, table_stream
from neloura.runtime.crossmatch import joined_names, joined_table, split_columns, table_rows

router = APIRouter(responses=errors(404, 409, 413, 415, 422, 503), prefix="/api/catalogs", tags=["catalogs"])

MAX_ROWS = 10_000
MAX_PAIRS = 100_000
Offset = Annotated[int, Query(ge=0, description="first result to return (0-based)")]
Limit = Annotated[int, Query(ge=0, le=MAX_ROWS, description="results per page")]
# a catalog name (also CrossmatchBody's a and b, which the export builds from its query)
CatalogQ = Annotated[str, Query(min_length=1, max_length=4096, description="catalog, relative to catalogs/")]


@dataclass(frozen=True)
class Search:
    """The query parameters a cone and a box search share: catalog, position columns, filter, page."""

    name: str
    ra_col: str | None
    dec_col: str | None
    filter: str | None
    columns: str | None
    offset: int
    limit: int


def _search(
    name: CatalogQ,
    ra_col: str | None = None,
    dec_col: str | None = None,
    filter: str | None = None,
    columns: str | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Search:
    return Search(name, ra_col, dec_col, filter, columns, offset, limit)


SearchDep = Annotated[Search, Depends(_search)]


class PageOut(Out):
    """A page of catalog rows found on the sky."""

    total: int = Field(description="rows found (before paging)")
    offset: int
    columns: list[str]
    rows: list[list[Any]] = Field(description="one list of values per row, in the order of columns")
    index: list[int] = Field(description="0-based row indices in file order")


def _page(
    services: ServicesDep, search: Search, rows: np.ndarray, extra: tuple[str, np.ndarray] | None = None
) -> PageOut:
    table = services.sky.catalogs.table(search.name)
    window = slice(search.offset, search.offset + search.limit)
    page = rows[window]
    names, values = table_rows(table, page, split_columns(search.columns))
    if extra is not None:
        label, column = extra
        names = [*names, label]
        values = [[*row, float(v)] for row, v in zip(values, column[window].tolist(), strict=True)]
    found = {"total": int(rows.size), "offset": search.offset, "columns": names, "rows": values, "index": page.tolist()}
    return PageOut.model_validate(found)


def _filtered(services: ServicesDep, search: Search, rows: np.ndarray) -> np.ndarray:
    if not search.filter or not search.filter.strip():
        return np.ones(rows.size, dtype=bool)
    selected = np.asarray(services.sky.catalogs.select(search.name, search.filter), dtype=np.int64)
    return np.isin(rows, selected)


@router.get("/cone")
def cone(
    services: ServicesDep,
    search: SearchDep,
    ra: Annotated[str, Query(description="centre RA: degrees or sexagesimal hours")],
    dec: Annotated[str, Query(description="centre Dec: degrees or sexagesimal degrees")],
    radius_arcsec: Annotated[float, Query(ge=0, le=180 * 3600)],
) -> PageOut:
    """Rows within ``radius_arcsec`` of a position, nearest first, with a ``separation_arcsec`` column."""
    centre_ra, centre_dec = parse_ra_deg(ra), parse_dec_deg(dec)
    index = services.sky.get(search.name, search.ra_col, search.dec_col)
    rows, sep = index.cone(centre_ra, centre_dec, radius_arcsec)
    keep = _filtered(services, search, rows)
    return _page(services, search, rows[keep], ("separation_arcsec", sep[keep]))


@router.get("/box")
def box(services: ServicesDep, search: SearchDep, ra_min: str, ra_max: str, dec_min: str, dec_max: str) -> PageOut:
    """Rows with RA in [ra_min, ra_max] (eastwards; ra_min > ra_max crosses RA 0) and Dec in
    [dec_min, dec_max], in file order."""
    index = services.sky.get(search.name, search.ra_col, search.dec_col)
    rows = index.box(parse_ra_deg(ra_min), parse_ra_deg(ra_max), parse_dec_deg(dec_min), parse_dec_deg(dec_max))
    return _page(services, search, rows[_filtered(services, search, rows)])


Join = Literal["none", "matched", "left", "full"]


class CrossmatchBody(BaseModel):
    a: str = Field(
        min_length=1, max_length=4096, description="catalog A (every row of A looks for B within the radius)"
    )
    b: str = Field(min_length=1, max_length=4096, description="catalog B")
    radius_arcsec: float = Field(gt=0, le=600, description="match radius (at most 10 arcmin)")
    mode: Literal["best", "all"] = "best"
    a_ra_col: str | None = None
    a_dec_col: str | None = None
    b_ra_col: str | None = None
    b_dec_col: str | None = None
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=1000, ge=0, le=MAX_PAIRS)
    join: Join = Field(
        default="none",
        description="also return the joined table (both catalogs' columns): matched = one row per pair, "
        "left = every A row (unmatched with empty B columns), full = left plus the unmatched B rows",
    )
    suffix_a: str = Field(default="_1", max_length=16, description="suffix of A's columns whose names clash")
    suffix_b: str = Field(default="_2", max_length=16, description="suffix of B's columns whose names clash")


def _match(services: ServicesDep, body: CrossmatchBody) -> MatchResult:
    return services.sky.match(
        (body.a, body.a_ra_col, body.a_dec_col), (body.b, body.b_ra_col, body.b_dec_col), body.radius_arcsec, body.mode
    )


def _joined(
    services: ServicesDep, body: CrossmatchBody, result: MatchResult
) -> tuple[Any, Any, np.ndarray, np.ndarray, np.ndarray]:
    table_a, table_b = services.sky.catalogs.table(body.a), services.sky.catalogs.table(body.b)
    how = "matched" if body.join == "none" else body.join
    rows_a, rows_b, sep = join_indices(result, table_a.num_rows, table_b.num_rows, how)
    return table_a, table_b, rows_a, rows_b, sep


class CrossmatchOut(Out):
    """The pairs' page; with ``join``, also the joined table's page."""

    total: int = Field(description="pairs found")
    offset: int
    matched_a: int = Field(description="rows of A with at least one match")
    pairs: list[list[int | float]] = Field(description="[row_a, row_b, separation_arcsec], 0-based rows")
    join: Join | None = None
    joined_total: int | None = Field(default=None, description="rows of the joined table")
    columns: list[str] | None = None
    rows: list[list[Any]] | None = Field(default=None, description="the joined table's page")
    rows_a: list[int | None] | None = Field(default=None, description="A's row of each joined row (null: none)")
    rows_b: list[int | None] | None = Field(default=None, description="B's row of each joined row (null: none)")


@router.post("/crossmatch", response_model_exclude_unset=True)
def crossmatch(services: ServicesDep, body: CrossmatchBody) -> CrossmatchOut:
    """Pairs ``[row_a, row_b, separation_arcsec]`` within the radius, sorted by row_a then
    separation; ``best`` keeps the nearest B for each matched A. Paged with offset/limit.
    With ``join``, also the joined table's page: ``joined_total``, ``columns`` (A's, B's with
    ``suffix_a``/``suffix_b`` on clashing names, ``separation_arcsec``), ``rows``, ``rows_a`` and
    ``rows_b`` (null where a side is missing)."""
    result = _match(services, body)
    window = slice(body.offset, body.offset + body.limit)
    pairs = [
        [a, b, s]
        for a, b, s in zip(
            result.rows_a[window].tolist(),
            result.rows_b[window].tolist(),
            result.separation_arcsec[window].tolist(),
            strict=True,
        )
    ]
    answer: dict[str, Any] = {
        "total": len(result),
        "offset": body.offset,
        "matched_a": int(np.unique(result.rows_a).size),
        "pairs": pairs,
    }
    if body.join != "none":
        table_a, table_b, rows_a, rows_b, sep = _joined(services, body, result)
        page = joined_table(
            table_a, table_b, rows_a[window], rows_b[window], sep[window], (body.suffix_a, body.suffix_b)
        )
        _, values = table_rows(page, np.arange(page.num_rows))
        answer.update(
            join=body.join,
            joined_total=int(rows_a.size),
            columns=list(page.column_names),
            rows=values,
            rows_a=[None if r < 0 else r for r in rows_a[window].tolist()],
            rows_b=[None if r < 0 else r for r in rows_b[window].tolist()],
        )
    return CrossmatchOut.model_validate(answer)


@router.get(
    "/crossmatch/export",
    response_class=StreamingResponse,
    responses=binary(
        *EXPORT_MEDIA,
        description="the joined table, streamed",
    ),
    summary="The joined table of a cross-match as CSV, FITS, VOTable or Parquet",
)
def crossmatch_export(
    services: ServicesDep,
    a: CatalogQ,
    b: CatalogQ,
    radius_arcsec: Annotated[float, Query(gt=0, le=600)],
    mode: Literal["best", "all"] = "best",
    join: Literal["matched", "left", "full"] = "matched",
    a_ra_col: str | None = None,
    a_dec_col: str | None = None,
    b_ra_col: str | None = None,
    b_dec_col: str | None = None,
    suffix_a: Annotated[str, Query(max_length=16)] = "_1",
    suffix_b: Annotated[str, Query(max_length=16)] = "_2",
    format: Literal["csv", "fits", "votable", "parquet"] = "csv",
) -> StreamingResponse:
    """Every row of the joined table (``join`` as in POST /crossmatch), units and UCDs of both
    catalogs kept."""
    body = CrossmatchBody(
        a=a, b=b, radius_arcsec=radius_arcsec, mode=mode, join=join, suffix_a=suffix_a, suffix_b=suffix_b,
        a_ra_col=a_ra_col, a_dec_col=a_dec_col, b_ra_col=b_ra_col, b_dec_col=b_dec_col,
    )  # fmt: skip
    table_a, table_b, rows_a, rows_b, sep = _joined(services, body, _match(services, body))
    table = joined_table(table_a, table_b, rows_a, rows_b, sep, (suffix_a, suffix_b))
    names = joined_names(list(table_a.column_names), list(table_b.column_names), (suffix_a, suffix_b))
    infos: dict[str, ColumnInfo] = {}
    for info, new in zip([*services.catalogs.columns(a), *services.catalogs.columns(b)], names, strict=False):
        infos[new] = replace(info, name=new)
    infos[names[-1]] = ColumnInfo(
        names[-1], "float64", "num", "arcsec", "pos.angDistance", "separation A-B", 0, None, None
    )
    stem = "-x-".join(export_filename(n, "csv").removesuffix("-selection.csv") for n in (a, b))
    return StreamingResponse(
        table_stream(table, infos, format),
        media_type=EXPORT_FORMATS[format][0],
        headers={"Content-Disposition": f'attachment; filename="{stem}-crossmatch{EXPORT_FORMATS[format][1]}"'},
    )
