"""Forced aperture photometry for an SED: photutils ``aperture_photometry`` (exact overlap) at a
fixed position with a local annulus background, errors, upper limits, aperture corrections.

Pixel convention: 0-based ``x`` (FITS axis 1), ``y`` (FITS axis 2), pixel centres at integers
(photutils' own convention). Fluxes are in image units x pixels until multiplied by a
:class:`neloura.core.fluxunits.FluxConversion` factor.

Errors: from an error array (an ``ERR`` extension: sum of err^2 over the aperture overlap) when
given, else from the annulus scatter (``area * std^2``); the uncertainty of the background level
(``area^2 * std^2 * pi / (2 n_annulus)``, the median's variance) is added in both cases.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.stats import SigmaClip

from neloura.errors import InvalidParameter


@dataclass(frozen=True)
class Measurement:
    """One forced measurement, in image units x pixels (``flux = aperture_sum - background * area``)."""

    flux: float
    flux_err: float
    aperture_sum: float
    background: float  # per pixel (sigma-clipped median of the annulus)
    background_std: float
    area_px: float
    n_annulus: int
    n_masked: int

    @property
    def snr(self) -> float:
        return self.flux / self.flux_err if self.flux_err > 0 else math.nan


def measure(
    data: np.ndarray,
    x_pix: float,
    y_pix: float,
    radius_px: float,
    annulus_px: tuple[float, float],
    *,
    error: np.ndarray | None = None,
) -> Measurement:
    """Forced photometry at one 0-based position (NaN pixels are masked out of both the
    aperture and the annulus)."""
    from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry

    if not radius_px > 0 or not 0 < annulus_px[0] < annulus_px[1]:
        raise InvalidParameter("need radius > 0 and 0 < annulus inner < outer")
    mask = ~np.isfinite(data)
    if error is not None:
        mask |= ~np.isfinite(error)
    aperture = CircularAperture((x_pix, y_pix), r=radius_px)
    annulus = CircularAnnulus((x_pix, y_pix), r_in=annulus_px[0], r_out=annulus_px[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = ApertureStats(data, annulus, mask=mask, sigma_clip=SigmaClip(sigma=3.0, maxiters=10))
        table = aperture_photometry(data, aperture, error=error, mask=mask, method="exact")
        area = float(aperture.area_overlap(data, mask=mask))
    background = float(stats.median) if np.isfinite(stats.median) else 0.0
    std = float(stats.std) if np.isfinite(stats.std) else math.nan
    n_annulus = int(stats.sum_aper_area.value) if np.isfinite(stats.sum_aper_area.value) else 0
    total = float(table["aperture_sum"][0])
    flux = total - background * area
    background_var = area**2 * std**2 * math.pi / (2.0 * max(n_annulus, 1))
    source_var = float(table["aperture_sum_err"][0]) ** 2 if error is not None else area * std**2
    aperture_mask = aperture.to_mask(method="center").to_image(data.shape)
    masked = int(((aperture_mask > 0) & mask).sum()) if aperture_mask is not None else 0
    return Measurement(
        flux=flux,
        flux_err=math.sqrt(source_var + background_var),
        aperture_sum=total,
        background=background,
        background_std=std,
        area_px=area,
        n_annulus=n_annulus,
        n_masked=masked,
    )


def aperture_fraction(psf: np.ndarray, radius_px: float, annulus_px: tuple[float, float]) -> float:
    """Fraction of a unit-sum PSF (centred on the central pixel) that the same measurement
    (aperture minus annulus median) recovers: 1 / this is the aperture correction. The stamp is
    zero-padded so that the annulus fits."""
    need = math.ceil(annulus_px[1]) + 2
    half = max(psf.shape[0] // 2, need)
    stamp = np.zeros((2 * half + 1, 2 * half + 1))
    py, px = psf.shape[0] // 2, psf.shape[1] // 2
    sy, sx = slice(half - py, half - py + psf.shape[0]), slice(half - px, half - px + psf.shape[1])
    stamp[sy, sx] = psf / psf.sum()
    fraction = measure(stamp, float(half), float(half), radius_px, annulus_px).flux
    if not 0.05 < fraction <= 1.05:
        raise InvalidParameter(f"the aperture holds only {fraction:.3f} of the PSF: use a larger radius")
    return float(fraction)


def upper_limit(flux: float, flux_err: float, limit_sigma: float) -> tuple[bool, float]:
    """(is a non-detection, the value to plot): below ``limit_sigma`` the point becomes the
    ``limit_sigma`` x error upper limit."""
    if not (math.isfinite(flux_err) and flux_err > 0):
        return False, flux
    if flux / flux_err < limit_sigma:
        return True, limit_sigma * flux_err
    return False, flux


def sed_csv(points: list[dict[str, object]]) -> str:
    """The SED as CSV (one row per point)."""
    import csv
    import io

    columns = ("filter", "instrument", "wavelength_um", "flux_ujy", "flux_err_ujy", "upper_limit", "path", "hdu")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for point in points:
        writer.writerow(["" if point.get(c) is None else point.get(c) for c in columns])
    return buffer.getvalue()


def sed_figure(
    points: list[dict[str, object]],
    fmt: str,
    *,
    width_in: float = 18.0,
    height_in: float = 14.0,
    dpi: float = 150.0,
    title: str = "",
    insets: list[tuple[str, np.ndarray]] | None = None,
) -> bytes:
    """Flux density (µJy) against wavelength (µm), log-log, error bars, upper limits as arrows;
    ``insets`` (label, cutout pixels, FITS orientation) drawn in a row above the plot, in the
    order given (the page gives them by wavelength), each scaled between its 1st and 99.5th
    percentiles."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    check_figure_size(width_in, height_in, dpi)
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = _inset_row(fig, insets or [], height_in) if insets else fig.add_subplot()
    usable = [p for p in points if _positive(p.get("wavelength_um")) and _positive(p.get("flux_ujy"))]
    detected = [p for p in usable if not p.get("upper_limit")]
    limits = [p for p in usable if p.get("upper_limit")]
    if detected:
        wl = np.array([float(p["wavelength_um"]) for p in detected])  # type: ignore[arg-type]
        flux = np.array([float(p["flux_ujy"]) for p in detected])  # type: ignore[arg-type]
        err = np.array([float(p.get("flux_err_ujy") or 0.0) for p in detected])  # type: ignore[arg-type]
        ax.errorbar(wl, flux, yerr=np.minimum(err, flux * 0.999), fmt="o", color="C0", capsize=4, label="detections")
    if limits:
        wl = np.array([float(p["wavelength_um"]) for p in limits])  # type: ignore[arg-type]
        flux = np.array([float(p["flux_ujy"]) for p in limits])  # type: ignore[arg-type]
        ax.errorbar(wl, flux, yerr=flux * 0.4, uplims=True, fmt="v", color="C3", label="upper limits")
    for p in usable:
        ax.annotate(str(p.get("filter") or ""), (float(p["wavelength_um"]), float(p["flux_ujy"])),  # type: ignore[arg-type]
                    textcoords="offset points", xytext=(6, 6), fontsize=max(8, int(height_in)))  # fmt: skip
    if usable:
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no point with a wavelength and a positive flux", ha="center", transform=ax.transAxes)
    size = max(10, int(height_in * 1.2))
    ax.set_xlabel("wavelength (µm)", fontsize=size)
    ax.set_ylabel("flux density (µJy)", fontsize=size)
    ax.tick_params(labelsize=size * 0.8)
    ax.grid(True, which="both", alpha=0.3)
    if detected or limits:
        ax.legend(fontsize=size * 0.8)
    if title:
        ax.set_title(title, fontsize=size * 1.2)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


