"""Cutouts at a position from every covering image (FITS + PNG), and batch cutouts as a job."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.jobs import JobOut
from neloura.api.openapi import IMAGE_ERRORS, Out, binary, errors
from neloura.api.session import owner_of
from neloura.core.colormaps import colormap_names
from neloura.core.footprints import Footprint
from neloura.core.stretch import STRETCHES, check_stretch
from neloura.errors import InvalidParameter
from neloura.runtime.cutouts import Display, batch_task, cutout_file, label, write_cutouts
from neloura.runtime.dask_jobs import on_cluster
from neloura.runtime.footprints import select
from neloura.runtime.services import Services

router = APIRouter(responses=errors(*IMAGE_ERRORS, 409), prefix="/api/cutouts", tags=["cutouts"])

MAX_BATCH_SOURCES = 5000


class ImageName(BaseModel):
    path: Annotated[str, Field(min_length=1, max_length=4096, description="image path relative to files/")]
    hdu: Annotated[int, Field(ge=0, le=100_000)] = 0


if TYPE_CHECKING:
    StretchName = str
    ColormapName = str
else:  # the names the PNG rendering accepts, as enums in the schema
    StretchName = Literal[STRETCHES]
    ColormapName = Literal[tuple(colormap_names())]


class DisplayBody(BaseModel):
    stretch: StretchName = "asinh"
    exponent: Annotated[float | None, Field(gt=0, le=1e6)] = None
    cmap: Annotated[ColormapName, Field(description="a matplotlib colormap (``_r``: reversed)")] = "gray"
    invert: bool = False

    def display(self) -> Display:
        check_stretch(self.stretch, self.exponent)
        return Display(self.stretch, self.exponent, self.cmap, self.invert)


class Where(BaseModel):
    images: Annotated[list[ImageName] | None, Field(max_length=500, description="default: every covering image")] = None
    folder: Annotated[str | None, Field(max_length=4096, description="only images under this folder of files/")] = None


class CutoutRequest(Where):
    ra_deg: Annotated[float, Field(ge=-360, le=720, description="ICRS degrees")]
    dec_deg: Annotated[float, Field(ge=-90, le=90, description="ICRS degrees")]
    size_arcsec: Annotated[float, Field(gt=0, le=3600)]
    north_up: bool = False
    scale_arcsec: Annotated[float | None, Field(gt=0, le=3600, description="north-up pixel scale")] = None
    display: DisplayBody = DisplayBody()


class BatchRequest(Where):
    catalog: Annotated[str, Field(min_length=1, max_length=4096, description="catalog under catalogs/")]
    filter: Annotated[str | None, Field(max_length=10_000, description="filter-language selection")] = None
    rows: Annotated[list[int] | None, Field(max_length=MAX_BATCH_SOURCES, description="0-based rows")] = None
    ra_col: Annotated[str | None, Field(max_length=256)] = None
    dec_col: Annotated[str | None, Field(max_length=256)] = None
    id_col: Annotated[str | None, Field(max_length=256, description="column naming each source (default: row)")] = None
    size_arcsec: Annotated[float, Field(gt=0, le=3600)]
    north_up: bool = False
    scale_arcsec: Annotated[float | None, Field(gt=0, le=3600)] = None
    pdf: bool = True


class CutoutOut(Out):
    """One cutout: the image it comes from, its files (under /api/cutouts/files/) and geometry."""

    path: str = Field(description="image path relative to files/")
    hdu: int
    instrument: str
    filter: str
    pivot_um: float | None
    label: str
    file: str = Field(description="the FITS file (with WCS)")
    png: str = Field(description="the PNG rendering")
    x_pix: float = Field(description="0-based x of the position in the cutout")
    y_pix: float = Field(description="0-based y of the position in the cutout")
    shape: list[int] = Field(description="[height, width]")
    scale_arcsec: float
    north_up: bool
    unit: str


class CutoutsOut(Out):
    ra_deg: float = Field(description="ICRS, in [0, 360)")
    dec_deg: float
    size_arcsec: float
    cutouts: list[CutoutOut] = Field(description="one per covering image (empty when none covers it)")


def image_names(where: Where) -> list[tuple[str, int]] | None:
    return None if where.images is None else [(i.path, i.hdu) for i in where.images]


@router.post("", summary="Cutouts of every covering image at a position, saved as FITS (with WCS) and PNG")
def cutouts(services: ServicesDep, settings: SettingsDep, body: CutoutRequest) -> CutoutsOut:
    display = body.display.display()
    ra = body.ra_deg % 360.0
    found = [c.footprint for c in select(services.footprints, ra, body.dec_deg, image_names(body), body.folder)]
    answers = write_cutouts(
        lambda fp: services.images.get(fp.path, fp.hdu),
        found,
        ra,
        body.dec_deg,
        body.size_arcsec,
        settings.images_dir / "cutouts",
        north_up_wanted=body.north_up,
        scale_arcsec=body.scale_arcsec,
        display=display,
        budget=services.memory,
    )
    return CutoutsOut.model_validate(
        {"ra_deg": ra, "dec_deg": body.dec_deg, "size_arcsec": body.size_arcsec, "cutouts": answers}
    )


@router.get(
    "/files/{file}",
    response_class=FileResponse,
    responses=binary("application/fits", "image/png", description="the cutout file"),
    summary="One cutout file (FITS or PNG) named by POST /api/cutouts",
)
def cutout_download(settings: SettingsDep, file: str) -> FileResponse:
    path = cutout_file(settings.images_dir / "cutouts", file)
    media = "application/fits" if path.suffix == ".fits" else "image/png"
    return FileResponse(path, media_type=media, filename=path.name)


def _sources(services: Services, body: BatchRequest) -> list[tuple[str, float, float]]:
    ra, dec = services.catalogs.radec(body.catalog, body.ra_col, body.dec_col)
    if body.rows is not None:
        rows = np.asarray(body.rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(ra)):
            raise InvalidParameter(f"rows must be within 0..{len(ra) - 1}")
    else:
        rows = services.catalogs.select(body.catalog, body.filter) if body.filter else np.arange(len(ra))
    if len(rows) > MAX_BATCH_SOURCES:
        raise InvalidParameter(f"{len(rows)} sources selected; at most {MAX_BATCH_SOURCES} a batch")
    if len(rows) == 0:
        raise InvalidParameter("the selection holds no source")
    ids = [str(int(r)) for r in rows]
    if body.id_col:
        table = services.catalogs.table(body.catalog)
        if body.id_col not in table.column_names:
            raise InvalidParameter(f"no column {body.id_col!r} in {body.catalog}")
        column = table.column(body.id_col).take(rows.tolist()).to_pylist()
        ids = [f"{v}" for v in column]
    ok = np.isfinite(ra[rows]) & np.isfinite(dec[rows])
    return [(ids[i], float(ra[r]), float(dec[r])) for i, r in enumerate(rows) if ok[i]]


def _batch_images(services: Services, body: BatchRequest, ra: np.ndarray, dec: np.ndarray) -> list[Footprint]:
    index = services.footprints
    if body.images is None:
        candidates = index.footprints(body.folder)
    else:
        candidates = []
        root = index.root.resolve()
        index.refresh()
        for name in body.images:
            relative = services.images.resolve(name.path).relative_to(root).as_posix()
            footprint = index.find(relative, name.hdu, refresh=False)
            if footprint is None:
                raise InvalidParameter(f"{name.path} HDU {name.hdu} is not an image with a celestial WCS")
            candidates.append(footprint)
    return [fp for fp in candidates if fp.pixels(ra, dec)[2].any()]


@router.post("/batch", summary="Cutouts of a catalog selection in every covering image: a job (zip of FITS + PDF)")
def batch(request: Request, services: ServicesDep, settings: SettingsDep, body: BatchRequest) -> JobOut:
    sources = _sources(services, body)
    ra = np.array([s[1] for s in sources])
    dec = np.array([s[2] for s in sources])
    footprints = _batch_images(services, body, ra, dec)
    scale = body.scale_arcsec
    if body.north_up and scale is None and footprints:
        scale = max(services.images.get(fp.path, fp.hdu).wcs.pixel_scale_arcsec() for fp in footprints)
    images = [
        {
            "file": str(services.images.resolve(fp.path)),
            "path": fp.path,
            "hdu": fp.hdu,
            "label": label(fp),
            "filter": fp.filter,
            "meta": fp.meta,
        }
        for fp in footprints
    ]
    func, args = on_cluster(
        batch_task,
        {
            "sources": sources,
            "images": images,
            "size_arcsec": body.size_arcsec,
            "north_up_scale": scale if body.north_up else None,
            "out_dir": str(settings.images_dir / "cutouts" / "batches"),
            "tag": uuid.uuid4().hex[:12],
            "pdf": body.pdf,
        },
        settings.dask_scheduler,
    )
    job = services.jobs.submit(
        "cutouts",
        func,
        args,
        user=owner_of(request),
        memory_bytes=400 * 2**20,
    )
    return JobOut.model_validate(job.public())
