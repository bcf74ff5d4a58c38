"""Aperture photometry with a local background annulus, at any list of positions.

One code path serves detection, a clicked point, a list of positions and a catalog. All sources
are measured at once on small stamps (no Python loop over sources).

Pixel convention: positions are 0-based ``(x_pix, y_pix)`` in ``data[y, x]``; the centre of the
first pixel is (0, 0). A pixel counts by the exact area of its overlap with the circular aperture
(photutils' ``circular_overlap_grid``, the geometry behind ``aperture_photometry(method="exact")``),
so aperture sums equal photutils' to rounding.

Units: a surface brightness BUNIT (``MJy/sr``, ``Jy/sr``...) is integrated over the pixel solid
angle and reported in µJy; a flux-per-pixel unit (``Jy``, ``Jy/pix``) is summed and reported in
µJy; anything else (counts, DN/s, unknown) is summed and keeps its unit, stated in the table.
"""

from __future__ import annotations

import warnings
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from typing import Any, cast

import astropy.units as u
import numpy as np
from astropy.table import Table
from photutils.geometry import circular_overlap_grid

from neloura.core.background import clip_correction, clipped_stats
from neloura.core.fluxunits import conversion
from neloura.errors import InvalidParameter

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
_CHUNK = 4096


def flux_unit(bunit: str, pixel_area_sr: float | None, header: Mapping[str, Any] | None = None) -> tuple[float, str]:
    """Factor turning a sum of pixel values into the reported flux, and that flux's unit.

    The one conversion path of the package, :func:`neloura.core.fluxunits.conversion` (photometry,
    region statistics, segments, completeness, SED): ``MJy/sr`` with a pixel solid angle gives µJy
    (1 MJy/sr x 1 sr = 1e12 µJy), ``Jy``/``Jy/pix`` µJy; with ``header`` also ``Jy/beam`` (BMAJ,
    BMIN) and count rates calibrated by PHOTFNU, PHOTFLAM/PHOTPLAM, PHOTMJSR or an AB zero point.
    Anything else keeps its unit (factor 1): BUNIT's text, ``count`` when BUNIT is empty.
    """
    text = (bunit or "").strip()
    cards: Mapping[str, Any] = {"BUNIT": text}
    if header is not None:  # BUNIT as given (the image's own reading), the rest from the header
        cards = ChainMap({"BUNIT": text}, cast(MutableMapping[str, Any], header))
    found = conversion(cards, pixel_area_sr)
    if found.calibrated:
        return found.factor, found.unit
    return 1.0, text or "count"


def gaussian_aperture_correction(radius_px: float, fwhm_px: float) -> float:
    """Total flux / flux inside ``radius_px`` for a circular Gaussian of ``fwhm_px``."""
    sigma = fwhm_px / FWHM_PER_SIGMA
    return float(1.0 / (1.0 - np.exp(-0.5 * (radius_px / sigma) ** 2)))


def _stamps(data: np.ndarray, x: np.ndarray, y: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, S, S) pixel stamps around rounded positions plus per-pixel offsets dx, dy from (x, y)."""
    height, width = data.shape
    cx = np.rint(x).astype(np.int64)
    cy = np.rint(y).astype(np.int64)
    off = np.arange(-half, half + 1)
    iy = cy[:, None, None] + off[None, :, None]
    ix = cx[:, None, None] + off[None, None, :]
    inside = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
    values = data[np.clip(iy, 0, height - 1), np.clip(ix, 0, width - 1)].astype(np.float64)
    values[~inside] = np.nan
    dx = ix - x[:, None, None]
    dy = iy - y[:, None, None]
    return values, dx, dy


def exact_circle_weights(x: np.ndarray, y: np.ndarray, radius_px: float, half: int) -> np.ndarray:
    """(N, S, S) exact overlap fractions of a circle of ``radius_px`` at each 0-based (x, y) with the
    pixels of the stamp of half-size ``half`` centred on the rounded position (see :func:`_stamps`).

    Only the (2 ceil(r) + 3)-pixel square around the centre is computed; the rest is zero.
    """
    size = 2 * half + 1
    weights = np.zeros((len(x), size, size))
    inner = min(half, int(np.ceil(radius_px)) + 1)
    n = 2 * inner + 1
    lo = half - inner
    fx = x - np.rint(x)
    fy = y - np.rint(y)
    r = float(radius_px)
    for k in range(len(x)):
        weights[k, lo : lo + n, lo : lo + n] = circular_overlap_grid(
            -inner - 0.5 - fx[k], inner + 0.5 - fx[k], -inner - 0.5 - fy[k], inner + 0.5 - fy[k], n, n, r, 1, 1
        )
    return weights


def _clipped_sky(values: np.ndarray, nsigma: float = 3.0, iters: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sigma-clipped median, std and count along axis 1 (NaN ignored)."""
    med, std, count = clipped_stats(values.astype(np.float32), nsigma, iters)
    return med, std * clip_correction(nsigma), count