MAX_FIGURE_PIXELS = 60_000_000
MAX_INSETS = 24


def _inset_row(fig: Any, insets: list[tuple[str, np.ndarray]], height_in: float) -> Any:
    """The cutouts in a row of small panels above the plot; returns the plot's axes."""
    grid = fig.add_gridspec(2, 1, height_ratios=[1, 3.2], hspace=0.25)
    row = grid[0].subgridspec(1, min(len(insets), MAX_INSETS), wspace=0.08)
    for i, (label, pixels) in enumerate(insets[:MAX_INSETS]):
        inset = fig.add_subplot(row[0, i])
        values = np.asarray(pixels, dtype=np.float64)
        finite = values[np.isfinite(values)]
        lo, hi = (float(v) for v in np.percentile(finite, [1.0, 99.5])) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        inset.imshow(values, origin="lower", cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_title(label, fontsize=max(8, int(height_in * 0.8)))
    return fig.add_subplot(grid[1])


def check_figure_size(width_in: float, height_in: float, dpi: float) -> None:
    """Refuse figures whose raster would exceed :data:`MAX_FIGURE_PIXELS`."""
    pixels = width_in * dpi * height_in * dpi
    if not (math.isfinite(pixels) and 0 < pixels <= MAX_FIGURE_PIXELS):
        raise InvalidParameter(
            f"a {width_in:g} x {height_in:g} inch figure at {dpi:g} dpi is {pixels / 1e6:.0f} Mpixel; "
            f"at most {MAX_FIGURE_PIXELS // 1_000_000} Mpixel"
        )


def _positive(value: object) -> bool:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0
