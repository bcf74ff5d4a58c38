"""The embedded demo set, written on first start when files/ holds no FITS image.

- ``demo/galaxy.fits``: a JWST-like multi-extension image (empty PRIMARY with telescope and
  instrument keywords; SCI in MJy/sr with a TAN WCS; ERR; DQ) of a spiral galaxy with stars
  and background galaxies, inside a rotated footprint whose corners are NaN like a mosaic.
- ``demo/cube.fits``: an ALMA-like CO(2-1) line cube of a rotating disk (RA, Dec, FREQ).
- ``demo_sources.csv`` (in the catalogs folder): the injected stars and galaxies of
  ``galaxy.fits`` with ICRS positions, fluxes and AB magnitudes.
- ``psf/demo_jwst_f410m.fits`` (written when psf/ holds no FITS file): a JWST-like PSF, the
  diffraction pattern of a hexagonal 6.5 m pupil with a central obstruction and three struts at
  4.05 µm, 4x oversampled for the 0.063" demo pixels (PIXELSCL), so completeness tests can
  inject a real-shaped PSF (core, rings and six spikes) instead of a Gaussian.

Everything is seeded (same bytes every time) and written atomically: a hidden temporary file
in the target folder is hard-linked to its final name, so an existing file is never replaced.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from neloura.core.synthetic import CubeSpec, add_gaussian_sources, make_cube, make_wcs_header, sersic_profile
from neloura.core.wcs import ImageWcs

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz")
DEMO_FOLDER = "demo"
CATALOG_NAME = "demo_sources.csv"
DQ_DO_NOT_USE = 1


@dataclass(frozen=True)
class GalaxyField:
    """The parameters of the demo image (all positions 0-based pixels)."""

    shape: tuple[int, int] = (2048, 2048)
    ra_deg: float = 24.173946  # the position of M74 (NGC 628); the galaxy itself is synthetic
    dec_deg: float = 15.783662
    pixel_scale_arcsec: float = 0.063  # NIRCam long-wavelength channel
    rotation_deg: float = 18.0
    footprint_rotation_deg: float = 4.0
    fwhm_px: float = 2.1  # F200W-like PSF at this sampling
    sky_mjy_sr: float = 0.15
    noise_mjy_sr: float = 0.012
    n_stars: int = 1500
    n_background_galaxies: int = 180
    seed: int = 20240628


def has_fits_image(folder: Path) -> bool:
    """True when ``folder`` (recursively) holds a file named like a FITS image."""
    if not folder.is_dir():
        return False
    for _dirpath, _dirnames, filenames in os.walk(folder):
        if any(name.lower().endswith(FITS_SUFFIXES) and not name.startswith(".") for name in filenames):
            return True
    return False


def _spiral_galaxy(field: GalaxyField, centre: tuple[float, float]) -> np.ndarray:
    """Bulge (Sersic n=4) + exponential disk with two logarithmic arms, MJy/sr, float32."""
    ny, nx = field.shape
    x0, y0 = centre
    bulge = sersic_profile(field.shape, x0, y0, 2.5, 55.0, 4.0, ellipticity=0.15, theta_deg=40.0)
    disk = sersic_profile(field.shape, x0, y0, 0.55, 330.0, 1.0, ellipticity=0.25, theta_deg=40.0)
    yy, xx = np.ogrid[0:ny, 0:nx]
    dx = (xx - x0).astype(np.float32)
    dy = (yy - y0).astype(np.float32)
    radius = np.sqrt(dx**2 + (dy / 0.8) ** 2) + 1.0
    phi = np.arctan2(dy, dx)
    pitch = math.radians(20.0)
    arms = np.cos(2.0 * (phi - np.log(radius / 40.0) / math.tan(pitch)))
    taper = 1.0 - np.exp(-((radius / 120.0) ** 2))
    return (bulge + disk * (1.0 + 0.9 * taper * np.maximum(arms, -0.6))).astype(np.float32)


def _footprint_mask(field: GalaxyField) -> np.ndarray:
    """True inside the rotated square footprint of the 'mosaic'; corners fall outside."""
    ny, nx = field.shape
    theta = math.radians(field.footprint_rotation_deg)
    yy, xx = np.ogrid[0:ny, 0:nx]
    dx, dy = xx - (nx - 1) / 2.0, yy - (ny - 1) / 2.0
    u = dx * math.cos(theta) + dy * math.sin(theta)
    v = -dx * math.sin(theta) + dy * math.cos(theta)
    half = 0.5 * min(nx, ny) * 0.97
    return (np.abs(u) <= half) & (np.abs(v) <= half)


def _knots_and_stars(field: GalaxyField, rng: np.random.Generator, centre: tuple[float, float]) -> Table:
    """Positions and fluxes of stars (uniform) and star-forming knots (along the disk)."""
    ny, nx = field.shape
    x = rng.uniform(4, nx - 5, field.n_stars)
    y = rng.uniform(4, ny - 5, field.n_stars)
    # Flux in MJy/sr summed over pixels: a power law of counts, many faint, few bright.
    flux = 0.6 * (1.0 - rng.uniform(0.0, 0.995, field.n_stars)) ** (-1.2)
    n_knots = 260
    r = np.abs(rng.normal(0, 260, n_knots)) + 60
    phi = rng.uniform(0, 2 * math.pi, n_knots)
    kx = centre[0] + r * np.cos(phi)
    ky = centre[1] + 0.8 * r * np.sin(phi)
    keep = (kx > 4) & (kx < nx - 5) & (ky > 4) & (ky < ny - 5)
    kflux = 1.5 * (1.0 - rng.uniform(0.0, 0.98, n_knots)) ** (-0.8)
    return Table(
        {
            "x_pix": np.concatenate([x, kx[keep]]),
            "y_pix": np.concatenate([y, ky[keep]]),
            "flux_image": np.concatenate([flux, kflux[keep]]),
            "kind": np.array(["star"] * field.n_stars + ["knot"] * int(keep.sum())),
        }
    )


def _background_galaxies(field: GalaxyField, rng: np.random.Generator, image: np.ndarray) -> Table:
    """Small Sersic galaxies added in place to ``image`` (stamps), returned as a table."""
    ny, nx = field.shape
    rows = []
    for _ in range(field.n_background_galaxies):
        x0, y0 = rng.uniform(20, nx - 21), rng.uniform(20, ny - 21)
        r_eff = float(rng.uniform(2.0, 9.0))
        n = float(rng.choice([1.0, 1.5, 2.5, 4.0]))
        amp = float(0.02 * (1.0 - rng.uniform(0, 0.97)) ** (-0.9))
        half = int(min(60, 8 * r_eff))
        xa, xb = max(0, int(x0) - half), min(nx, int(x0) + half + 1)
        ya, yb = max(0, int(y0) - half), min(ny, int(y0) + half + 1)
        stamp = sersic_profile(
            (yb - ya, xb - xa),
            x0 - xa,
            y0 - ya,
            amp,
            r_eff,
            n,
            ellipticity=float(rng.uniform(0, 0.7)),
            theta_deg=float(rng.uniform(0, 180)),
        )
        image[ya:yb, xa:xb] += stamp
        rows.append((x0, y0, float(stamp.sum()), "galaxy"))
    x, y, flux, kind = zip(*rows, strict=True) if rows else ((), (), (), ())
    return Table({"x_pix": np.array(x), "y_pix": np.array(y), "flux_image": np.array(flux), "kind": np.array(kind)})


def _primary_header(field: GalaxyField) -> fits.Header:
    header = fits.Header()
    header["ORIGIN"] = ("Neloura", "synthetic demo data, not a real observation")
    header["TELESCOP"] = "JWST"
    header["INSTRUME"] = "NIRCAM"
    header["DETECTOR"] = "MULTIPLE"
    header["FILTER"] = "F200W"
    header["PUPIL"] = "CLEAR"
    header["TARGNAME"] = "DEMO-SPIRAL"
    header["TARG_RA"] = (field.ra_deg, "[deg] target RA (ICRS)")
    header["TARG_DEC"] = (field.dec_deg, "[deg] target Dec (ICRS)")
    header["DATE-OBS"] = "2024-06-28"
    header["EFFEXPTM"] = (1932.6, "[s] effective exposure time")
    header["OBS_ID"] = "demo-0001"
    header.add_comment("Seeded synthetic image written by neloura.core.demo: a spiral galaxy, stars,")
    header.add_comment("star-forming knots and background galaxies on a flat sky with Gaussian noise.")
    header.add_history("neloura demo: SCI in MJy/sr, ERR 1-sigma, DQ bit 0 = DO_NOT_USE")
    return header


def make_galaxy_field(field: GalaxyField | None = None) -> tuple[fits.HDUList, Table]:
    """The demo multi-extension image and its source table (ICRS ``ra``/``dec`` degrees)."""
    field = field or GalaxyField()
    rng = np.random.default_rng(field.seed)
    ny, nx = field.shape
    centre = (0.47 * nx, 0.53 * ny)
    science = _spiral_galaxy(field, centre)
    science += np.float32(field.sky_mjy_sr)
    point_sources = _knots_and_stars(field, rng, centre)
    add_gaussian_sources(
        science, point_sources["x_pix"], point_sources["y_pix"], point_sources["flux_image"], field.fwhm_px
    )
    galaxies = _background_galaxies(field, rng, science)
    signal = np.maximum(science - field.sky_mjy_sr, 0.0)
    error = np.sqrt(field.noise_mjy_sr**2 + 0.002 * signal).astype(np.float32)
    science += (rng.standard_normal(science.shape, dtype=np.float32) * error).astype(np.float32)
    inside = _footprint_mask(field)
    science[~inside] = np.nan
    error[~inside] = np.nan
    dq = np.where(inside, 0, DQ_DO_NOT_USE).astype(np.int32)

    wcs_header = make_wcs_header(
        field.shape, field.ra_deg, field.dec_deg, field.pixel_scale_arcsec, rotation_deg=field.rotation_deg
    )
    wcs_header["BUNIT"] = ("MJy/sr", "surface brightness")
    pixel_area_sr = (field.pixel_scale_arcsec / 206264.80624709636) ** 2
    wcs_header["PIXAR_SR"] = (pixel_area_sr, "[sr] nominal pixel area")
    wcs_header["PIXAR_A2"] = (field.pixel_scale_arcsec**2, "[arcsec^2] nominal pixel area")
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(header=_primary_header(field)),
            fits.ImageHDU(science, wcs_header, name="SCI"),
            fits.ImageHDU(error, wcs_header, name="ERR"),
            fits.ImageHDU(
                dq,
                make_wcs_header(
                    field.shape, field.ra_deg, field.dec_deg, field.pixel_scale_arcsec, rotation_deg=field.rotation_deg
                ),
                name="DQ",
            ),
        ]
    )
    hdus["DQ"].header["BUNIT"] = "UNITLESS"
    return hdus, _source_catalog(point_sources, galaxies, wcs_header, inside, pixel_area_sr, field)


def _source_catalog(
    points: Table, galaxies: Table, header: fits.Header, inside: np.ndarray, pixel_area_sr: float, field: GalaxyField
) -> Table:
    x = np.concatenate([points["x_pix"], galaxies["x_pix"]])
    y = np.concatenate([points["y_pix"], galaxies["y_pix"]])
    flux_image = np.concatenate([points["flux_image"], galaxies["flux_image"]])
    kind = np.concatenate([points["kind"], galaxies["kind"]])
    keep = inside[np.round(y).astype(int), np.round(x).astype(int)]
    x, y, flux_image, kind = x[keep], y[keep], flux_image[keep], kind[keep]
    ra, dec = ImageWcs.from_header(header).pixel_to_world(x, y)
    flux_ujy = flux_image * pixel_area_sr * 1e12  # MJy/sr * sr = MJy; 1 MJy = 1e12 uJy
    order = np.argsort(-flux_ujy)
    table = Table(
        {
            "id": np.arange(1, len(order) + 1),
            "ra": np.round(ra[order], 8),
            "dec": np.round(dec[order], 8),
            "x_pix": np.round(x[order], 3),
            "y_pix": np.round(y[order], 3),
            "flux_ujy": np.round(flux_ujy[order], 5),
            "mag_ab": np.round(23.9 - 2.5 * np.log10(flux_ujy[order]), 4),
            "kind": kind[order],
        }
    )
    table.meta["comments"] = [
        f"neloura demo sources of demo/galaxy.fits; ICRS degrees; x_pix/y_pix 0-based; seed {field.seed}"
    ]
    return table


def make_demo_cube(seed: int = 20240629) -> fits.HDUList:
    """The demo line cube: 64 channels of 256x256, RA---SIN/DEC--SIN/FREQ in Jy/beam."""
    data, header = make_cube(CubeSpec((64, 256, 256), stokes=False), seed=seed)
    header["TELESCOP"] = "ALMA"
    header["OBJECT"] = "DEMO-DISK"
    header["ORIGIN"] = ("Neloura", "synthetic demo data, not a real observation")
    header["BTYPE"] = "Intensity"
    return fits.HDUList([fits.PrimaryHDU(data, header)])


def _write_atomically(path: Path, write: Callable[[Path], object]) -> bool:
    """Write through ``write(tmp_path)`` then link to ``path``; False when ``path`` exists."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        try:
            os.link(tmp, path)  # fails if the file appeared meanwhile: never overwrite
        except FileExistsError:
            return False
        except OSError:  # file systems without hard links
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        tmp.unlink(missing_ok=True)