def _shape(sub: np.ndarray, w: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, ...]:
    """FWHM, ellipticity and position angle from second moments of positive flux in the aperture."""
    weight = np.where(np.isfinite(sub), np.clip(sub, 0.0, None), 0.0) * w
    total = weight.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (weight * dx).sum(axis=(1, 2)) / total
        my = (weight * dy).sum(axis=(1, 2)) / total
        ddx = dx - mx[:, None, None]
        ddy = dy - my[:, None, None]
        ixx = (weight * ddx**2).sum(axis=(1, 2)) / total
        iyy = (weight * ddy**2).sum(axis=(1, 2)) / total
        ixy = (weight * ddx * ddy).sum(axis=(1, 2)) / total
        root = np.sqrt(((ixx - iyy) / 2) ** 2 + ixy**2)
        a2 = (ixx + iyy) / 2 + root
        b2 = np.clip((ixx + iyy) / 2 - root, 0.0, None)
        fwhm = FWHM_PER_SIGMA * np.sqrt((a2 + b2) / 2)
        ellipticity = 1.0 - np.sqrt(b2 / a2)
        theta = np.degrees(0.5 * np.arctan2(2 * ixy, ixx - iyy))
    return fwhm, ellipticity, theta


def _measure_chunk(
    data: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    radius_px: float,
    annulus_px: tuple[float, float],
    background_rms: np.ndarray | None,
) -> dict[str, np.ndarray]:
    half = int(np.ceil(max(annulus_px[1], radius_px))) + 1
    values, dx, dy = _stamps(data, x, y, half)
    dist = np.hypot(dx, dy)
    valid = np.isfinite(values)
    ap_w = exact_circle_weights(x, y, radius_px, half)
    in_ann = (dist >= annulus_px[0]) & (dist <= annulus_px[1]) & valid
    ann_vals = np.where(in_ann, values, np.nan).reshape(len(x), -1)
    sky, sky_std, n_sky = _clipped_sky(ann_vals)
    sky = np.where(np.isfinite(sky), sky, 0.0)
    sub = values - sky[:, None, None]
    w = np.where(valid, ap_w, 0.0)
    area = w.sum(axis=(1, 2))
    flux = np.nansum(sub * w, axis=(1, 2))
    noise = background_rms if background_rms is not None else sky_std
    noise = np.where(np.isfinite(noise), noise, np.nan)
    var = (w**2).sum(axis=(1, 2)) * noise**2 + area**2 * noise**2 * np.pi / (2 * np.maximum(n_sky, 1))
    near = (dist <= 1.5) & valid
    peak = np.nanmax(np.where(near, sub, np.nan).reshape(len(x), -1), axis=1) if near.any() else np.full(len(x), np.nan)
    fwhm, ellipticity, theta = _shape(sub, w, dx, dy)
    masked = ((ap_w > 0) & ~valid).sum(axis=(1, 2))
    return {
        "flux": flux,
        "var": var,
        "sky": sky,
        "sky_rms": noise,
        "n_sky": n_sky,
        "peak": peak,
        "area": area,
        "fwhm": fwhm,
        "ellipticity": ellipticity,
        "theta": theta,
        "masked": masked,
    }


