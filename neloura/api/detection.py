"""Source detection as a job, and aperture photometry at given positions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from neloura.api.deps import ServicesDep, SettingsDep
from neloura.api.jobs import user_of
from neloura.errors import InvalidParameter
from neloura.runtime.detection import detection_task, photometry_at

router = APIRouter(prefix="/api", tags=["detection"])


class ImageRef(BaseModel):
    path: Annotated[str, Field(description="image path relative to files/")]
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
    box_px: Annotated[int, Field(ge=8, le=4096, description="background mesh box in pixels")] = 64
    aperture_radius_px: Annotated[float | None, Field(gt=0, le=500)] = None


class DetectionRequest(ImageRef, DetectionParams):
    pass


class PhotometryRequest(ImageRef):
    x_pix: Annotated[list[float], Field(min_length=1, max_length=10000, description="0-based x positions")]
    y_pix: Annotated[list[float], Field(min_length=1, max_length=10000, description="0-based y positions")]
    radius_px: Annotated[float, Field(gt=0, le=500)] = 4.0
    annulus_px: tuple[float, float] | None = None


def job_memory(width: int, height: int, factor: int = 10) -> int:
    """Rough peak memory of a job on a width x height plane (float32 copies and filters)."""
    return int(width) * int(height) * 4 * factor + 200 * 2**20


@router.post("/detection", summary="Start source detection on an image plane; returns the job")
def start_detection(
    request: Request, services: ServicesDep, settings: SettingsDep, body: DetectionRequest
) -> dict[str, Any]:
    path = services.images.resolve(body.path)
    image = services.images.get(body.path, body.hdu)
    image.plane(body.plane)  # validates the plane index now, not in the job
    tag = uuid.uuid4().hex[:8]
    out_dir = settings.catalogs_dir / "detections"
    job = services.jobs.submit(
        "detection",
        detection_task,
        {
            "image_path": str(path),
            "hdu": body.hdu,
            "plane": body.plane,
            "out_dir": str(out_dir),
            "catalogs_root": str(settings.catalogs_dir),
            "job_tag": tag,
            "params": body.model_dump(exclude={"path", "hdu", "plane"}),
        },
        user=user_of(request),
        memory_bytes=job_memory(image.width, image.height),
    )
    return job.public()


@router.post("/photometry", summary="Aperture photometry (local annulus) at 0-based pixel positions")
def photometry(services: ServicesDep, body: PhotometryRequest) -> dict[str, Any]:
    if len(body.x_pix) != len(body.y_pix):
        raise InvalidParameter("x_pix and y_pix must have the same length")
    image = services.images.get(body.path, body.hdu)
    x, y = np.asarray(body.x_pix, dtype=float), np.asarray(body.y_pix, dtype=float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidParameter("positions must be finite numbers")
    if x.min() < -0.5 or y.min() < -0.5 or x.max() > image.width - 0.5 or y.max() > image.height - 0.5:
        raise InvalidParameter(f"positions must lie on the image (0..{image.width - 1}, 0..{image.height - 1})")
    span = (x.max() - x.min() + 100) * (y.max() - y.min() + 100)
    if span > 64e6:
        raise InvalidParameter("positions spread over too large an area for one request; send smaller groups")
    table = photometry_at(image, body.plane, x, y, body.radius_px, body.annulus_px)
    columns = table.colnames
    rows = [{c: _json(table[c][i]) for c in columns} for i in range(len(table))]
    units = {c: str(table[c].unit) if table[c].unit is not None else "" for c in columns}
    return {"rows": rows, "units": units, "flux_unit": table.meta.get("flux_unit", "")}


def _json(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
