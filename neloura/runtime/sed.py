"""The SED of one source: forced photometry in every covering image (optionally PSF-matched to
the broadest PSF), fluxes in µJy through each header's units, wavelengths from the bandpass table.

PSFs per image come from (in order) the request's ``psfs`` mapping (filter -> file under psf/),
a file under psf/ named after the filter (``F770W.fits``, ``psf_miri_f770w.fits``) or holding
that FILTER keyword, the request's ``psf_fwhm_arcsec`` (a Gaussian), or the header's beam
(BMAJ/BMIN). A ``kernels`` mapping (filter -> file under kernels/) replaces the kernel computed
from two PSFs.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from neloura.core.bandpasses import lookup, normalise_filter
from neloura.core.cutouts import cutout
from neloura.core.fitsio import FitsImage
from neloura.core.fluxunits import conversion
from neloura.core.footprints import Footprint
from neloura.core.paths import confine_file
from neloura.core.psf import PsfModel, _header_scale, load_psf_fits
from neloura.core.psfmatch import convolve, convolve_variance, matching_kernel, resample_kernel, stamp
from neloura.core.sed import aperture_fraction, measure, upper_limit
from neloura.errors import InvalidParameter, NotFound
from neloura.runtime.cutouts import cutout_bytes
from neloura.runtime.memory import MemoryBudget

OpenImage = Callable[[str, int], FitsImage]


@dataclass
class SedRequest:
    """What to measure (see ``POST /api/sed``); radii in arcsec."""

    ra_deg: float
    dec_deg: float
    radius_arcsec: float
    annulus_arcsec: tuple[float, float] | None = None
    psf_match: bool = False
    aperture_correction: bool = True
    limit_sigma: float = 3.0
    psfs: dict[str, str] = field(default_factory=dict)
    kernels: dict[str, str] = field(default_factory=dict)
    psf_fwhm_arcsec: dict[str, float] = field(default_factory=dict)
    wavelengths_um: dict[str, float] = field(default_factory=dict)


@dataclass
class ImagePsf:
    """One image's PSF on its own grid and where it came from."""

    model: PsfModel
    fwhm_arcsec: float
    source: str
    file: Path | None = None
    gaussian_fwhm_arcsec: float | None = None

    def on_grid(self, scale_arcsec: float) -> PsfModel:
        """This PSF rendered for an image of ``scale_arcsec`` pixels."""
        if self.file is not None:
            return load_psf_fits(self.file, scale_arcsec)
        assert self.gaussian_fwhm_arcsec is not None
        return PsfModel.gaussian(self.gaussian_fwhm_arcsec / scale_arcsec)


def _filter_key(footprint: Footprint) -> str:
    return normalise_filter(footprint.filter)


def find_psf_file(psf_dir: Path, band: str) -> Path | None:
    """A file under psf/ for filter ``band``: by name (the filter as a whole word of the stem),
    else by its FILTER keyword. Several candidates: the shortest name wins."""
    if not band or not psf_dir.is_dir():
        return None
    pattern = re.compile(rf"(^|[^A-Z0-9]){re.escape(band)}($|[^A-Z0-9])")
    names = sorted(
        (p for p in psf_dir.iterdir() if p.suffix.lower() in (".fits", ".fit") and p.is_file()),
        key=lambda p: (len(p.name), p.name),
    )
    for path in names:
        if pattern.search(path.stem.upper()):
            return path
    for path in names:
        try:
            if normalise_filter(str(fits.getval(path, "FILTER", 0))) == band:
                return path
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return None


def image_psf(footprint: Footprint, scale: float, request: SedRequest, psf_dir: Path) -> ImagePsf | None:
    band = _filter_key(footprint)
    named = {normalise_filter(k): v for k, v in request.psfs.items()}
    fwhms = {normalise_filter(k): v for k, v in request.psf_fwhm_arcsec.items()}
    file: Path | None = None
    if band in named:
        file = confine_file(psf_dir, named[band], NotFound, "PSF")
    elif band not in fwhms:
        file = find_psf_file(psf_dir, band)
    if file is not None:
        model = load_psf_fits(file, scale)
        return ImagePsf(model, model.fwhm_px * scale, f"psf/{file.name}", file=file)
    fwhm = fwhms.get(band)
    if fwhm is None and "BMAJ" in footprint.meta and "BMIN" in footprint.meta:
        fwhm = math.sqrt(float(footprint.meta["BMAJ"]) * float(footprint.meta["BMIN"])) * 3600.0
    if fwhm is None:
        return None
    return ImagePsf(PsfModel.gaussian(fwhm / scale), fwhm, "Gaussian", gaussian_fwhm_arcsec=fwhm)


