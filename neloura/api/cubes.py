"""Spectral cubes: spectral axis, spectra (pixel or region), export, whole-cube limits and channel
maps (the moment / smoothing / convolution jobs are in :mod:`neloura.api.cube_jobs`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field

from neloura.api.deps import ImageDep, ImageRef, ServicesDep
from neloura.api.openapi import IMAGE_ERRORS, Out, binary, errors
from neloura.core import cube_beams, cubes
from neloura.core.cube_figures import FIGURE_FORMATS, channel_maps, grid_planes
from neloura.core.limits import percentile_limits
from neloura.errors import InvalidParameter
from neloura.runtime import cubes as jobs

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/cubes", tags=["cubes"])
ConventionName = Literal["radio", "optical", "relativistic"]
_LIMIT_PLANES = 24


class SpectralAxisOut(Out):
    """The spectral axis (neloura.core.cubes.SpectralAxis.as_json)."""

    spectral: list[float | None] = Field(description="value of every plane in spectral_unit (null: undefined)")
    spectral_unit: str
    spectral_kind: str = Field(description="velocity, frequency, wavelength, energy, wavenumber or pixel")
    native_unit: str
    native_kind: str
    frame: str | None
    rest_hz: float | None
    convention: str | None
    note: str


class BeamOut(Out):
    per_plane: bool = Field(description="one beam per plane (a BEAMS table) or one for the cube")
    major_arcsec: list[float]
    minor_arcsec: list[float]
    pa_deg: list[float]
    spread: float = Field(description="largest relative spread of the beam areas")
    pixel_scale_arcsec: float | None
    north_angle_deg: float | None


class AxisOut(SpectralAxisOut):
    path: str
    hdu: int
    plane_count: int
    bunit: str
    velocity_available: bool
    beam: BeamOut | None
    kelvin_per_unit: list[float] | None = Field(description="K per BUNIT for each plane (Jy/beam cubes)")


class SpectrumOut(SpectralAxisOut):
    values: list[float | None] = Field(description="one per plane, in unit; null for blank/NaN")
    unit: str
    x: int | None = Field(description="0-based pixel column (null for a region)")
    y: int | None
    region: str | None
    stat: str = Field(description="pixel, mean, sum or flux")
    n_pixels: int
    plane_count: int


class CubeLimitsOut(Out):
    mode: str = Field(description="cube")
    vmin: float
    vmax: float
    planes_sampled: int
    sample_size: int


@dataclass(frozen=True)
class AxisChoice:
    unit: str | None
    convention: str | None
    rest: u.Quantity | None


def get_axis_choice(
    unit: Annotated[
        str | None, Query(max_length=32, description="km/s, m/s, Hz, GHz, m, um, Angstrom... (default: header)")
    ] = None,
    convention: Annotated[ConventionName | None, Query(description="velocity convention (default radio)")] = None,
    rest: Annotated[
        str | None,
        Query(
            max_length=64,
            description="rest frequency/wavelength, e.g. '230.538 GHz' (default RESTFRQ/RESTWAV); a bare number is Hz",
        ),
    ] = None,
) -> AxisChoice:
    return AxisChoice(unit or None, convention, cubes.parse_quantity(rest, "Hz"))


AxisDep = Annotated[AxisChoice, Depends(get_axis_choice)]


def _axis(ref: ImageRef, choice: AxisChoice) -> cubes.SpectralAxis:
    return cubes.spectral_axis(ref.image, choice.unit, choice.convention, choice.rest)


def _beam_json(ref: ImageRef) -> dict[str, Any] | None:
    beams = jobs.beams_of(ref.image)
    if beams is None:
        return None
    orientation = cube_beams.sky_orientation(ref.image)
    return {
        "per_plane": beams.per_plane,
        "major_arcsec": [float(v) for v in beams.major_arcsec],
        "minor_arcsec": [float(v) for v in beams.minor_arcsec],
        "pa_deg": [float(v) for v in beams.pa_deg],
        "spread": beams.spread(),
        "pixel_scale_arcsec": None if orientation is None else orientation[0],
        "north_angle_deg": None if orientation is None else orientation[1],
    }


@router.get(
    "/axis",
    response_model=AxisOut,
    summary="Spectral value of every plane in a chosen unit, frame, rest value, beam(s), K factors",
)
def axis(image: ImageDep, choice: AxisDep) -> dict[str, Any]:
    spectral = _axis(image, choice)
    kelvin = None
    try:
        kelvin = [float(v) for v in cube_beams.jy_per_beam_to_k(image.image, jobs.beams_of(image.image))]
    except InvalidParameter:
        pass  # not Jy/beam, no beam or no frequency axis: no Kelvin readout
    velocity_ok = spectral.native_kind == "velocity" or spectral.rest_hz is not None
    return {
        "path": image.path,
        "hdu": image.hdu,
        "plane_count": image.image.planes,
        **spectral.as_json(),
        "bunit": image.image.bunit,
        "velocity_available": spectral.kind != "pixel" and velocity_ok,
        "beam": _beam_json(image),
        "kelvin_per_unit": kelvin,
    }


def _values(ref: ImageRef, x: int | None, y: int | None, region: str | None, stat: str) -> tuple[np.ndarray, int]:
    if region:
        pixels = cubes.region_mask(region, ref.image)
        return cubes.region_spectrum(ref.image, pixels, "sum" if stat == "flux" else stat), pixels.n_pixels
    if x is None or y is None:
        raise InvalidParameter("give x and y (0-based pixel) or a region")
    return cubes.spectrum_at(ref.image, x, y).astype(np.float64), 1


def _spectrum(ref: ImageRef, choice: AxisChoice, where: SpectrumWhere) -> dict[str, Any]:
    x, y, region, stat, flux_unit = where.x, where.y, where.region, where.stat, where.flux_unit
    cubes.require_cube(ref.image)
    spectral = _axis(ref, choice)
    values, n_pixels = _values(ref, x, y, region, stat)
    unit = ref.image.bunit
    if stat == "sum" and region:
        unit = f"{unit} pix" if unit else "pix"
    if stat == "flux" and region:
        values, unit = _to_flux(ref, values)
    if flux_unit == "K":
        if stat != "mean" and region:
            raise InvalidParameter("Kelvin applies to a pixel or a region mean, not a sum")
        values = values * cube_beams.jy_per_beam_to_k(ref.image, jobs.beams_of(ref.image))
        unit = "K"
    return {
        **spectral.as_json(),
        "values": [None if not np.isfinite(v) else float(v) for v in values],
        "unit": unit,
        "x": x if not region else None,
        "y": y if not region else None,
        "region": region or None,
        "stat": stat if region else "pixel",
        "n_pixels": n_pixels,
        "plane_count": ref.image.planes,
    }


def _to_flux(ref: ImageRef, summed: np.ndarray) -> tuple[np.ndarray, str]:
    """A region's sum of Jy/beam values -> Jy: divided by the beam area in pixels per plane."""
    beams = jobs.beams_of(ref.image)
    bunit = ref.image.bunit.lower().replace(" ", "")
    if beams is None or not ref.image.wcs.has_celestial or bunit not in ("jy/beam", "mjy/beam", "beam-1jy"):
        raise InvalidParameter("stat=flux needs data in Jy/beam with a beam and a celestial WCS")
    per_beam = beams.area_sr() / ref.image.wcs.pixel_area_sr()
    scale = 1e-3 if bunit.startswith("mjy") else 1.0
    return summed / per_beam * scale, "Jy"


