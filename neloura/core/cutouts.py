"""Cutouts at a sky position: :class:`astropy.nddata.Cutout2D` with the image's full WCS, an
optional north-up reprojection to a common pixel scale (``reproject``), FITS and PNG output.

Only a window around the position is read (the caller passes a ``read(y0, y1, x0, x1)`` of
physical values); its WCS is the image's own, sliced (``WCS.slice`` shifts CRPIX and the SIP
reference), so distortions stay exact. Pixel convention: 0-based ``x`` (FITS axis 1), ``y``.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales

from neloura.core.colormaps import palette
from neloura.core.encode import encode_png
from neloura.core.limits import percentile_limits
from neloura.core.stretch import apply, lookup_table
from neloura.errors import InvalidParameter

Reader = Callable[[int, int, int, int], np.ndarray]
MAX_CUTOUT_PX = 4096
# cards copied from the source header into a cutout's (units, calibration, provenance)
KEEP_CARDS = (
    *("BUNIT", "TELESCOP", "INSTRUME", "DETECTOR", "FILTER", "FILTER1", "FILTER2", "PUPIL", "OBJECT"),
    *("PHOTFNU", "PHOTFLAM", "PHOTPLAM", "PHOTMJSR", "PHOTUJA2", "EXPTIME", "MAGZP", "MAGZPT", "MAGZERO"),
    *("ZP_AB", "ABMAGZP", "ZPAB", "BMAJ", "BMIN", "BPA", "DATE-OBS", "MJD-OBS"),
)


@dataclass(frozen=True)
class Cutout:
    """A cutout: ``data`` (physical values, NaN off the image), its 2-D celestial ``wcs``, the
    target position in its 0-based pixels and the ``origin`` (x, y) of its pixel (0, 0) in the
    source image (None after reprojection)."""

    data: np.ndarray
    wcs: WCS
    x_pix: float
    y_pix: float
    origin: tuple[int, int] | None
    scale_arcsec: float


def celestial_wcs(wcs: WCS) -> WCS:
    """The 2-D celestial part of a (possibly cube) WCS; a 2-D WCS is returned as is (SIP kept)."""
    return wcs if wcs.naxis == 2 else wcs.celestial


def pixel_scale_arcsec(wcs: WCS) -> float:
    scales = proj_plane_pixel_scales(celestial_wcs(wcs))
    return float(math.sqrt(abs(scales[0] * scales[1])) * 3600.0)


def _sky(ra_deg: float, dec_deg: float) -> SkyCoord:
    if not (math.isfinite(ra_deg) and math.isfinite(dec_deg)) or abs(dec_deg) > 90:
        raise InvalidParameter("ra_deg and dec_deg must be finite, dec within -90..90")
    return SkyCoord(ra_deg * u.deg, dec_deg * u.deg, frame="icrs")


def cutout(
    read: Reader,
    shape: tuple[int, int],
    wcs: WCS,
    ra_deg: float,
    dec_deg: float,
    size_arcsec: float,
    *,
    pad_px: int = 0,
) -> Cutout:
    """A ``size_arcsec`` square cutout centred on the ICRS position (``Cutout2D``, mode partial:
    pixels off the image are NaN). ``pad_px`` widens the window read (for convolution)."""
    sky = _sky(ra_deg, dec_deg)
    wcs2 = celestial_wcs(wcs)
    scale = pixel_scale_arcsec(wcs2)
    size_px = size_arcsec / scale
    if not 1 <= size_px <= MAX_CUTOUT_PX:
        raise InvalidParameter(
            f'a cutout must be 1..{MAX_CUTOUT_PX} pixels wide ({size_px:.0f} asked at {scale:.4g}"/px)'
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        x, y = (float(v) for v in wcs2.world_to_pixel(sky))
    if not (math.isfinite(x) and math.isfinite(y)):
        raise InvalidParameter("the position does not project onto this image")
    half = math.ceil(size_px / 2) + pad_px + 2
    height, width = shape
    x0, x1 = max(0, math.floor(x) - half), min(width, math.floor(x) + half + 2)
    y0, y1 = max(0, math.floor(y) - half), min(height, math.floor(y) + half + 2)
    if x0 >= x1 or y0 >= y1:
        raise InvalidParameter("the position lies outside this image")
    window = read(y0, y1, x0, x1)
    window_wcs = wcs2.slice((slice(y0, y1), slice(x0, x1)))
    side = round(size_px) + 2 * pad_px
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        cut = Cutout2D(window, (x - x0, y - y0), (side, side), wcs=window_wcs, mode="partial", fill_value=np.nan)
    ox, oy = cut.origin_original
    cx, cy = cut.to_cutout_position((x - x0, y - y0))
    return Cutout(np.asarray(cut.data, dtype=np.float32), cut.wcs, float(cx), float(cy), (x0 + ox, y0 + oy), scale)


def north_up(
    piece: Cutout, ra_deg: float, dec_deg: float, size_arcsec: float, scale_arcsec: float, *, per_pixel: bool
) -> Cutout:
    """Reproject a cutout onto a north-up, east-left TAN grid of ``scale_arcsec`` centred on the
    position (``reproject_interp``). ``per_pixel`` values (Jy/pixel, counts) are scaled by the
    pixel-area ratio so that sums stay sums; surface brightness is left as is."""
    from reproject import reproject_interp  # imported here: reproject loads slowly

    if not 0 < scale_arcsec <= 3600:
        raise InvalidParameter("scale_arcsec must be in (0, 3600]")
    side = round(size_arcsec / scale_arcsec)
    if not 1 <= side <= MAX_CUTOUT_PX:
        raise InvalidParameter(f"a north-up cutout must be 1..{MAX_CUTOUT_PX} pixels wide ({side} asked)")
    target = WCS(naxis=2)
    target.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    target.wcs.crval = [ra_deg % 360.0, dec_deg]
    target.wcs.crpix = [(side + 1) / 2.0, (side + 1) / 2.0]
    target.wcs.cdelt = [-scale_arcsec / 3600.0, scale_arcsec / 3600.0]
    target.wcs.radesys = "ICRS"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data, coverage = reproject_interp((piece.data, piece.wcs), target, shape_out=(side, side))
    data = np.where(coverage > 0, data, np.nan).astype(np.float32)
    if per_pixel:
        data *= np.float32((scale_arcsec / piece.scale_arcsec) ** 2)
    centre = (side - 1) / 2.0
    return Cutout(data, target, centre, centre, None, scale_arcsec)


def cutout_header(piece: Cutout, meta: Mapping[str, Any], provenance: Mapping[str, Any]) -> fits.Header:
    """The cutout's FITS header: its WCS, the source's units/calibration cards, provenance."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        header = piece.wcs.to_header(relax=True)
    for key in KEEP_CARDS:
        if key in meta and isinstance(meta[key], (str, int, float, bool)):
            header[key] = meta[key]
    for key, value in provenance.items():
        header[key[:8].upper()] = value
    return header


def to_fits(piece: Cutout, header: fits.Header) -> bytes:
    buffer = io.BytesIO()
    fits.PrimaryHDU(piece.data, header=header).writeto(buffer)
    return buffer.getvalue()


def render_png(
    data: np.ndarray,
    *,
    stretch: str = "asinh",
    exponent: float | None = None,
    cmap: str = "gray",
    invert: bool = False,
    limits: tuple[float, float] | None = None,
) -> bytes:
    """PNG of a cutout with the viewer's stretch table and palette (row 0 at the bottom);
    limits default to the 0.5/99.5 percentiles of the cutout."""
    finite = data[np.isfinite(data)]
    if limits is None:
        limits = percentile_limits(finite, 0.5, 99.5) if finite.size else (0.0, 1.0)
    lut = lookup_table(stretch, exponent, sample=finite, limits=limits)
    index = apply(data, limits[0], limits[1], lut)
    return encode_png(np.ascontiguousarray(index[::-1]), palette(cmap, invert, "#00000000"))
