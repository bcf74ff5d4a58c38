"""Spectral-cube jobs: moment maps, spectral smoothing / rebinning and convolution to a common
beam; their results land under files/results/ (the read-only cube routes are in
:mod:`neloura.api.cubes`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import numpy as np
from astropy import units as u
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, FiniteFloat

from neloura.api.cubes import ConventionName
from neloura.api.deps import ImageRef, ServicesDep, SettingsDep, resolve_hdu
from neloura.api.jobs import JobOut
from neloura.api.openapi import IMAGE_ERRORS, errors
from neloura.api.session import owner_of
from neloura.core import cubes
from neloura.core.cube_moments import CHUNK_BYTES
from neloura.errors import InvalidParameter
from neloura.runtime import cubes as jobs
from neloura.runtime.services import Services

router = APIRouter(responses=errors(*IMAGE_ERRORS, 409), prefix="/api/cubes", tags=["cubes"])


PlaneIndex = Annotated[int, Field(ge=0, le=1_000_000)]
BeamAxis = Annotated[float, Field(gt=0, le=36_000, description="arcsec")]


class CubeRef(BaseModel):
    path: Annotated[str, Field(min_length=1, max_length=4096, description="cube path relative to files/")]
    hdu: Annotated[int | None, Field(ge=0, le=100_000, description="HDU (default: the recommended image HDU)")] = None


class MomentRequest(CubeRef):
    order: Annotated[
        Literal[0, 1, 2, "peak", "width"], Field(description="moment 0, 1, 2 (variance), peak or width (sigma)")
    ] = 0
    spectral_range: Annotated[
        tuple[FiniteFloat, FiniteFloat] | None, Field(description="[lo, hi] in spectral_unit")
    ] = None
    channel_range: Annotated[
        tuple[PlaneIndex, PlaneIndex] | None, Field(description="[first, last] planes, 0-based inclusive")
    ] = None
    spectral_unit: Annotated[
        str | None, Field(max_length=32, description="default km/s when a rest value is known")
    ] = None
    convention: ConventionName = "radio"
    rest: Annotated[
        str | None, Field(max_length=64, description="rest frequency/wavelength (default RESTFRQ/RESTWAV)")
    ] = None
    clip_sigma: Annotated[
        float | None, Field(gt=0, le=1000, description="keep values above this many noise sigmas")
    ] = None
    threshold: Annotated[float | None, Field(allow_inf_nan=False, description="keep values above this (BUNIT)")] = None
    beam_threshold: Annotated[float, Field(gt=0, le=10, description="largest relative beam-area spread allowed")] = 0.01


class SmoothRequest(CubeRef):
    kernel: Literal["gaussian", "boxcar", "rebin"] = "gaussian"
    width_channels: Annotated[
        float, Field(ge=1, le=1000, description="FWHM (gaussian), width (boxcar) or factor (rebin)")
    ] = 3.0


class ConvolveRequest(CubeRef):
    beam: Annotated[
        tuple[BeamAxis, BeamAxis, FiniteFloat] | None,
        Field(description="target [major, minor arcsec, PA deg]; default the common beam"),
    ] = None


def _job_cube(services: Services, body: CubeRef) -> tuple[ImageRef, dict[str, Any]]:
    file = services.images.resolve(body.path)
    index = resolve_hdu(file, body.hdu, services.images)
    ref = ImageRef(body.path, file, index, services.images.get_resolved(file, index))
    cubes.require_cube(ref.image)
    if cubes.spectral_axis(ref.image).kind == "pixel":
        raise InvalidParameter(f"{file.name} has no spectral WCS (planes are pixel indices): spectral-cube needs one")
    return ref, {"image_path": str(file), "hdu": index}


def _submit(
    request: Request, services: Services, settings: Any, kind: str, func: Any, args: dict[str, Any], memory: int
) -> dict[str, Any]:
    args.update(
        out_dir=str(settings.files_dir / "results"), files_root=str(settings.files_dir), job_tag=uuid.uuid4().hex[:8]
    )
    return services.jobs.submit(kind, func, args, user=owner_of(request), memory_bytes=memory).public()


def _moment_planes(ref: ImageRef, body: MomentRequest, unit: str | None) -> tuple[int, int]:
    n = ref.image.planes
    if body.channel_range is not None and body.spectral_range is not None:
        raise InvalidParameter("give spectral_range or channel_range, not both")
    if body.channel_range is not None:
        first, last = sorted(body.channel_range)
        if first < 0 or last >= n:
            raise InvalidParameter(f"channel_range {first}..{last} is outside the cube (planes 0..{n - 1})")
        return first, last
    if body.spectral_range is not None:
        spectral = cubes.spectral_axis(ref.image, unit, body.convention, cubes.parse_quantity(body.rest, "Hz"))
        return cubes.planes_in_range(spectral, *body.spectral_range)
    return 0, n - 1


@router.post(
    "/moment",
    response_model=JobOut,
    summary="Start a moment map (0, 1, 2, peak, width) job; its result names the FITS image",
)
def start_moment(request: Request, services: ServicesDep, settings: SettingsDep, body: MomentRequest) -> dict[str, Any]:
    ref, args = _job_cube(services, body)
    rest = cubes.parse_quantity(body.rest, "Hz")
    native = cubes.spectral_axis(ref.image, None, None, rest)
    unit = body.spectral_unit
    if unit is None and (native.rest_hz is not None or native.native_kind == "velocity"):
        unit = "km/s"
    if unit is not None:
        cubes.spectral_axis(ref.image, unit, body.convention, rest)  # 422 now rather than in the job
    first, last = _moment_planes(ref, body, unit)
    beams = jobs.beams_of(ref.image)
    if beams is not None and beams.per_plane:
        spread = float(beams.area_sr()[first : last + 1].max() / beams.area_sr()[first : last + 1].min() - 1)
        if spread > body.beam_threshold:
            raise InvalidParameter(
                f"the per-plane beams differ by up to {spread:.1%} (more than beam_threshold={body.beam_threshold:g}):"
                " convolve to a common beam first (POST /api/cubes/convolve) or raise beam_threshold"
            )
    rest_hz = None if rest is None else float(rest.to_value(u.Hz, equivalencies=u.spectral()))
    args.update(
        kind=str(body.order),
        selection={
            "first": first,
            "last": last,
            "spectral_unit": unit,
            "convention": body.convention,
            "rest_hz": rest_hz,
        },
        clip_sigma=body.clip_sigma,
        threshold=body.threshold,
        beam_threshold=body.beam_threshold,
    )
    memory = 6 * CHUNK_BYTES + ref.image.width * ref.image.height * 4 * 8 + 300 * 2**20
    return _submit(request, services, settings, "moment", jobs.moment_task, args, memory)


def _copy_memory(ref: ImageRef) -> int:
    """What a job writing a new cube of ``ref``'s shape holds: three float32 copies and 300 MiB."""
    return 3 * int(np.prod(ref.image.shape)) * 4 + 300 * 2**20