RegionQuery = Annotated[
    str | None,
    Query(
        max_length=100_000,
        description="DS9 region text (e.g. 'image; circle(101,81,6)' 1-based, or 'fk5; box(...)'); "
        "replaces x/y: the sum or mean of the pixels whose centres fall inside",
    ),
]
StatQuery = Annotated[
    Literal["mean", "sum", "flux"], Query(description="region statistic; flux = sum / beam area (Jy)")
]
XQuery = Annotated[int | None, Query(ge=0, le=10_000_000, description="0-based pixel column")]
YQuery = Annotated[int | None, Query(ge=0, le=10_000_000, description="0-based pixel row")]
FluxQuery = Annotated[Literal["native", "K"], Query(description="values in BUNIT or in Kelvin (Rayleigh-Jeans)")]


@dataclass(frozen=True)
class SpectrumWhere:
    """Where a spectrum is taken: a pixel (0-based x, y) or a DS9 region, and the statistic."""

    x: int | None
    y: int | None
    region: str | None
    stat: str
    flux_unit: str


def get_spectrum_where(
    x: XQuery = None,
    y: YQuery = None,
    region: RegionQuery = None,
    stat: StatQuery = "mean",
    flux_unit: FluxQuery = "native",
) -> SpectrumWhere:
    return SpectrumWhere(x, y, region, stat, flux_unit)


WhereDep = Annotated[SpectrumWhere, Depends(get_spectrum_where)]


@router.get(
    "/spectrum",
    response_model=SpectrumOut,
    summary="Spectrum at a pixel, or summed/mean inside a DS9 region, along the spectral axis",
)
def spectrum(image: ImageDep, choice: AxisDep, where: WhereDep) -> dict[str, Any]:
    return _spectrum(image, choice, where)


