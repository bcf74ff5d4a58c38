"""Source detection as a job, and aperture photometry at given positions."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from astropy.table import Table
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.jobs import JobOut
from neloura.api.openapi import IMAGE_ERRORS, Out, errors
from neloura.api.session import owner_of
from neloura.core.fitsio import FitsImage
from neloura.core.wcs import ImageWcs
from neloura.errors import InvalidParameter
from neloura.runtime.dask_jobs import on_cluster
from neloura.runtime.detection import detection_task, photometry_at, safe_stem, write_table
from neloura.runtime.services import Services

router = APIRouter(responses=errors(*IMAGE_ERRORS, 409), prefix="/api", tags=["detection"])


class ImageRef(BaseModel):
    path: Annotated[str, Field(min_length=1, max_length=4096, description="image path relative to files/")]
    hdu: Annotated[int, Field(ge=0, description="HDU index")] = 0
    plane: Annotated[int, Field(ge=0, description="plane of a cube (0 for 2-D images)")] = 0


class DetectionParams(BaseModel):
    threshold_sigma: Annotated[float, Field(gt=0, le=1000, description="threshold in matched-filter sigmas")] = 5.0
    fwhm_px: Annotated[float, Field(ge=0.5, le=100, description="source FWHM in pixels")] = 3.0
    beam: Annotated[
        tuple[float, float, float] | None, Field(description="elliptical beam: major, minor FWHM (px), PA (deg)")
    ] = None
    min_separation_px: Annotated[float | None, Field(ge=0, le=1000)] = None
    min_area_px: Annotated[int, Field(ge=1, le=25)] = 1
    edge_px: Annotated[int | None, Field(ge=1, le=10000)] = None
    deblend: bool = True
    box_px: Annotated[int, Field(ge=8, le=4096, description="background mesh box in pixels")] = 32
    min_snr: Annotated[
        float | None, Field(ge=0, le=1000, description="keep sources of aperture S/N at least this (0: all peaks)")
    ] = 3.0
    aperture_radius_px: Annotated[float | None, Field(gt=0, le=500)] = None
    segmentation: Annotated[
        bool, Field(description="also write a segmentation map (labels = catalog id) under files/results/segmentation/")
    ] = False


class DetectionRequest(ImageRef, DetectionParams):
    pass


class PhotometryRequest(ImageRef):
    x_pix: Annotated[list[float] | None, Field(max_length=10000, description="0-based x positions")] = None
    y_pix: Annotated[list[float] | None, Field(max_length=10000, description="0-based y positions")] = None
    ra_deg: Annotated[list[float] | None, Field(max_length=10000, description="ICRS right ascensions")] = None
    dec_deg: Annotated[list[float] | None, Field(max_length=10000, description="ICRS declinations")] = None
    catalog: Annotated[
        str | None, Field(min_length=1, max_length=4096, description="measure at every source of this catalog")
    ] = None
    ra_col: str | None = None
    dec_col: str | None = None
    radius_px: Annotated[float, Field(gt=0, le=500)] = 4.0
    annulus_px: tuple[float, float] | None = None


def job_image(services: Services, ref: ImageRef) -> tuple[FitsImage, dict[str, Any]]:
    """The image of a job, checked now rather than in the job (file, HDU, plane index), and the
    job's image arguments: absolute path, HDU and plane."""
    path = services.images.resolve(ref.path)
    image = services.images.get(ref.path, ref.hdu)
    image.plane(ref.plane)
    return image, {"image_path": str(path), "hdu": ref.hdu, "plane": ref.plane}


def job_memory(width: int, height: int, factor: int = 10) -> int:
    """Rough peak memory of a job on a width x height plane (float32 copies and filters)."""
    return int(width) * int(height) * 4 * factor + 200 * 2**20


@router.post("/detection", summary="Start source detection on an image plane; returns the job")
def start_detection(request: Request, services: ServicesDep, settings: SettingsDep, body: DetectionRequest) -> JobOut:
    image, image_args = job_image(services, body)
    tag = uuid.uuid4().hex[:8]
    out_dir = settings.catalogs_dir / "detections"
    func, args = on_cluster(
        detection_task,
        {
            **image_args,
            "out_dir": str(out_dir),
            "catalogs_root": str(settings.catalogs_dir),
            "job_tag": tag,
            "params": body.model_dump(exclude={"path", "hdu", "plane"}),
            "segmentation_dir": str(settings.files_dir / "results" / "segmentation"),
            "files_root": str(settings.files_dir),
        },
        settings.dask_scheduler,
    )
    job = services.jobs.submit(
        "detection",
        func,
        args,
        user=owner_of(request),
        memory_bytes=job_memory(image.width, image.height),
    )
    return JobOut.model_validate(job.public())


