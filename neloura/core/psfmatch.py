"""PSF matching: kernels that turn one image's PSF into a broader target PSF, on the image grid.

A kernel comes either from two PSFs (photutils ``make_kernel``, the successor of
``create_matching_kernel`` in photutils 3, with a top-hat window in Fourier space) rendered on the
image's own pixel grid by :class:`neloura.core.psf.PsfModel` (flux-conserving resampling of PSF
files), or from a kernel file (kernels/, e.g. Aniano et al. 2011) at its stated pixel scale,
resampled to the image scale with flux conserved. A kernel file without a pixel scale is refused.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.convolution import convolve_fft

from neloura.core.psf import PsfModel
from neloura.errors import InvalidParameter

SCALE_TOLERANCE = 0.01  # relative difference of pixel scales treated as equal


def stamp(psf: PsfModel, half_px: int) -> np.ndarray:
    """The PSF centred on the central pixel of a (2 half + 1)^2 stamp, normalised to sum 1."""
    model = PsfModel(psf.fwhm_px, half_px, psf.array, psf.ratio)
    image = model.render(np.array([0.0]), np.array([0.0]))[0][0]
    total = image.sum()
    if not total > 0:
        raise InvalidParameter("the PSF has no positive flux on this image grid")
    out: np.ndarray = image / total
    return out


def matching_kernel(source: PsfModel, target: PsfModel) -> np.ndarray:
    """Kernel K with source * K = target, both on the same image grid (odd square, sum 1)."""
    if target.fwhm_px < source.fwhm_px * (1 - SCALE_TOLERANCE):
        raise InvalidParameter(
            f"the target PSF ({target.fwhm_px:.2f} px FWHM) is sharper than this image's "
            f"({source.fwhm_px:.2f} px): PSF matching only broadens"
        )
    half = int(max(source.half_px, target.half_px, np.ceil(3 * target.fwhm_px)))
    src, tgt = stamp(source, half), stamp(target, half)
    if abs(target.fwhm_px - source.fwhm_px) <= SCALE_TOLERANCE * source.fwhm_px:
        delta = np.zeros_like(src)
        delta[half, half] = 1.0
        return delta
    from photutils.psf_matching import TopHatWindow, make_kernel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kernel = make_kernel(src, tgt, window=TopHatWindow(0.35))
    out: np.ndarray = kernel / kernel.sum()
    return out


def resample_kernel(kernel: np.ndarray, kernel_scale_arcsec: float | None, image_scale_arcsec: float) -> np.ndarray:
    """A kernel file's array on the image grid: used as is when the scales agree within 1 %,
    resampled with flux conserved otherwise; refused when the file states no pixel scale."""
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or min(kernel.shape) < 3 or not np.isfinite(kernel).all() or not kernel.sum() > 0:
        raise InvalidParameter("a kernel must be a finite 2-D array of at least 3 x 3 pixels with a positive sum")
    if kernel_scale_arcsec is None:
        raise InvalidParameter(
            "the kernel file states no pixel scale (PIXSCALE, PIXELSCL, CDELT1 or CD1_1): "
            "it cannot be matched to the image's pixels"
        )
    if abs(kernel_scale_arcsec / image_scale_arcsec - 1) <= SCALE_TOLERANCE:
        return kernel / kernel.sum()
    model = PsfModel.from_array(kernel, kernel_scale_arcsec, image_scale_arcsec)
    return stamp(model, model.half_px)


def convolve(data: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``data`` convolved with a unit-sum kernel; NaN pixels are left out and stay NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = convolve_fft(
            data.astype(np.float64),
            kernel,
            normalize_kernel=False,
            nan_treatment="fill",
            fill_value=0.0,
            preserve_nan=True,
            boundary="fill",
        )
    return np.asarray(out)


def convolve_variance(variance: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Per-pixel variance after convolution with ``kernel`` (uncorrelated input noise)."""
    return convolve(variance, kernel**2)
