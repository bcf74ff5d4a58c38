"""Artificial-source (completeness) tests as jobs; results are downloaded through /api/jobs."""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field, model_validator

from neloura.api.deps import PlaneDep, ServicesDep, SettingsDep
from neloura.api.detection import DetectionParams, ImageRef, job_image, job_memory
from neloura.api.jobs import JobOut
from neloura.api.openapi import IMAGE_ERRORS, Out, errors
from neloura.api.session import owner_of
from neloura.core.completeness import default_flux_range
from neloura.core.paths import confine
from neloura.core.psf import PsfModel
from neloura.errors import InvalidParameter
from neloura.runtime.completeness import completeness_task, plane_noise
from neloura.runtime.detection import psf_for_image

router = APIRouter(responses=errors(*IMAGE_ERRORS, 409), prefix="/api", tags=["completeness"])


class CompletenessRequest(ImageRef):
    n: Annotated[int, Field(ge=1, le=100_000, description="sources injected per iteration")] = 200
    iterations: Annotated[int, Field(ge=1, le=10_000)] = 10
    flux_min: Annotated[float, Field(gt=0, description="lowest injected flux (µJy for MJy/sr images, else counts)")]
    flux_max: Annotated[float, Field(gt=0)]
    seed: int = 1
    psf: Annotated[
        str | None, Field(max_length=4096, description="PSF FITS file relative to psf/ (default: a Gaussian)")
    ] = None
    match_radius_px: Annotated[float, Field(gt=0, le=50)] = 1.5
    n_bins: Annotated[int, Field(ge=2, le=100)] = 12
    min_separation_px: Annotated[
        float | None, Field(gt=0, le=1000, description="between injected sources (default 2.5 x FWHM)")
    ] = None
    avoid_detections: Annotated[bool, Field(description="keep injected sources away from detected ones")] = True
    detection: DetectionParams = DetectionParams()

    @model_validator(mode="after")
    def _range(self) -> CompletenessRequest:
        if self.flux_min >= self.flux_max:
            raise ValueError("flux_min must be below flux_max")
        return self


class PsfsOut(Out):
    psfs: list[str] = Field(description="FITS files relative to psf/, sorted")


class DefaultsOut(Out):
    """The default injected flux range (``flux_min``..``flux_max`` = ``low``..``high``), in ``unit``."""

    flux_5sigma: float = Field(description="5-sigma point-source flux through an aperture of one FWHM radius")
    low: float
    high: float
    flux_min: float
    flux_max: float
    unit: str = Field(description="uJy for MJy/sr images with a pixel solid angle, else the image's unit")
    noise: float = Field(description="pixel rms, image units")
    fwhm_px: float
    aperture_radius_px: float


@router.get("/psf", summary="PSF files available under psf/")
def list_psfs(settings: SettingsDep) -> PsfsOut:
    return PsfsOut(psfs=_psf_names(settings.psf_dir))


def _psf_names(root: Path) -> list[str]:
    """FITS files under psf/ that resolve inside it (symlinks leading out and loops are skipped)."""
    names = []
    inside = root.resolve()
    for dirpath, _, filenames in os.walk(root):  # does not follow symlinked folders
        for filename in filenames:
            path = Path(dirpath) / filename
            if path.suffix.lower() not in (".fits", ".fit") or filename.startswith("."):
                continue
            try:
                resolved = path.resolve(strict=True)
            except (OSError, RuntimeError):  # dangling link or loop
                continue
            if resolved.is_file() and inside in resolved.parents:
                names.append(path.relative_to(root).as_posix())
    return sorted(names)


@router.get("/completeness/defaults", summary="Default injected flux range from the image's noise and PSF")
def completeness_defaults(
    settings: SettingsDep,
    plane: PlaneDep,
    fwhm_px: Annotated[float, Query(ge=0.5, le=100, description="Gaussian FWHM (px) without a PSF file")] = 3.0,
    psf: Annotated[str | None, Query(max_length=4096, description="PSF FITS file relative to psf/")] = None,
) -> DefaultsOut:
    """``flux_min``..``flux_max`` = 0.5..20 x the 5-sigma point-source flux of this plane: the
    pixel noise (a background mesh over the centre) through an aperture of one FWHM radius."""
    image = plane.ref.image
    model = PsfModel.gaussian(fwhm_px)
    if psf:
        psf_file = confine(settings.psf_dir, psf)
        if not psf_file.is_file():
            raise InvalidParameter(f"not a PSF file: {psf}")
        model = psf_for_image(psf_file, image.wcs)
    wcs = image.wcs
    area = wcs.pixel_area_sr() if wcs.has_celestial else None
    found = default_flux_range(plane_noise(plane.plane), model, bunit=image.bunit, pixel_area_sr=area)
    return DefaultsOut.model_validate({**asdict(found), "flux_min": found.low, "flux_max": found.high})


@router.post("/completeness", summary="Start an artificial-source completeness test; returns the job")
def start_completeness(
    request: Request, services: ServicesDep, settings: SettingsDep, body: CompletenessRequest
) -> JobOut:
    image, image_args = job_image(services, body)
    psf_path = None
    if body.psf:
        psf_file = confine(settings.psf_dir, body.psf)
        if not psf_file.is_file():
            raise InvalidParameter(f"not a PSF file: {body.psf}")
        psf_path = str(psf_file)
    tag = uuid.uuid4().hex[:8]
    workers = 1 if settings.dask_scheduler else max(1, settings.job_workers)
    job = services.jobs.submit(
        "completeness",
        completeness_task,
        {
            **image_args,
            "out_dir": str(settings.images_dir / "completeness" / tag),
            "injected_dir": str(settings.files_dir / "results"),
            "files_root": str(settings.files_dir),
            "job_tag": tag,
            "params": body.model_dump(exclude={"path", "hdu", "plane", "psf"}),
            "psf_path": psf_path,
            "n_workers": workers,
            "dask_address": settings.dask_scheduler,
        },
        user=owner_of(request),
        memory_bytes=job_memory(image.width, image.height, factor=10 * (1 + workers)),
    )
    return JobOut.model_validate(job.public())