def _kernel(
    footprint: Footprint, scale: float, request: SedRequest, kernels_dir: Path
) -> tuple[np.ndarray, str] | None:
    named = {normalise_filter(k): v for k, v in request.kernels.items()}
    band = _filter_key(footprint)
    if band not in named:
        return None
    file = confine_file(kernels_dir, named[band], NotFound, "kernel")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(file) as hdul:
                hdu = next((h for h in hdul if getattr(h, "is_image", False) and h.data is not None), None)
                if hdu is None:
                    raise InvalidParameter(f"{file.name} holds no kernel image")
                data, header = np.asarray(hdu.data, dtype=np.float64), hdu.header
    except OSError as exc:
        raise InvalidParameter(f"{file.name} is not a readable FITS kernel: {exc}") from exc
    kscale = float(header["PIXSCALE"]) if "PIXSCALE" in header else _header_scale(header)
    try:
        kernel = resample_kernel(data, kscale, scale)
    except InvalidParameter as exc:
        raise InvalidParameter(f"kernels/{file.name}: {exc.message}") from exc
    note = "" if kscale is None or abs(kscale / scale - 1) <= 0.01 else f' (resampled from {kscale:.4g}"/px)'
    return kernel, f"kernels/{file.name}{note}"


def wavelength(footprint: Footprint, request: SedRequest) -> float | None:
    given = {k.upper(): v for k, v in request.wavelengths_um.items()}
    for key in (f"{footprint.path}[{footprint.hdu}]".upper(), footprint.filter.upper()):
        if key in given:
            return float(given[key])
    return footprint.pivot_um


def measure_sed(
    open_image: OpenImage,
    footprints: list[Footprint],
    request: SedRequest,
    psf_dir: Path,
    kernels_dir: Path,
    budget: MemoryBudget | None = None,
) -> dict[str, Any]:
    """Points of the SED (one per image, each measured within ``budget``: 507 when its cutout
    cannot fit) and the wavelengths still unknown."""
    budget = budget or MemoryBudget(0)
    if not 0 < request.radius_arcsec <= 600:
        raise InvalidParameter("radius_arcsec must be in (0, 600]")
    annulus = request.annulus_arcsec or (2.0 * request.radius_arcsec, 3.0 * request.radius_arcsec)
    if not request.radius_arcsec <= annulus[0] < annulus[1]:
        raise InvalidParameter("annulus_arcsec must satisfy radius <= inner < outer")
    images = [(fp, open_image(fp.path, fp.hdu)) for fp in footprints]
    scales = [image.wcs.pixel_scale_arcsec() for _, image in images]
    psfs = [image_psf(fp, scale, request, psf_dir) for (fp, _), scale in zip(images, scales, strict=True)]
    target: ImagePsf | None = None
    if request.psf_match and images:
        missing = [fp.filter or fp.path for (fp, _), psf in zip(images, psfs, strict=True) if psf is None]
        if missing:
            raise InvalidParameter(
                f"PSF matching needs a PSF for every image; none known for {', '.join(missing)}: "
                "add psf/<FILTER>.fits, or give psfs / psf_fwhm_arcsec"
            )
        target = max((p for p in psfs if p is not None), key=lambda p: p.fwhm_arcsec)
    points = []
    for (fp, image), scale, psf in zip(images, scales, psfs, strict=True):
        with budget.reserve(cutout_bytes(image, 2.2 * annulus[1]), f"measuring {image.path.name}"):
            points.append(_point(open_image, fp, image, scale, psf, target, annulus, request, kernels_dir))
    missing_wl = sorted({p["filter"] or p["path"] for p in points if p["wavelength_um"] is None})
    return {
        "points": points,
        "target_psf": None if target is None else {"source": target.source, "fwhm_arcsec": target.fwhm_arcsec},
        "missing_wavelengths": missing_wl,
        "radius_arcsec": request.radius_arcsec,
        "annulus_arcsec": list(annulus),
    }


