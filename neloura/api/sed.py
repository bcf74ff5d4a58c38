"""The SED of a source: forced photometry in every covering image and catalog flux columns."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from neloura.api.cutouts import Where, image_names
from neloura.api.deps import ServicesDep, SettingsDep, resolve_hdu
from neloura.api.openapi import IMAGE_ERRORS, Out, binary, errors
from neloura.core.cutouts import cutout
from neloura.core.sed import MAX_INSETS, sed_csv, sed_figure
from neloura.errors import InvalidParameter
from neloura.runtime.cutouts import cutout_bytes
from neloura.runtime.footprints import select
from neloura.runtime.sed import SedRequest, catalog_point, measure_sed
from neloura.runtime.services import Services

router = APIRouter(responses=errors(*IMAGE_ERRORS), prefix="/api/sed", tags=["sed"])

Mapping = Annotated[dict[str, str], Field(max_length=200)]
FLUX_COLUMN = re.compile(r"^(?P<band>[A-Za-z0-9]+)_flux$", re.IGNORECASE)


class FluxColumn(BaseModel):
    column: Annotated[str, Field(min_length=1, max_length=256)]
    error_column: Annotated[str | None, Field(max_length=256)] = None
    filter: Annotated[str, Field(min_length=1, max_length=64)]
    unit: Annotated[str | None, Field(max_length=64, description="default: the column's unit")] = None


class CatalogFluxes(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=4096, description="catalog under catalogs/")]
    row: Annotated[int | None, Field(ge=0, description="0-based row; default: nearest within match_arcsec")] = None
    match_arcsec: Annotated[float, Field(gt=0, le=3600)] = 1.0
    ra_col: Annotated[str | None, Field(max_length=256)] = None
    dec_col: Annotated[str | None, Field(max_length=256)] = None
    columns: Annotated[
        list[FluxColumn] | None, Field(max_length=200, description="default: every <FILTER>_flux column")
    ] = None


class SedBody(Where):
    ra_deg: Annotated[float, Field(ge=-360, le=720, description="ICRS degrees")]
    dec_deg: Annotated[float, Field(ge=-90, le=90, description="ICRS degrees")]
    radius_arcsec: Annotated[float, Field(gt=0, le=600, description="aperture radius")]
    annulus_arcsec: Annotated[tuple[float, float] | None, Field(description="background annulus [inner, outer]")] = None
    psf_match: bool = False
    aperture_correction: bool = True
    limit_sigma: Annotated[float, Field(gt=0, le=100)] = 3.0
    psfs: Annotated[Mapping, Field(default_factory=dict, description="filter -> PSF file under psf/")]
    kernels: Annotated[Mapping, Field(default_factory=dict, description="filter -> kernel file under kernels/")]
    psf_fwhm_arcsec: Annotated[
        dict[str, Annotated[float, Field(gt=0, le=3600)]],
        Field(default_factory=dict, max_length=200, description="filter -> Gaussian PSF FWHM"),
    ]
    wavelengths_um: Annotated[
        dict[str, Annotated[float, Field(gt=0, le=1e7)]],
        Field(
            default_factory=dict,
            max_length=200,
            description="filter (or path[hdu]) -> wavelength, for filters the table lacks",
        ),
    ]
    catalog: CatalogFluxes | None = None


class PlotPoint(BaseModel):
    filter: Annotated[str | None, Field(max_length=64)] = None
    instrument: Annotated[str | None, Field(max_length=64)] = None
    wavelength_um: float | None = None
    flux_ujy: float | None = None
    flux_err_ujy: float | None = None
    upper_limit: bool = False
    path: Annotated[str | None, Field(max_length=4096)] = None
    hdu: int | None = None


class Insets(BaseModel):
    """Cutout insets above the plot: one per point that names its image (path, hdu), by wavelength."""

    ra_deg: Annotated[float, Field(ge=-360, le=720)]
    dec_deg: Annotated[float, Field(ge=-90, le=90)]
    size_arcsec: Annotated[float, Field(gt=0, le=3600)] = 5.0


class PlotBody(BaseModel):
    points: Annotated[list[PlotPoint], Field(max_length=1000)]
    insets: Insets | None = None
    format: Literal["png", "pdf", "svg", "csv"] = "png"
    width_in: Annotated[float, Field(gt=1, le=40)] = 18.0
    height_in: Annotated[float, Field(gt=1, le=40)] = 14.0
    dpi: Annotated[float, Field(ge=30, le=600)] = 150.0
    title: Annotated[str, Field(max_length=200)] = ""


class PsfOut(Out):
    source: str
    fwhm_arcsec: float


class SedPoint(Out):
    """One point: an image's forced photometry (``path``, ``hdu``, ``measured_ujy``, ``snr``...) or a
    catalog's flux column (``source`` "catalog", ``catalog``, ``row``, ``column``)."""

    path: str | None = Field(description="image path relative to files/; null for a catalog point")
    hdu: int | None
    instrument: str
    filter: str
    pivot_um: float | None
    wavelength_um: float | None = Field(description="null when unknown (see missing_wavelengths)")
    flux_ujy: float | None = Field(description="the flux, or the upper limit when upper_limit")
    flux_err_ujy: float | None
    upper_limit: bool
    notes: list[str]


