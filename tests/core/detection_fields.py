"""Seeded synthetic fields with known truth for the detection, photometry and completeness tests."""

from __future__ import annotations

import numpy as np
from astropy.table import Table
from scipy.spatial import cKDTree

from neloura.core.psf import PsfModel, inject
from neloura.core.synthetic import add_gaussian_sources

FWHM = 3.0
SIGMA = FWHM / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def moffat_psf(fwhm_arcsec: float, scale_arcsec: float, size: int = 101, beta: float = 3.5) -> np.ndarray:
    """An oversampled Moffat PSF array (unit sum) standing in for a PSF file."""
    alpha = fwhm_arcsec / scale_arcsec / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    yy, xx = np.mgrid[0:size, 0:size] - (size - 1) / 2.0
    psf = (1.0 + (xx**2 + yy**2) / alpha**2) ** (-beta)
    return psf / psf.sum()


def star_field(
    shape: tuple[int, int] = (512, 512),
    n: int = 260,
    *,
    seed: int = 7,
    psf: PsfModel | None = None,
    n_blends: int = 15,
    holes: bool = True,
    noise: float = 1.0,
) -> tuple[np.ndarray, Table]:
    """Stars (peak S/N 3-300, log-uniform) over a sky gradient with NaN holes and blended pairs.

    ``truth['snr']`` is the peak amplitude over the noise sigma; ``clean`` marks stars whose
    9 x 9 surroundings are free of NaN holes; ``blend`` the members of blended pairs. With ``psf`` the stars are drawn
    from that (resampled PSF-file) model, otherwise pixel-integrated Gaussians of FWHM 3 px.
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    x = rng.uniform(12, nx - 13, n)
    y = rng.uniform(12, ny - 13, n)
    keep = np.ones(n, dtype=bool)  # well separated singles: blends are added on purpose below
    for i, j in cKDTree(np.column_stack([x, y])).query_pairs(4 * FWHM):
        keep[j] = False
    x, y = x[keep], y[keep]
    angle = rng.uniform(0, 2 * np.pi, n_blends)
    bx = x[:n_blends] + 2.5 * FWHM * np.cos(angle)
    by = y[:n_blends] + 2.5 * FWHM * np.sin(angle)
    x, y = np.concatenate([x, bx]), np.concatenate([y, by])
    snr = np.exp(rng.uniform(np.log(3), np.log(300), len(x)))
    if n_blends:  # companions at most 3x fainter
        snr[-n_blends:] = np.maximum(snr[-n_blends:], snr[:n_blends] / 3)
    model = psf or PsfModel.gaussian(FWHM)
    peak_per_flux = model.render(np.array([0.0]), np.array([0.0]))[0].max() if psf else 1 / (2 * np.pi * SIGMA**2)
    flux = snr * noise / peak_per_flux
    yy, xx = np.mgrid[0:ny, 0:nx]
    image = (100.0 + 0.02 * xx + 0.01 * yy + rng.normal(0, noise, shape)).astype(np.float64)
    if psf is None:
        add_gaussian_sources(image, x, y, flux, FWHM)
    else:
        inject(image, psf, x, y, flux)
    truth = Table({"x_pix": x, "y_pix": y, "flux": flux, "snr": snr})
    truth["blend"] = np.zeros(len(x), dtype=bool)
    if n_blends:
        truth["blend"][:n_blends] = truth["blend"][-n_blends:] = True
    if holes:
        image[40:90, 300:360] = np.nan
        image[400:430, 30:200] = np.nan
    truth["clean"] = np.isfinite(_max_filter_nan(image, x, y))  # aperture and annulus clear of holes
    return image.astype(np.float32), truth


def _max_filter_nan(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sum over a 9 x 9 box: NaN when a source's aperture/annulus touches a hole."""
    off = np.arange(-4, 5)
    iy = np.clip(np.rint(y).astype(int)[:, None, None] + off[None, :, None], 0, image.shape[0] - 1)
    ix = np.clip(np.rint(x).astype(int)[:, None, None] + off[None, None, :], 0, image.shape[1] - 1)
    return image[iy, ix].sum(axis=(1, 2))


def match(truth: Table, found: Table, radius: float = 1.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(matched mask over truth, index into found, distance) of the nearest detection."""
    if len(found) == 0:
        return np.zeros(len(truth), bool), np.zeros(len(truth), int), np.full(len(truth), np.inf)
    tree = cKDTree(np.column_stack([found["x_pix"], found["y_pix"]]))
    dist, idx = tree.query(np.column_stack([truth["x_pix"], truth["y_pix"]]), distance_upper_bound=radius)
    hit = np.isfinite(dist)
    return hit, np.where(hit, idx, 0), dist
