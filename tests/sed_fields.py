"""Seeded truth fields for the cutout, SED and footprint tests: point sources of known flux
(µJy) rendered into images of different pixel scales, PSF widths and units."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from neloura.core.psf import PsfModel, inject
from neloura.core.synthetic import make_wcs_header

RA0, DEC0 = 150.0, 2.0
# sources: (ra, dec, flux_uJy), a few arcsec apart
SOURCES = (
    (RA0 + 4.0 / 3600, DEC0 - 3.0 / 3600, 300.0),
    (RA0 - 3.0 / 3600, DEC0 + 2.0 / 3600, 800.0),
    (RA0 + 1.0 / 3600, DEC0 + 6.0 / 3600, 2000.0),
)
PHOTFNU = 1.5e-7  # Jy s / e


@dataclass(frozen=True)
class Band:
    name: str  # file stem
    instrument: dict[str, str]
    filter: str
    scale_arcsec: float
    fwhm_arcsec: float
    unit: str  # "MJy/sr" or "ELECTRONS/S"
    shape: tuple[int, int]
    rotation_deg: float = 0.0


NIRCAM = Band("nircam_f150w", {"INSTRUME": "NIRCAM"}, "F150W", 0.06, 0.15, "MJy/sr", (420, 400), 20.0)
WFC3 = Band("wfc3_f160w", {"INSTRUME": "WFC3", "DETECTOR": "IR"}, "F160W", 0.12, 0.5, "ELECTRONS/S", (220, 210))


def per_uJy(band: Band, header: fits.Header) -> float:
    """Image units x pixels per µJy."""
    if band.unit == "MJy/sr":
        area_sr = abs(header["CDELT1"] * header["CDELT2"]) * (np.pi / 180) ** 2
        return 1.0 / (1e12 * area_sr)
    return 1e-6 / PHOTFNU


def write_band(folder: Path, band: Band, *, seed: int, noise_uJy: float = 0.02, bunit: bool = True) -> Path:
    """A two-extension file (PRIMARY with the instrument keywords, SCI) with the sources; the
    noise is ``noise_uJy`` per pixel."""
    header = make_wcs_header(band.shape, RA0, DEC0, band.scale_arcsec, rotation_deg=band.rotation_deg)
    factor = per_uJy(band, header)
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, noise_uJy * factor, band.shape)
    data += 5.0 * noise_uJy * factor  # a sky level the annulus must remove
    wcs = WCS(header)
    ra, dec, flux = (np.array(v) for v in zip(*SOURCES, strict=True))
    x, y = wcs.all_world2pix(ra, dec, 0)
    inject(data, PsfModel.gaussian(band.fwhm_arcsec / band.scale_arcsec), x, y, flux * factor)
    primary = fits.PrimaryHDU()
    primary.header.update({"TELESCOP": "JWST" if band.unit == "MJy/sr" else "HST", **band.instrument})
    primary.header["FILTER"] = band.filter
    sci = fits.ImageHDU(data.astype(np.float32), header, name="SCI")
    if bunit:
        sci.header["BUNIT"] = band.unit
    if band.unit != "MJy/sr":
        sci.header["PHOTFNU"] = PHOTFNU
    path = folder / f"{band.name}.fits"
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([primary, sci]).writeto(path, overwrite=True)
    return path


def write_gaussian_psf(path: Path, fwhm_arcsec: float, scale_arcsec: float, half: int = 50) -> None:
    """A sampled Gaussian PSF file (PIXELSCL in arcsec)."""
    sigma = fwhm_arcsec / scale_arcsec / 2.3548200450309493
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    psf = np.exp(-0.5 * (xx**2 + yy**2) / sigma**2)
    hdu = fits.PrimaryHDU((psf / psf.sum()).astype(np.float32))
    hdu.header["PIXELSCL"] = scale_arcsec
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu.writeto(path, overwrite=True)