def _point(
    open_image: OpenImage,
    fp: Footprint,
    image: FitsImage,
    scale: float,
    psf: ImagePsf | None,
    target: ImagePsf | None,
    annulus: tuple[float, float],
    request: SedRequest,
    kernels_dir: Path,
) -> dict[str, Any]:
    radius_px, annulus_px = request.radius_arcsec / scale, (annulus[0] / scale, annulus[1] / scale)
    kernel: np.ndarray | None = None
    effective: np.ndarray | None = None if psf is None else stamp(psf.model, psf.model.half_px)
    matched = ""
    if target is not None:
        given = _kernel(fp, scale, request, kernels_dir)
        if given is not None:
            kernel, matched = given
            effective = None if effective is None else convolve(effective, kernel)
        else:
            assert psf is not None
            goal = target.on_grid(scale)
            kernel, matched = matching_kernel(psf.model, goal), f'to {target.source} ({target.fwhm_arcsec:.3g}")'
            effective = stamp(goal, goal.half_px)
    pad = 0 if kernel is None else kernel.shape[0] // 2 + 1
    plane = image.plane(0)
    wcs = image.wcs.wcs
    assert wcs is not None
    piece = cutout(
        plane.read, (image.height, image.width), wcs, request.ra_deg, request.dec_deg, 2.2 * annulus[1], pad_px=pad
    )
    data = piece.data.astype(np.float64)
    err_array = (
        None if fp.err_hdu is None else read_error(open_image(fp.path, fp.err_hdu), image, piece.origin, data.shape)
    )
    if kernel is not None:
        data = convolve(data, kernel)
        if err_array is not None:
            err_array = np.sqrt(convolve_variance(err_array**2, kernel))
    m = measure(data, piece.x_pix, piece.y_pix, radius_px, annulus_px, error=err_array)
    correction = 1.0
    if request.aperture_correction and effective is not None:
        correction = 1.0 / aperture_fraction(effective, radius_px, annulus_px)
    area = image.wcs.pixel_area_sr()
    conv = conversion(fp.meta, area)
    flux, err = m.flux * correction * conv.factor, m.flux_err * correction * conv.factor
    is_limit, shown = upper_limit(flux, err, request.limit_sigma)
    notes = [conv.note] if not conv.calibrated else []
    if request.aperture_correction and effective is None:
        notes.append("no PSF known: aperture flux, not corrected to total")
    if fp.pivot_um is None and wavelength(fp, request) is None:
        notes.append(
            f"FILTER {fp.filter!r} is not in the bandpass table: give its wavelength" if fp.filter else "no FILTER"
        )
    return {
        **fp.describe(),
        "wavelength_um": wavelength(fp, request),
        "flux_ujy": _finite(shown),
        "flux_err_ujy": _finite(err),
        "measured_ujy": _finite(flux),
        "upper_limit": is_limit,
        "snr": _finite(m.snr),
        "unit": conv.unit,
        "calibration": conv.note,
        "aperture_flux": _finite(m.flux),
        "aperture_correction": correction,
        "background": _finite(m.background),
        "n_masked": m.n_masked,
        "error_from": "ERR extension" if err_array is not None else "annulus scatter",
        "psf": None if psf is None else {"source": psf.source, "fwhm_arcsec": psf.fwhm_arcsec},
        "psf_matched": matched or None,
        "x_pix": _finite(piece.x_pix + (piece.origin or (0, 0))[0]),
        "y_pix": _finite(piece.y_pix + (piece.origin or (0, 0))[1]),
        "notes": notes,
    }


def read_error(
    err: FitsImage, image: FitsImage, origin: tuple[int, int] | None, shape: tuple[int, ...]
) -> np.ndarray | None:
    """The ERR extension's values under a cutout whose pixel (0, 0) is ``origin`` (x, y) of the image."""
    if (err.height, err.width) != (image.height, image.width) or origin is None:
        return None
    height, width = shape
    out = np.full((height, width), np.nan)
    x0, y0 = origin
    window = err.plane(0).read(max(0, y0), y0 + height, max(0, x0), x0 + width)
    oy, ox = max(0, -y0), max(0, -x0)
    out[oy : oy + window.shape[0], ox : ox + window.shape[1]] = window
    return out


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def catalog_point(
    values: dict[str, Any], column: str, error_column: str | None, band: str, unit: str
) -> dict[str, Any]:
    """One SED point from catalog columns (fluxes converted from ``unit`` to µJy)."""
    import astropy.units as u

    try:
        factor = float(u.Unit(unit).to(u.uJy)) if unit else None
    except (ValueError, TypeError, u.UnitConversionError):
        factor = None
    raw = values.get(column)
    raw_err = values.get(error_column) if error_column else None
    bandpass = lookup(None, band)
    flux = None if raw is None or factor is None else float(raw) * factor
    err = None if raw_err is None or factor is None else float(raw_err) * factor
    notes = [] if factor is not None else [f"unit of {column} unknown ({unit or 'none'}): give its unit"]
    return {
        "path": None,
        "hdu": None,
        "column": column,
        "filter": band,
        "instrument": bandpass.instrument if bandpass else "",
        "pivot_um": bandpass.pivot_um if bandpass else None,
        "wavelength_um": bandpass.pivot_um if bandpass else None,
        "flux_ujy": flux,
        "flux_err_ujy": err,
        "upper_limit": False,
        "source": "catalog",
        "notes": notes,
    }