@router.get(
    "/spectrum/export",
    summary="The same spectrum as a CSV or FITS table file",
    response_class=Response,
    responses=binary("text/csv", "application/fits", description="the spectrum table"),
)
def export_spectrum(
    image: ImageDep, choice: AxisDep, where: WhereDep, format: Literal["csv", "fits"] = "csv"
) -> Response:
    answer = _spectrum(image, choice, where)
    x, y, region, stat = where.x, where.y, where.region, where.stat
    table = Table(
        {
            "plane": np.arange(answer["plane_count"], dtype=np.int32),
            "spectral": np.array([np.nan if v is None else v for v in answer["spectral"]]),
            "value": np.array([np.nan if v is None else v for v in answer["values"]]),
        }
    )
    table["spectral"].unit = answer["spectral_unit"] or None
    table["value"].unit = u.Unit(answer["unit"], parse_strict="silent") if answer["unit"] else None
    described = f"region {region!r} ({stat})" if region else f"pixel x={x} y={y} (0-based)"
    meta = {
        "SOURCE": image.path[-60:],
        "HDU": image.hdu,
        "SPECSYS": answer["frame"] or "",
        "CONVENT": answer["convention"] or "",
    }
    stem = jobs.safe_stem(image.file)
    buffer = io.BytesIO()
    if format == "fits":
        hdu = fits.BinTableHDU(table, name="SPECTRUM")
        hdu.header.update(meta)
        hdu.header["COMMENT"] = _ascii(described[:70])
        if answer["rest_hz"]:
            hdu.header["RESTFRQ"] = answer["rest_hz"]
        hdu.writeto(buffer)
        media = "application/fits"
    else:
        lines = [f"# {image.path} [HDU {image.hdu}] {described}", f"# frame {answer['frame'] or '-'}"]
        lines.append(f"# plane,spectral [{answer['spectral_unit']}],value [{answer['unit']}]")
        text = io.StringIO()
        table.write(text, format="ascii.csv")
        buffer.write(("\n".join(lines) + "\n" + text.getvalue()).encode())
        media = "text/csv"
    name = f"{stem}_spectrum.{format}"
    return Response(
        buffer.getvalue(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _ascii(text: str) -> str:
    """Printable ASCII only (FITS header cards refuse anything else)."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)


@router.get(
    "/limits",
    response_model=CubeLimitsOut,
    summary="Display limits over the whole cube (percentiles of samples of up to 24 planes)",
)
def cube_limits(
    services: ServicesDep,
    image: ImageDep,
    low: Annotated[float, Query(ge=0, le=100)] = 0.5,
    high: Annotated[float, Query(ge=0, le=100)] = 99.5,
) -> dict[str, Any]:
    cubes.require_cube(image.image)
    if not low < high:
        raise InvalidParameter("low must be below high")
    planes = np.unique(np.linspace(0, image.image.planes - 1, min(_LIMIT_PLANES, image.image.planes)).astype(int))
    per_plane = max(10_000, services.settings.limits_sample_size // len(planes))
    samples = [image.image.plane(int(p)).sample(per_plane) for p in planes]
    values = np.concatenate(samples)
    vmin, vmax = percentile_limits(values, low, high)
    return {"mode": "cube", "vmin": vmin, "vmax": vmax, "planes_sampled": len(planes), "sample_size": int(values.size)}


@router.get(
    "/channels",
    summary="Channel maps: a grid of planes with one colour scale, as a figure",
    response_class=Response,
    responses=binary("image/png", "application/pdf", "image/svg+xml", description="the figure"),
)
def channels(
    image: ImageDep,
    choice: AxisDep,
    center: Annotated[
        float | None, Query(allow_inf_nan=False, description="spectral value (in unit) of the middle panel")
    ] = None,
    count: Annotated[int, Query(ge=1, le=64)] = 9,
    step: Annotated[int, Query(ge=1, le=10_000, description="planes between panels")] = 1,
    cmap: Annotated[str, Query(max_length=64)] = "inferno",
    vmin: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    vmax: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    format: Literal["png", "pdf", "svg"] = "png",
) -> Response:
    spectral = _axis(image, choice)
    planes = grid_planes(spectral, center, count, step)
    data = channel_maps(image.image, spectral, planes, cmap=cmap, vmin=vmin, vmax=vmax, fmt=format)
    name = f"{jobs.safe_stem(image.file)}_channels.{format}"
    return Response(
        data, media_type=FIGURE_FORMATS[format], headers={"Content-Disposition": f'inline; filename="{name}"'}
    )