class SedOut(Out):
    ra_deg: float = Field(description="ICRS, in [0, 360)")
    dec_deg: float
    points: list[SedPoint]
    target_psf: PsfOut | None = Field(description="the PSF every image was matched to (psf_match)")
    missing_wavelengths: list[str] = Field(description="filters (or paths) whose wavelength is unknown")
    radius_arcsec: float
    annulus_arcsec: tuple[float, float]


def _catalog_points(services: Services, body: CatalogFluxes, ra: float, dec: float) -> list[dict[str, Any]]:
    table = services.catalogs.table(body.name)
    row = body.row
    if row is None:
        cra, cdec = services.catalogs.radec(body.name, body.ra_col, body.dec_col)
        cos = np.sin(np.radians(dec)) * np.sin(np.radians(cdec)) + np.cos(np.radians(dec)) * np.cos(
            np.radians(cdec)
        ) * np.cos(np.radians(cra - ra))
        sep = np.degrees(np.arccos(np.clip(np.nan_to_num(cos, nan=-1.0), -1, 1))) * 3600
        if sep.size == 0 or sep.min() > body.match_arcsec:
            return []
        row = int(np.argmin(sep))
    if row >= table.num_rows:
        raise InvalidParameter(f"row {row} is beyond the {table.num_rows} rows of {body.name}")
    values = table.slice(row, 1).to_pylist()[0]
    units = {f.name: (f.metadata or {}).get(b"unit", b"").decode() for f in table.schema}
    columns = body.columns
    if columns is None:
        columns = []
        for name in table.column_names:
            match = FLUX_COLUMN.match(name)
            if match:
                error = next(
                    (c for c in table.column_names if c.lower() in (f"{name}_err".lower(), f"{name}_error".lower())),
                    None,
                )
                columns.append(FluxColumn(column=name, error_column=error, filter=match["band"]))
    out = []
    for spec in columns:
        if spec.column not in values or (spec.error_column and spec.error_column not in values):
            raise InvalidParameter(f"no column {spec.column!r} (or its error column) in {body.name}")
        point = catalog_point(
            values, spec.column, spec.error_column, spec.filter, spec.unit or units.get(spec.column, "")
        )
        out.append({**point, "catalog": body.name, "row": row})
    return out


@router.post("", summary="Forced aperture photometry of a position in every covering image: the SED in µJy")
def sed(services: ServicesDep, settings: SettingsDep, body: SedBody) -> SedOut:
    ra = body.ra_deg % 360.0
    found = [c.footprint for c in select(services.footprints, ra, body.dec_deg, image_names(body), body.folder)]
    request = SedRequest(
        ra_deg=ra,
        dec_deg=body.dec_deg,
        radius_arcsec=body.radius_arcsec,
        annulus_arcsec=body.annulus_arcsec,
        psf_match=body.psf_match,
        aperture_correction=body.aperture_correction,
        limit_sigma=body.limit_sigma,
        psfs=body.psfs,
        kernels=body.kernels,
        psf_fwhm_arcsec=body.psf_fwhm_arcsec,
        wavelengths_um=body.wavelengths_um,
    )
    answer = measure_sed(
        lambda path, hdu: services.images.get(path, hdu),
        found,
        request,
        settings.psf_dir,
        settings.kernels_dir,
        budget=services.memory,
    )
    if body.catalog is not None:
        answer["points"].extend(_catalog_points(services, body.catalog, ra, body.dec_deg))
    return SedOut.model_validate({"ra_deg": ra, "dec_deg": body.dec_deg, **answer})


_MEDIA = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml", "csv": "text/csv"}


@router.post(
    "/plot",
    response_class=Response,
    responses=binary(*_MEDIA.values(), description="the figure or table"),
    summary="An SED (points as POST /api/sed returns them) as PNG, PDF, SVG or CSV, with cutout insets",
)
def sed_plot(services: ServicesDep, body: PlotBody) -> Response:
    points = [p.model_dump() for p in body.points]
    if body.format == "csv":
        content: bytes = sed_csv(points).encode()
    else:
        insets = _insets(services, body.points, body.insets) if body.insets else None
        content = sed_figure(
            points,
            body.format,
            width_in=body.width_in,
            height_in=body.height_in,
            dpi=body.dpi,
            title=body.title,
            insets=insets,
        )
    disposition = f'attachment; filename="sed.{body.format}"'
    return Response(content, media_type=_MEDIA[body.format], headers={"Content-Disposition": disposition})


def _insets(services: Services, points: list[PlotPoint], where: Insets) -> list[tuple[str, np.ndarray]]:
    """A cutout of each point's image (by wavelength; points without an image, or whose image
    does not hold the position, get none)."""
    out = []
    named = sorted((p for p in points if p.path), key=lambda p: p.wavelength_um or 0.0)
    for p in named[:MAX_INSETS]:
        assert p.path is not None
        file = services.images.resolve(p.path)
        image = services.images.get_resolved(file, resolve_hdu(file, p.hdu, services.images))
        if not image.wcs.has_celestial or image.wcs.wcs is None:
            continue
        try:
            with services.memory.reserve(cutout_bytes(image, where.size_arcsec), f"an inset of {file.name}"):
                piece = cutout(image.plane(0).read, (image.height, image.width), image.wcs.wcs, where.ra_deg % 360.0,
                               where.dec_deg, where.size_arcsec)  # fmt: skip
        except InvalidParameter:
            continue
        out.append((p.filter or p.path, piece.data))
    return out
