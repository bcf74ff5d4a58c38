"""Catalog tables: list, upload, columns, rows (filter, sort, page, computed columns), stats, export.

Names are relative to catalogs/ (``uploads/...`` for uploads). Positional queries (cone, box,
cross-match) and the image overlay live in ``api/crossmatch.py`` and ``api/overlay.py``.
Routes are plain ``def``: FastAPI runs them in its thread pool, so a conversion or a long
query never blocks the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import Field

from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.openapi import EXPORT_MEDIA, Out, binary, errors
from neloura.core.filters import FUNCTIONS
from neloura.core.filters import MAX_LENGTH as FILTER_MAX_LENGTH
from neloura.errors import PayloadTooLarge
from neloura.runtime.catalog_export import EXPORT_FORMATS, export_filename, export_stream
from neloura.runtime.catalog_stats import column_stats

router = APIRouter(responses=errors(404, 409, 413, 415, 422, 503), prefix="/api/catalogs", tags=["catalogs"])

NameQ = Annotated[
    str,
    Query(min_length=1, max_length=4096, description="catalog path relative to catalogs/ (uploads/... for uploads)"),
]
FilterQ = Annotated[
    str | None, Query(max_length=FILTER_MAX_LENGTH, description="filter expression, e.g. `flux > 10 && dec < -30`")
]
ColumnsQ = Annotated[str | None, Query(description="comma-separated column names (default: all)")]
ComputedQ = Annotated[
    list[str] | None, Query(description="computed column NAME=EXPRESSION (repeatable, or one per line)")
]


CatalogState = Literal["ready", "converting", "cached", "new"]


def _columns(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


class ColumnsOut(Out):
    name: str
    format: str
    rows: int
    ra_col: str | None = Field(description="the detected RA column; null when none")
    dec_col: str | None
    columns: list[dict[str, Any]] = Field(description="one entry per column: name, kind, unit, ...")


class CatalogFile(Out):
    name: str = Field(description="path relative to catalogs/ (uploads/... for uploads)")
    size: int = Field(description="bytes")
    format: str = Field(description="csv, fits, votable, parquet, ...")
    mtime: float = Field(description="seconds since the epoch")
    state: CatalogState


class CatalogsOut(Out):
    catalogs: list[CatalogFile]
    formats: list[str] = Field(description="export formats")
    functions: list[str] = Field(description="functions the filter language knows")


class CatalogUploadOut(Out):
    name: str = Field(description="the uploaded catalog's name, relative to catalogs/ (uploads/...)")
    size: int = Field(description="bytes written")
    format: str
    rows: int


class OpenOut(Out):
    """Conversion state; ``rows`` once it is ready."""

    name: str
    state: CatalogState
    fraction: float = Field(description="0..1")
    message: str
    rows: int | None = Field(default=None, description="when ready")


class RowsOut(Out):
    """A page of rows under the filter and sort."""

    total: int = Field(description="rows matching the filter")
    columns: list[str]
    rows: list[list[Any]] = Field(description="one list of values per row, in the order of columns")
    index: list[int] = Field(description="0-based row indices in file order")
    offset: int = Field(description="the page's first row (moved to the page holding ``around``)")
    limit: int


class Histogram(Out):
    edges: list[float] = Field(description="bins + 1 edges (empty when no finite value)")
    counts: list[int]


class StatsOut(Out):
    """Numbers: min..median and a histogram; text and booleans: ``distinct`` and the ``top`` 20 values."""

    column: str
    kind: Literal["num", "str"]
    count: int = Field(description="non-null values among the filtered rows")
    nulls: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    median: float | None = None
    histogram: Histogram | None = None
    distinct: int | None = None
    top: list[tuple[str, int]] | None = Field(default=None, description="[value, count], most frequent first")


@router.get("", summary="Catalog files under catalogs/ with size, format and conversion state")
def list_catalogs(services: ServicesDep) -> CatalogsOut:
    found = {"catalogs": services.catalogs.list_catalogs(), "formats": sorted(EXPORT_FORMATS), "functions": FUNCTIONS}
    return CatalogsOut.model_validate(found)


@router.post("/upload", summary="Upload a catalog into catalogs/uploads/ (size-limited, validated by converting it)")
def upload(
    request: Request, services: ServicesDep, settings: SettingsDep, file: Annotated[UploadFile, File()]
) -> CatalogUploadOut:
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.upload_max_mb * 1024 * 1024 + 65536:
        raise PayloadTooLarge(f"upload larger than the limit of {settings.upload_max_mb} MB")
    return CatalogUploadOut.model_validate(services.catalogs.save_upload(file.file, file.filename or "catalog.csv"))


@router.get(
    "/open",
    response_model_exclude_unset=True,
    summary="Start converting a catalog in the background; returns its state at once",
)
def open_catalog(services: ServicesDep, name: NameQ) -> OpenOut:
    return OpenOut.model_validate({"name": name, **services.catalogs.start(name)})


@router.get("/columns", summary="Column metadata and the detected RA/Dec columns")
def columns(services: ServicesDep, name: NameQ) -> ColumnsOut:
    catalog = services.catalogs.open(name)
    ra, dec = catalog.radec_cols
    return ColumnsOut.model_validate(
        {
            "name": name,
            "format": catalog.fmt,
            "rows": catalog.num_rows,
            "ra_col": ra,
            "dec_col": dec,
            "columns": [info.to_dict() for info in catalog.infos],
        }
    )


@router.get("/rows", summary="A page of rows matching a filter, sorted (sort=flux or sort=-flux)")
def rows(
    services: ServicesDep,
    name: NameQ,
    filter: FilterQ = None,
    sort: str | None = None,
    columns: ColumnsQ = None,
    computed: ComputedQ = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=0, le=100_000)] = 100,
    around: Annotated[int | None, Query(ge=0, description="return the page holding this 0-based row")] = None,
) -> RowsOut:
    page = services.catalogs.rows(
        name,
        filter=filter,
        sort=sort,
        columns=_columns(columns),
        offset=offset,
        limit=limit,
        computed=computed,
        around=around,
    )
    return RowsOut.model_validate(page)


@router.get(
    "/stats", response_model_exclude_unset=True, summary="Statistics and histogram of one column over the filtered rows"
)
def stats(
    services: ServicesDep,
    name: NameQ,
    column: str,
    filter: FilterQ = None,
    computed: ComputedQ = None,
    bins: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> StatsOut:
    found = column_stats(services.catalogs, name, column, filter=filter, bins=bins, computed=computed)
    return StatsOut.model_validate(found)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses=binary(
        *EXPORT_MEDIA,
        description="the rows, streamed",
    ),
    summary="The filtered rows and chosen columns as CSV, FITS, VOTable or Parquet (streamed)",
)
def export(
    services: ServicesDep,
    name: NameQ,
    filter: FilterQ = None,
    columns: ColumnsQ = None,
    sort: str | None = None,
    computed: ComputedQ = None,
    format: Literal["csv", "fits", "votable", "parquet"] = "csv",
) -> StreamingResponse:
    body = export_stream(
        services.catalogs, name, format, filter=filter, columns=_columns(columns), sort=sort, computed=computed
    )
    media, _ = EXPORT_FORMATS[format]
    filename = export_filename(name, format)
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
