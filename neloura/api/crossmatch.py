"""Positional catalog queries: cone search, box search and cross-match of two catalogs.

Row indices are 0-based positions in the catalog file (file order). Positions are ICRS; ``ra``
and ``dec`` accept degrees or sexagesimal (``10:00:24`` hours, ``-02:30:00`` degrees).
Indexes are built on first use (seconds for ten million rows) and kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from neloura.api.deps import ServicesDep
from neloura.core.crossmatch import parse_dec_deg, parse_ra_deg
from neloura.runtime.crossmatch import split_columns, table_rows

router = APIRouter(prefix="/api/catalogs", tags=["catalogs"])

MAX_ROWS = 10_000
MAX_PAIRS = 100_000
Offset = Annotated[int, Query(ge=0, description="first result to return (0-based)")]
Limit = Annotated[int, Query(ge=0, le=MAX_ROWS, description="results per page")]


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
    name: str,
    ra_col: str | None = None,
    dec_col: str | None = None,
    filter: str | None = None,
    columns: str | None = None,
    offset: Offset = 0,
    limit: Limit = 100,
) -> Search:
    return Search(name, ra_col, dec_col, filter, columns, offset, limit)


SearchDep = Annotated[Search, Depends(_search)]


def _page(
    services: ServicesDep, search: Search, rows: np.ndarray, extra: tuple[str, np.ndarray] | None = None
) -> dict[str, Any]:
    table = services.sky.catalogs.table(search.name)
    window = slice(search.offset, search.offset + search.limit)
    page = rows[window]
    names, values = table_rows(table, page, split_columns(search.columns))
    if extra is not None:
        label, column = extra
        names = [*names, label]
        values = [[*row, float(v)] for row, v in zip(values, column[window].tolist(), strict=True)]
    return {"total": int(rows.size), "offset": search.offset, "columns": names, "rows": values, "index": page.tolist()}


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
) -> dict[str, Any]:
    """Rows within ``radius_arcsec`` of a position, nearest first, with a ``separation_arcsec`` column."""
    centre_ra, centre_dec = parse_ra_deg(ra), parse_dec_deg(dec)
    index = services.sky.get(search.name, search.ra_col, search.dec_col)
    rows, sep = index.cone(centre_ra, centre_dec, radius_arcsec)
    keep = _filtered(services, search, rows)
    return _page(services, search, rows[keep], ("separation_arcsec", sep[keep]))


@router.get("/box")
def box(
    services: ServicesDep, search: SearchDep, ra_min: str, ra_max: str, dec_min: str, dec_max: str
) -> dict[str, Any]:
    """Rows with RA in [ra_min, ra_max] (eastwards; ra_min > ra_max crosses RA 0) and Dec in
    [dec_min, dec_max], in file order."""
    index = services.sky.get(search.name, search.ra_col, search.dec_col)
    rows = index.box(parse_ra_deg(ra_min), parse_ra_deg(ra_max), parse_dec_deg(dec_min), parse_dec_deg(dec_max))
    return _page(services, search, rows[_filtered(services, search, rows)])


class CrossmatchBody(BaseModel):
    a: str = Field(description="catalog A (every row of A looks for B within the radius)")
    b: str = Field(description="catalog B")
    radius_arcsec: float = Field(gt=0, le=600, description="match radius (at most 10 arcmin)")
    mode: Literal["best", "all"] = "best"
    a_ra_col: str | None = None
    a_dec_col: str | None = None
    b_ra_col: str | None = None
    b_dec_col: str | None = None
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=1000, ge=0, le=MAX_PAIRS)


@router.post("/crossmatch")
def crossmatch(services: ServicesDep, body: CrossmatchBody) -> dict[str, Any]:
    """Pairs ``[row_a, row_b, separation_arcsec]`` within the radius, sorted by row_a then
    separation; ``best`` keeps the nearest B for each matched A. Paged with offset/limit."""
    result = services.sky.match(
        (body.a, body.a_ra_col, body.a_dec_col), (body.b, body.b_ra_col, body.b_dec_col), body.radius_arcsec, body.mode
    )
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
    return {
        "total": len(result),
        "offset": body.offset,
        "matched_a": int(np.unique(result.rows_a).size),
        "pairs": pairs,
    }
