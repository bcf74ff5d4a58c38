"""Point-spread functions rendered on the image pixel grid: a Gaussian of given FWHM or a
sampled PSF (e.g. a FITS file from psf/) resampled to the image pixel scale with flux conserved.

A PSF is normalised to unit total flux. :meth:`PsfModel.render` returns pixel-integrated stamps
centred at sub-pixel positions, so ``flux * stamp`` adds exactly ``flux`` (less what falls
outside the stamp). Pixel convention: 0-based ``x, y``, pixel centres at integers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import ndimage, special

from neloura.core.photometry import exact_circle_weights
from neloura.errors import InvalidParameter, NotAFitsImage

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class PsfModel:
    """A PSF on the image grid. ``array`` (sampled PSFs only) is already integrated over one
    image pixel and normalised to a sum of 1 in its own pixels; ``ratio`` is PSF pixels per
    image pixel."""

    fwhm_px: float
    half_px: int
    array: np.ndarray | None = None
    ratio: float = 1.0

    @classmethod
    def gaussian(cls, fwhm_px: float) -> PsfModel:
        if not 0.3 <= fwhm_px <= 200:
            raise InvalidParameter("fwhm_px must be between 0.3 and 200 pixels")
        return cls(fwhm_px=float(fwhm_px), half_px=int(np.ceil(2.5 * fwhm_px)) + 1)

    @classmethod
    def from_array(cls, psf: np.ndarray, psf_scale_arcsec: float, image_scale_arcsec: float) -> PsfModel:
        """A sampled PSF of pixel scale ``psf_scale_arcsec`` for an image of ``image_scale_arcsec``."""
        psf = np.asarray(psf, dtype=np.float64)
        if psf.ndim != 2 or min(psf.shape) < 3 or not np.isfinite(psf).all():
            raise InvalidParameter("a PSF must be a finite 2-D array of at least 3 x 3 pixels")
        if psf_scale_arcsec <= 0 or image_scale_arcsec <= 0:
            raise InvalidParameter("pixel scales must be positive")
        total = psf.sum()
        if total <= 0:
            raise InvalidParameter("the PSF has no positive flux")
        ratio = image_scale_arcsec / psf_scale_arcsec
        # integrate over one image pixel (a box of `ratio` PSF pixels) before point sampling
        smooth = _pixel_box(psf, ratio) if ratio > 1.0 else psf
        smooth = smooth / smooth.sum()
        half = int(np.ceil(max(psf.shape) / 2 / ratio))
        model = cls(fwhm_px=1.0, half_px=max(2, min(half, 40)), array=smooth, ratio=ratio)
        return cls(fwhm_px=model.measure_fwhm(), half_px=model.half_px, array=smooth, ratio=ratio)

    def render(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit-flux stamps (N, S, S) at 0-based positions and the pixel indices (iy, ix) of each."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        y = np.atleast_1d(np.asarray(y, dtype=np.float64))
        off = np.arange(-self.half_px, self.half_px + 1)
        cx, cy = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)
        ix = cx[:, None] + off[None, :]
        iy = cy[:, None] + off[None, :]
        if self.array is None:
            sigma = self.fwhm_px / FWHM_PER_SIGMA
            scale = 1.0 / (np.sqrt(2.0) * sigma)

            def frac(edges: np.ndarray) -> np.ndarray:
                return 0.5 * np.diff(special.erf(edges * scale), axis=-1)

            ex = np.concatenate([ix - 0.5, ix[:, -1:] + 0.5], axis=1) - x[:, None]
            ey = np.concatenate([iy - 0.5, iy[:, -1:] + 0.5], axis=1) - y[:, None]
            stamps = frac(ey)[:, :, None] * frac(ex)[:, None, :]
        else:
            centre_y = (self.array.shape[0] - 1) / 2.0
            centre_x = (self.array.shape[1] - 1) / 2.0
            py = centre_y + (iy - y[:, None]) * self.ratio
            px = centre_x + (ix - x[:, None]) * self.ratio
            size = len(off)
            gy = np.broadcast_to(py[:, :, None], (len(x), size, size))
            gx = np.broadcast_to(px[:, None, :], (len(x), size, size))
            coords = np.vstack([gy.ravel(), gx.ravel()])
            values = ndimage.map_coordinates(self.array, coords, order=3, mode="constant", cval=0.0)
            stamps = values.reshape(len(x), size, size) * self.ratio**2
        grid_y = np.broadcast_to(iy[:, :, None], stamps.shape)
        grid_x = np.broadcast_to(ix[:, None, :], stamps.shape)
        return stamps, grid_y, grid_x

    def measure_fwhm(self) -> float:
        """FWHM in image pixels from the area above half maximum of a centred stamp."""
        stamp = self.render(np.array([0.0]), np.array([0.0]))[0][0]
        area = float((stamp >= 0.5 * stamp.max()).sum())
        return max(0.5, 2.0 * np.sqrt(area / np.pi))

    def encircled_fraction(self, radius_px: float) -> float:
        """Fraction of the total flux inside a circular aperture, measured on the rendered
        (pixel-integrated) stamp with the exact pixel overlaps the photometry uses."""
        origin = np.array([0.0])
        stamp = self.render(origin, origin)[0]
        weight = exact_circle_weights(origin, origin, radius_px, stamp.shape[-1] // 2)[0]
        return float(min(1.0, max(1e-6, (stamp[0] * weight).sum())))


def _pixel_box(psf: np.ndarray, width: float) -> np.ndarray:
    """Convolve with a centred box ``width`` PSF pixels wide (fractional end taps, so an even or
    non-integer width does not shift the PSF)."""
    half = width / 2.0
    k = int(np.ceil(half - 0.5))
    offsets = np.arange(-k, k + 1)
    taps = np.clip(np.minimum(offsets + 0.5, half) - np.maximum(offsets - 0.5, -half), 0.0, None)
    taps /= taps.sum()
    out = ndimage.convolve1d(psf, taps, axis=0, mode="constant")
    result: np.ndarray = ndimage.convolve1d(out, taps, axis=1, mode="constant")
    return result


def inject(image: np.ndarray, psf: PsfModel, x: np.ndarray, y: np.ndarray, flux: np.ndarray) -> None:
    """Add sources of total ``flux`` (image units x pixels) at 0-based ``x, y``, in place.

    Stamps falling partly outside the image are clipped; NaN pixels stay NaN.
    """
    if len(x) == 0:
        return
    stamps, iy, ix = psf.render(x, y)
    stamps = stamps * np.asarray(flux, dtype=np.float64)[:, None, None]
    inside = (iy >= 0) & (iy < image.shape[0]) & (ix >= 0) & (ix < image.shape[1])
    np.add.at(image, (iy[inside], ix[inside]), stamps[inside].astype(image.dtype))


def load_psf_fits(path: Path, image_scale_arcsec: float, psf_scale_arcsec: float | None = None) -> PsfModel:
    """Read a PSF from the first image HDU of ``path`` (pixel scale from PIXELSCL, CDELT or CD)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path) as hdul:
                hdu = next((h for h in hdul if getattr(h, "is_image", False) and h.data is not None), None)
                if hdu is None:
                    raise NotAFitsImage(f"{path.name} holds no PSF image")
                data = np.asarray(hdu.data, dtype=np.float64)
                header = hdu.header
    except (OSError, ValueError) as exc:
        raise NotAFitsImage(f"{path.name} is not a readable FITS PSF: {exc}") from exc
    while data.ndim > 2:
        data = data[0]
    if psf_scale_arcsec is None:
        psf_scale_arcsec = _header_scale(header)
    if psf_scale_arcsec is None:
        raise InvalidParameter(f"{path.name} states no pixel scale (PIXELSCL, CDELT1 or CD1_1); give it explicitly")
    return PsfModel.from_array(data, psf_scale_arcsec, image_scale_arcsec)


def _header_scale(header: fits.Header) -> float | None:
    if "PIXELSCL" in header:
        return float(header["PIXELSCL"])
    for key in ("CDELT1", "CD1_1"):
        if key in header and float(header[key]) != 0:
            return abs(float(header[key])) * 3600.0
    return None