def aperture_photometry(
    data: np.ndarray,
    x_pix: np.ndarray | list[float],
    y_pix: np.ndarray | list[float],
    radius_px: float,
    *,
    annulus_px: tuple[float, float] | None = None,
    background_rms: np.ndarray | float | None = None,
    bunit: str = "",
    pixel_area_sr: float | None = None,
    aperture_correction: float = 1.0,
    gain: float | None = None,
    min_snr_for_shape: float = 20.0,
) -> Table:
    """Measure aperture fluxes at 0-based pixel positions.

    Parameters
    ----------
    data : 2-D array
        Image in physical units (NaN = no data; zero is data).
    x_pix, y_pix : array-like
        0-based positions (pixel centres at integers).
    radius_px : float
        Aperture radius in pixels.
    annulus_px : (inner, outer), optional
        Local background annulus radii; default ``(radius + 2, radius + 2 + max(4, radius))``.
    background_rms : float or array, optional
        Noise sigma per pixel; default the clipped std of the annulus.
    bunit, pixel_area_sr : str, float
        Pixel unit and solid angle, for the conversion to µJy (see :func:`flux_unit`).
    aperture_correction : float
        Factor applied to flux and error (total / in-aperture flux of the PSF).
    gain : float, optional
        Electrons per data unit; adds the source Poisson noise to the error when given.

    Returns
    -------
    Table with ``x_pix, y_pix, flux, flux_err, snr, sky, sky_rms, peak, fwhm_px, ellipticity,
    theta_deg, n_masked``; ``flux`` carries the unit from :func:`flux_unit`, ``sky``/``peak`` the
    pixel unit. An empty input gives an empty table with the same columns.
    """
    if radius_px <= 0:
        raise InvalidParameter("aperture radius must be positive")
    x = np.atleast_1d(np.asarray(x_pix, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y_pix, dtype=np.float64))
    if x.shape != y.shape:
        raise InvalidParameter("x and y must have the same length")
    if annulus_px is None:
        annulus_px = (radius_px + 2.0, radius_px + 2.0 + max(4.0, radius_px))
    if not 0 <= annulus_px[0] < annulus_px[1]:
        raise InvalidParameter("annulus radii must satisfy 0 <= inner < outer")
    rms = None if background_rms is None else np.broadcast_to(np.asarray(background_rms, dtype=np.float64), x.shape)
    parts = [
        _measure_chunk(
            data,
            x[i : i + _CHUNK],
            y[i : i + _CHUNK],
            radius_px,
            annulus_px,
            None if rms is None else rms[i : i + _CHUNK],
        )
        for i in range(0, len(x), _CHUNK)
    ]
    keys = ("flux", "var", "sky", "sky_rms", "n_sky", "peak", "area", "fwhm", "ellipticity", "theta", "masked")
    cols = {k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0) for k in keys}
    factor, unit = flux_unit(bunit, pixel_area_sr)
    var = cols["var"]
    if gain:
        var = var + np.clip(cols["flux"], 0, None) / gain
    flux = cols["flux"] * aperture_correction
    err = np.sqrt(var) * aperture_correction
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = flux / err
    measurable = snr >= min_snr_for_shape
    pix_unit = bunit or "count"
    table = Table()
    table["x_pix"] = x
    table["y_pix"] = y
    table["flux"] = flux * factor
    table["flux_err"] = err * factor
    table["snr"] = snr
    table["sky"] = cols["sky"]
    table["sky_rms"] = cols["sky_rms"]
    table["peak"] = cols["peak"]
    table["fwhm_px"] = np.where(measurable, cols["fwhm"], np.nan)
    table["ellipticity"] = np.where(measurable, cols["ellipticity"], np.nan)
    table["theta_deg"] = np.where(measurable, cols["theta"], np.nan)
    table["n_masked"] = cols["masked"].astype(np.int32)
    for name in ("flux", "flux_err"):
        table[name].unit = _safe_unit(unit)
        table[name].description = f"aperture flux, r={radius_px:.2f} px, aperture correction {aperture_correction:.4f}"
    for name in ("sky", "sky_rms", "peak"):
        table[name].unit = _safe_unit(pix_unit)
    table["x_pix"].unit = table["y_pix"].unit = "pix"
    table["fwhm_px"].unit = "pix"
    table["theta_deg"].unit = "deg"
    table.meta["flux_unit"] = unit
    table.meta["aperture_radius_px"] = float(radius_px)
    table.meta["annulus_px"] = [float(annulus_px[0]), float(annulus_px[1])]
    return table


def _safe_unit(text: str) -> u.UnitBase | str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = u.Unit(text.replace("pixel", "pix"), parse_strict="silent")
    return text if isinstance(unit, u.UnrecognizedUnit) else unit
