"""One star field seen by three instruments: pixel scales 0.03", 0.06", 0.11"; rotations 0, 37 and
180 degrees; the 37-degree one with flipped parity (east to the right). Stars are placed on the
sky and drawn into each image through its own WCS, so every image has a correct WCS."""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from neloura.core.synthetic import add_gaussian_sources, make_wcs_header

RA, DEC = 150.1, 2.2
FWHM_ARCSEC = 0.45
FIELD_ARCSEC = 13.8
# (pixel scale ", rotation deg, flipped parity)
INSTRUMENTS = ((0.03, 0.0, False), (0.06, 37.0, True), (0.11, 180.0, False))


def field_header(scale: float, rotation: float, flipped: bool) -> fits.Header:
    n = round(FIELD_ARCSEC / scale)
    header = make_wcs_header((n, n), RA, DEC, scale, rotation_deg=rotation)
    if flipped:  # east to the right: the first pixel axis runs the other way
        header["CDELT1"] = -header["CDELT1"]
    header["NAXIS"], header["NAXIS1"], header["NAXIS2"] = 2, n, n
    return header


def star_sky(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """ICRS positions of a 5x5 grid of stars 2" apart with 0.3" jitter, inside the common field."""
    rng = np.random.default_rng(seed)
    ref = WCS(field_header(*INSTRUMENTS[0]))
    offsets = (np.arange(5) - 2) * 2.0
    dx, dy = np.meshgrid(offsets, offsets)
    dx = dx.ravel() + rng.uniform(-0.3, 0.3, dx.size)
    dy = dy.ravel() + rng.uniform(-0.3, 0.3, dy.size)
    cx = cy = (round(FIELD_ARCSEC / 0.03) - 1) / 2
    sky = ref.pixel_to_world(cx - dx / 0.03, cy + dy / 0.03)
    return np.asarray(sky.ra.deg), np.asarray(sky.dec.deg)


def render(header: fits.Header, ra: np.ndarray, dec: np.ndarray, *, seed: int = 1) -> np.ndarray:
    """Gaussian stars of one sky FWHM at the given positions, on a faint noise floor."""
    wcs = WCS(header)
    scale = abs(float(header["CDELT2"])) * 3600
    x, y = wcs.world_to_pixel_values(ra, dec)
    n = int(header["NAXIS1"])
    image = np.zeros((n, n), dtype=np.float64)
    flux = np.linspace(2000, 6000, len(ra))
    add_gaussian_sources(image, x, y, flux, FWHM_ARCSEC / scale)
    image += np.random.default_rng(seed).normal(0, 1e-3, image.shape)
    return image.astype(np.float32)


def write_fields(folder: object, names: tuple[str, ...] = ("a.fits", "b.fits", "c.fits")) -> list[str]:
    """The three images as FITS files (with TELESCOP/INSTRUME/FILTER); returns their names."""
    from pathlib import Path

    ra, dec = star_sky()
    filters = (("HST", "WFC3", "F438W"), ("HST", "WFC3", "F814W"), ("JWST", "NIRCAM", "F444W"))
    for name, inst, (tel, ins, filt) in zip(names, INSTRUMENTS, filters, strict=True):
        header = field_header(*inst)
        header["TELESCOP"], header["INSTRUME"], header["FILTER"], header["BUNIT"] = tel, ins, filt, "MJy/sr"
        fits.PrimaryHDU(render(header, ra, dec), header).writeto(Path(str(folder)) / name, overwrite=True)
    return list(names)