PSF_NAME = "demo_jwst_f410m.fits"


def _hexagon(xx: np.ndarray, yy: np.ndarray, radius: float) -> np.ndarray:
    """Inside a pointy-top regular hexagon of circumradius ``radius`` centred at 0."""
    ax, ay = np.abs(xx), np.abs(yy)
    inside: np.ndarray = (ax <= radius * math.sqrt(3) / 2) & (ay + ax / math.sqrt(3) <= radius)
    return inside


def make_demo_psf(
    wavelength_um: float = 4.05, diameter_m: float = 6.5, pixel_scale_arcsec: float = 0.063 / 4, size: int = 257
) -> fits.PrimaryHDU:
    """A JWST-like PSF: |FFT(pupil)|^2 of a hexagonal pupil (central obstruction, three struts),
    sampled at ``pixel_scale_arcsec`` (PIXELSCL), normalised to a sum of 1."""
    lam_over_d = wavelength_um * 1e-6 / diameter_m * 206264.80624709636  # arcsec
    n = 1024
    pupil_px = n * pixel_scale_arcsec / lam_over_d  # the pupil diameter in FFT samples
    c = (np.arange(n) - n / 2) / (pupil_px / 2)  # pupil coordinates in units of the radius
    yy, xx = np.meshgrid(c, c, indexing="ij")
    pupil = _hexagon(xx, yy, 1.0) & ~_hexagon(xx, yy, 0.11)
    for angle in (90.0, 210.0, 330.0):  # three struts from the obstruction outwards
        t = math.radians(angle)
        along = xx * math.cos(t) + yy * math.sin(t)
        across = -xx * math.sin(t) + yy * math.cos(t)
        pupil &= ~((along > 0) & (np.abs(across) < 0.012))
    field = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(pupil.astype(np.float64))))
    psf = np.abs(field) ** 2
    half = size // 2
    psf = psf[n // 2 - half : n // 2 + half + 1, n // 2 - half : n // 2 + half + 1]
    psf = (psf / psf.sum()).astype(np.float32)
    hdu = fits.PrimaryHDU(psf)
    hdu.header["PIXELSCL"] = (pixel_scale_arcsec, "[arcsec/pix] PSF pixel scale")
    hdu.header["OVERSAMP"] = (round(0.063 / pixel_scale_arcsec, 3), "oversampling of the 0.063 arcsec demo pixels")
    hdu.header["WAVELEN"] = (wavelength_um * 1e-6, "[m] wavelength")
    hdu.header["DIAM"] = (diameter_m, "[m] pupil circumdiameter")
    hdu.header["TELESCOP"] = "JWST"
    hdu.header["FILTER"] = "F410M"
    hdu.header["ORIGIN"] = ("Neloura", "synthetic PSF: hexagonal pupil FFT, not a WebbPSF model")
    return hdu


def write_demo_psf(psf_dir: Path) -> list[Path]:
    """Write the demo PSF when ``psf_dir`` holds no FITS file; return the files written."""
    if has_fits_image(psf_dir):
        return []
    hdu = make_demo_psf()
    target = psf_dir / PSF_NAME
    return [target] if _write_atomically(target, lambda tmp: hdu.writeto(tmp)) else []


def write_demo(files_dir: Path, catalogs_dir: Path, *, field: GalaxyField | None = None) -> list[Path]:
    """Write the demo set when ``files_dir`` holds no FITS image; return the files written."""
    if has_fits_image(files_dir):
        return []
    written: list[Path] = []
    folder = files_dir / DEMO_FOLDER
    hdus, sources = make_galaxy_field(field)
    if _write_atomically(folder / "galaxy.fits", lambda tmp: hdus.writeto(tmp)):
        written.append(folder / "galaxy.fits")
    cube = make_demo_cube()
    if _write_atomically(folder / "cube.fits", lambda tmp: cube.writeto(tmp)):
        written.append(folder / "cube.fits")
    target = catalogs_dir / CATALOG_NAME
    if _write_atomically(target, lambda tmp: sources.write(tmp, format="ascii.csv")):
        written.append(target)
    return written
