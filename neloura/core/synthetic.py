"""Seeded synthetic images with realistic WCS, for the demo data, tests and benchmarks.

Everything here is deterministic for a given ``seed``. Pixel convention: 0-based pixel
indices, ``data[y, x]``; a star at ``(x_pix, y_pix)`` has its centre at that pixel's centre
when both are integers. Star profiles are circular Gaussians integrated over each pixel
(so the sum of a star's pixels equals its ``flux`` to well under 0.1 % for stamps of 5 sigma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.table import Table
from scipy.special import erf, gammaincinv

SPEED_OF_LIGHT_M_S = 299_792_458.0
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


def make_wcs_header(
    shape: tuple[int, int],
    ra_deg: float,
    dec_deg: float,
    pixel_scale_arcsec: float,
    *,
    rotation_deg: float = 0.0,
    radesys: str = "ICRS",
) -> fits.Header:
    """A celestial TAN header for an image of numpy ``shape`` (ny, nx) centred on (ra, dec).

    East is to the left (``CDELT1 < 0``) and north up for ``rotation_deg = 0``; the rotation
    turns north towards east (counter-clockwise on the displayed image).
    """
    ny, nx = int(shape[0]), int(shape[1])
    if pixel_scale_arcsec <= 0:
        raise ValueError("pixel_scale_arcsec must be positive")
    scale = pixel_scale_arcsec / 3600.0
    theta = math.radians(rotation_deg)
    header = fits.Header()
    header["WCSAXES"] = 2
    header["CTYPE1"] = "RA---TAN"
    header["CTYPE2"] = "DEC--TAN"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    header["CRPIX1"] = (nx + 1) / 2.0
    header["CRPIX2"] = (ny + 1) / 2.0
    header["CRVAL1"] = float(ra_deg) % 360.0
    header["CRVAL2"] = float(dec_deg)
    header["CDELT1"] = -scale
    header["CDELT2"] = scale
    header["PC1_1"] = math.cos(theta)
    header["PC1_2"] = -math.sin(theta)
    header["PC2_1"] = math.sin(theta)
    header["PC2_2"] = math.cos(theta)
    header["RADESYS"] = radesys
    if radesys.upper() in ("FK5", "FK4"):
        header["EQUINOX"] = 2000.0 if radesys.upper() == "FK5" else 1950.0
    return header


def _pixel_integrated_gaussian(lo: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    """Fraction of a 1-D unit Gaussian that falls in pixels [lo - 0.5, lo + 0.5)."""
    scale = 1.0 / (math.sqrt(2.0) * sigma)
    return 0.5 * (erf((lo + 0.5 - centre) * scale) - erf((lo - 0.5 - centre) * scale))


def add_gaussian_sources(
    image: np.ndarray, x_pix: np.ndarray, y_pix: np.ndarray, flux: np.ndarray, fwhm_px: float
) -> None:
    """Add pixel-integrated circular Gaussians of total ``flux`` at 0-based ``(x_pix, y_pix)``
    to ``image`` in place (stamps of +/- 5 sigma, clipped at the edges)."""
    sigma = fwhm_px * FWHM_TO_SIGMA
    half = max(2, math.ceil(5.0 * sigma))
    ny, nx = image.shape
    for x, y, f in zip(np.asarray(x_pix, float), np.asarray(y_pix, float), np.asarray(flux, float), strict=True):
        xc, yc = round(x), round(y)
        x0, x1 = max(0, xc - half), min(nx, xc + half + 1)
        y0, y1 = max(0, yc - half), min(ny, yc + half + 1)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = _pixel_integrated_gaussian(np.arange(x0, x1, dtype=float), x, sigma)
        gy = _pixel_integrated_gaussian(np.arange(y0, y1, dtype=float), y, sigma)
        image[y0:y1, x0:x1] += (f * np.outer(gy, gx)).astype(image.dtype, copy=False)


def make_star_field(
    shape: tuple[int, int],
    n_stars: int,
    fwhm_px: float,
    *,
    seed: int,
    flux_range: tuple[float, float] | None = None,
    snr_range: tuple[float, float] | None = None,
    sky: float = 0.0,
    noise_sigma: float = 1.0,
    edge_px: float = 0.0,
    dtype: type[np.floating] | np.dtype = np.float32,
) -> tuple[np.ndarray, Table]:
    """A field of Gaussian stars on a flat sky with Gaussian noise, and its truth table.

    Positions are uniform over the image (at least ``edge_px`` from the edges); fluxes are
    log-uniform over ``flux_range`` (total counts) or over ``snr_range``, where the S/N of a
    star of flux F is ``F / (noise_sigma * sqrt(4 pi sigma_psf^2))`` (the noise-equivalent
    area of a Gaussian PSF). Default: ``snr_range = (5, 500)``.

    Returns ``(image, truth)`` with ``truth`` columns ``id``, ``x_pix``, ``y_pix`` (0-based),
    ``flux``, ``peak`` (amplitude of the continuous profile, flux / (2 pi sigma^2)) and ``snr``.
    """
    if flux_range is not None and snr_range is not None:
        raise ValueError("give flux_range or snr_range, not both")
    if flux_range is None and noise_sigma <= 0:
        raise ValueError("without noise, give flux_range (an S/N needs a noise level)")
    rng = np.random.default_rng(seed)
    ny, nx = int(shape[0]), int(shape[1])
    sigma = fwhm_px * FWHM_TO_SIGMA
    nea = 4.0 * math.pi * sigma**2
    x = rng.uniform(edge_px, nx - 1 - edge_px, n_stars)
    y = rng.uniform(edge_px, ny - 1 - edge_px, n_stars)
    if flux_range is None:
        lo, hi = snr_range if snr_range is not None else (5.0, 500.0)
        snr = np.exp(rng.uniform(math.log(lo), math.log(hi), n_stars))
        flux = snr * noise_sigma * math.sqrt(nea)
    else:
        flux = np.exp(rng.uniform(math.log(flux_range[0]), math.log(flux_range[1]), n_stars))
        snr = flux / (noise_sigma * math.sqrt(nea)) if noise_sigma > 0 else np.full(n_stars, np.inf)
    image = np.full((ny, nx), sky, dtype=np.float64)
    add_gaussian_sources(image, x, y, flux, fwhm_px)
    if noise_sigma > 0:
        image += rng.normal(0.0, noise_sigma, image.shape)
    truth = Table(
        {
            "id": np.arange(1, n_stars + 1),
            "x_pix": x,
            "y_pix": y,
            "flux": flux,
            "peak": flux / (2.0 * math.pi * sigma**2),
            "snr": snr,
        }
    )
    return image.astype(dtype), truth


def sersic_profile(
    shape: tuple[int, int],
    x0_pix: float,
    y0_pix: float,
    amplitude: float,
    r_eff_px: float,
    n: float,
    *,
    ellipticity: float = 0.0,
    theta_deg: float = 0.0,
) -> np.ndarray:
    """A Sersic surface-brightness profile (galaxy bulge n~4, disk n~1) on a float32 grid.

    ``amplitude`` is the surface brightness at ``r_eff_px``; ``theta_deg`` turns the major
    axis counter-clockwise from +x; ``ellipticity = 1 - b/a``.
    """
    ny, nx = int(shape[0]), int(shape[1])
    b_n = float(gammaincinv(2.0 * n, 0.5))
    theta = math.radians(theta_deg)
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    q = max(1.0 - ellipticity, 1e-3)
    yy, xx = np.ogrid[0:ny, 0:nx]
    dx = (xx - x0_pix).astype(np.float32)
    dy = (yy - y0_pix).astype(np.float32)
    major = dx * cos_t + dy * sin_t
    minor = -dx * sin_t + dy * cos_t
    radius = np.sqrt(major**2 + (minor / q) ** 2) / r_eff_px
    return (amplitude * np.exp(-b_n * (radius ** (1.0 / n) - 1.0))).astype(np.float32)


@dataclass(frozen=True)
class CubeSpec:
    """A spectral line cube: RA, Dec, FREQ (and an optional degenerate STOKES axis)."""

    shape: tuple[int, int, int]  # (n_channels, ny, nx)
    ra_deg: float = 201.365
    dec_deg: float = -43.019
    pixel_scale_arcsec: float = 0.5
    rest_frequency_hz: float = 230.538e9  # CO J=2-1
    channel_width_hz: float = -3.90625e6  # about +5.08 km/s per channel
    systemic_velocity_m_s: float = 547_000.0
    rotation_velocity_m_s: float = 150_000.0  # flat part of the rotation curve
    stokes: bool = True


def make_cube(spec: CubeSpec, *, seed: int, noise_sigma: float = 0.002) -> tuple[np.ndarray, fits.Header]:
    """An ALMA-like line cube of a rotating disk, in Jy/beam, with its full FITS header.

    Axes (FITS order): RA---SIN, DEC--SIN, FREQ (LSRK, with RESTFRQ), and STOKES (length 1)
    when ``spec.stokes``. Returns numpy data (``[1,] n_chan, ny, nx``) and the header.
    """
    nchan, ny, nx = spec.shape
    rng = np.random.default_rng(seed)
    header = make_wcs_header((ny, nx), spec.ra_deg, spec.dec_deg, spec.pixel_scale_arcsec)
    header["WCSAXES"] = 4 if spec.stokes else 3
    header["CTYPE1"], header["CTYPE2"] = "RA---SIN", "DEC--SIN"
    centre_freq = spec.rest_frequency_hz * (1.0 - spec.systemic_velocity_m_s / SPEED_OF_LIGHT_M_S)
    header["CTYPE3"] = "FREQ"
    header["CUNIT3"] = "Hz"
    header["CRPIX3"] = (nchan + 1) / 2.0
    header["CRVAL3"] = centre_freq
    header["CDELT3"] = spec.channel_width_hz
    header["SPECSYS"] = "LSRK"
    header["RESTFRQ"] = spec.rest_frequency_hz
    if spec.stokes:
        header["CTYPE4"], header["CRPIX4"], header["CRVAL4"], header["CDELT4"], header["CUNIT4"] = (
            "STOKES",
            1.0,
            1.0,
            1.0,
            "",
        )
    header["BUNIT"] = "Jy/beam"
    beam_px = 2.5
    header["BMAJ"] = header["BMIN"] = beam_px * spec.pixel_scale_arcsec / 3600.0
    header["BPA"] = 0.0

    freq = centre_freq + (np.arange(nchan) + 1 - header["CRPIX3"]) * spec.channel_width_hz
    velocity = SPEED_OF_LIGHT_M_S * (1.0 - freq / spec.rest_frequency_hz) - spec.systemic_velocity_m_s
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    incl, pa = math.radians(60.0), math.radians(30.0)
    dx, dy = xx - (nx - 1) / 2.0, yy - (ny - 1) / 2.0
    major = dx * math.cos(pa) + dy * math.sin(pa)
    minor = (-dx * math.sin(pa) + dy * math.cos(pa)) / math.cos(incl)
    radius = np.hypot(major, minor) + 1e-3
    r_scale = min(nx, ny) / 6.0
    intensity = 0.08 * np.exp(-radius / r_scale)
    v_los = spec.rotation_velocity_m_s * np.tanh(radius / (0.3 * r_scale)) * (major / radius) * math.sin(incl)
    line_sigma = 15_000.0
    data = np.empty((nchan, ny, nx), dtype=np.float32)
    for k in range(nchan):
        data[k] = intensity * np.exp(-0.5 * ((velocity[k] - v_los) / line_sigma) ** 2)
    data += rng.normal(0.0, noise_sigma, data.shape).astype(np.float32)
    if spec.stokes:
        data = data[np.newaxis]
    return data, header


def make_cube_hdul(
    spec: CubeSpec,
    *,
    seed: int,
    per_plane_beams: bool = False,
    scaled_int16: bool = False,
    spectral_wcs: bool = True,
) -> fits.HDUList:
    """:func:`make_cube` as a FITS file, with the variants real archives hold.

    ``per_plane_beams``: no BMAJ/BMIN in the header but a CASA ``BEAMS`` table (one row per
    channel, beam growing 20 % across the band, CASAMBM = T). ``scaled_int16``: data stored as
    int16 with BSCALE/BZERO and BLANK (the first 3x3 pixels of every plane blank). ``spectral_wcs``
    False: the third axis has no CTYPE (planes are only pixel indices).
    """
    data, header = make_cube(spec, seed=seed)
    nchan = spec.shape[0]
    hdus: list[fits.PrimaryHDU | fits.BinTableHDU] = []
    if not spectral_wcs:
        for key in ("CTYPE3", "CUNIT3", "CRVAL3", "CDELT3", "CRPIX3", "SPECSYS", "RESTFRQ"):
            header.remove(key, ignore_missing=True)
    if scaled_int16:
        finite = data[np.isfinite(data)]
        zero = float(finite.mean())
        scale = float(np.abs(finite - zero).max()) / 32000.0
        raw = np.round((data - zero) / scale).astype(np.int16)
        raw[..., :3, :3] = -32768
        primary = fits.PrimaryHDU(raw, header=header)
        primary.header["BSCALE"], primary.header["BZERO"], primary.header["BLANK"] = scale, zero, -32768
    else:
        primary = fits.PrimaryHDU(data, header=header)
    hdus.append(primary)
    if per_plane_beams:
        major = header["BMAJ"] * 3600 * np.linspace(1.0, 1.2, nchan)
        for key in ("BMAJ", "BMIN", "BPA"):
            primary.header.remove(key, ignore_missing=True)
        primary.header["CASAMBM"] = True
        table = Table(
            {
                "BMAJ": major.astype(np.float32),
                "BMIN": (0.8 * major).astype(np.float32),
                "BPA": np.linspace(10.0, 20.0, nchan).astype(np.float32),
                "CHAN": np.arange(nchan, dtype=np.int32),
                "POL": np.zeros(nchan, dtype=np.int32),
            }
        )
        table["BMAJ"].unit = table["BMIN"].unit = "arcsec"
        table["BPA"].unit = "deg"
        beams = fits.BinTableHDU(table, name="BEAMS")
        beams.header["NCHAN"], beams.header["NPOL"] = nchan, 1
        hdus.append(beams)
    return fits.HDUList(hdus)