@router.post(
    "/smooth",
    response_model=JobOut,
    summary="Start a spectral smoothing / rebinning job writing a new cube under files/results/",
)
def start_smooth(request: Request, services: ServicesDep, settings: SettingsDep, body: SmoothRequest) -> dict[str, Any]:
    ref, args = _job_cube(services, body)
    if body.kernel == "rebin" and not 2 <= round(body.width_channels) <= ref.image.planes:
        raise InvalidParameter(f"rebin factor must be 2..{ref.image.planes}")
    if body.kernel != "rebin" and body.width_channels >= ref.image.planes:
        raise InvalidParameter(f"the kernel is wider than the cube ({ref.image.planes} planes)")
    args.update(kernel=body.kernel, width_channels=body.width_channels)
    return _submit(request, services, settings, "smooth", jobs.smooth_task, args, _copy_memory(ref))


@router.post(
    "/convolve", response_model=JobOut, summary="Start a convolution to a common beam (convolve_to) writing a new cube"
)
def start_convolve(
    request: Request, services: ServicesDep, settings: SettingsDep, body: ConvolveRequest
) -> dict[str, Any]:
    ref, args = _job_cube(services, body)
    beams = jobs.beams_of(ref.image)
    if beams is None:
        raise InvalidParameter("this cube has no beam (BMAJ/BMIN or a BEAMS table) to convolve from")
    if body.beam is None and not beams.per_plane:
        raise InvalidParameter("this cube has one beam: give the target beam [major, minor arcsec, PA deg]")
    if body.beam is not None and not (0 < body.beam[1] <= body.beam[0] <= 36_000):
        raise InvalidParameter("beam: 0 < minor <= major (arcsec)")
    args.update(beam=None if body.beam is None else list(body.beam))
    return _submit(request, services, settings, "convolve", jobs.convolve_task, args, _copy_memory(ref))