class PhotometryOut(Out):
    """One row per position (at most the first 100 of a catalog's), with the catalog's result files."""

    rows: list[dict[str, float | int | None]] = Field(
        description="x_pix, y_pix (0-based), flux, flux_err, snr, sky, sky_rms, peak, ...; null where not finite"
    )
    units: dict[str, str] = Field(description="unit of each column ('' when none)")
    flux_unit: str
    catalog: str | None = Field(default=None, description="catalog mode: the saved result, under catalogs/")
    n_sources: int | None = Field(default=None, description="catalog mode: sources measured")
    files: list[str] | None = Field(default=None, description="catalog mode: the result's file names")


@router.post(
    "/photometry",
    response_model_exclude_unset=True,
    summary="Aperture photometry (local annulus) at pixel or sky positions, or a catalog",
)
def photometry(services: ServicesDep, settings: SettingsDep, body: PhotometryRequest) -> PhotometryOut:
    """Give exactly one of: ``x_pix``+``y_pix`` (0-based), ``ra_deg``+``dec_deg`` (ICRS) or ``catalog``.
    A catalog's result is also saved under catalogs/photometry/ (FITS + CSV) and named in the answer."""
    image = services.images.get(body.path, body.hdu)
    image.plane(body.plane)
    modes = [body.x_pix is not None or body.y_pix is not None, body.ra_deg is not None or body.dec_deg is not None]
    modes.append(body.catalog is not None)
    if sum(modes) != 1:
        raise InvalidParameter("give exactly one of x_pix/y_pix, ra_deg/dec_deg or catalog")
    wcs = image.wcs
    if body.catalog is not None:
        ra, dec = services.catalogs.radec(body.catalog, body.ra_col, body.dec_col)
        x, y = _to_pixels(wcs, ra, dec, body.plane)
        inside = np.isfinite(x) & (x >= -0.5) & (y >= -0.5) & (x <= image.width - 0.5) & (y <= image.height - 0.5)
        if not inside.any():
            raise InvalidParameter(f"no source of {body.catalog} falls on this image")
        table = photometry_at(image, body.plane, x[inside], y[inside], body.radius_px, body.annulus_px)
        table.add_column(np.nonzero(inside)[0], name="catalog_row", index=0)
        name = f"{Path(body.catalog).stem}_on_{safe_stem(Path(body.path))}_{uuid.uuid4().hex[:8]}"
        files = write_table(table, settings.catalogs_dir / "photometry" / name)
        answer = _answer(table[:100])
        answer.update(catalog=f"photometry/{name}.fits", n_sources=len(table), files=sorted(files))
        return PhotometryOut.model_validate(answer)
    if modes[1]:
        if body.ra_deg is None or body.dec_deg is None or len(body.ra_deg) != len(body.dec_deg):
            raise InvalidParameter("ra_deg and dec_deg must have the same length")
        x, y = _to_pixels(wcs, np.asarray(body.ra_deg, float), np.asarray(body.dec_deg, float), body.plane)
    else:
        if body.x_pix is None or body.y_pix is None or len(body.x_pix) != len(body.y_pix):
            raise InvalidParameter("x_pix and y_pix must have the same length")
        x, y = np.asarray(body.x_pix, dtype=float), np.asarray(body.y_pix, dtype=float)
    if len(x) == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidParameter("positions must be finite numbers (and project onto the image)")
    if x.min() < -0.5 or y.min() < -0.5 or x.max() > image.width - 0.5 or y.max() > image.height - 0.5:
        raise InvalidParameter(f"positions must lie on the image (0..{image.width - 1}, 0..{image.height - 1})")
    span = (x.max() - x.min() + 100) * (y.max() - y.min() + 100)
    if span > 64e6:
        raise InvalidParameter("positions spread over too large an area for one request; send smaller groups")
    return PhotometryOut.model_validate(
        _answer(photometry_at(image, body.plane, x, y, body.radius_px, body.annulus_px))
    )


def _to_pixels(wcs: ImageWcs, ra: np.ndarray, dec: np.ndarray, plane: int) -> tuple[np.ndarray, np.ndarray]:
    if not wcs.has_celestial:
        raise InvalidParameter("this image has no celestial WCS: give pixel positions")
    return wcs.world_to_pixel(ra, dec, plane)


def _answer(table: Table) -> dict[str, Any]:
    columns = table.colnames
    rows = [{c: _json(table[c][i]) for c in columns} for i in range(len(table))]
    units = {c: str(table[c].unit) if table[c].unit is not None else "" for c in columns}
    return {"rows": rows, "units": units, "flux_unit": table.meta.get("flux_unit", "")}


def _json(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
