"""The steps of :func:`neloura.core.detection.detect_peaks`, vectorised: the matched filter (Gaussian
or elliptical beam) and its noise factor, local maxima, the area above threshold, sub-pixel
refinement (3-point Gaussian fit), separation and saddle deblending of close pairs, and the search
for faint companions on the wings of bright peaks.

Pixel convention: ``data[y, x]``, positions 0-based with pixel centres at integers.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from neloura.core.background import Background
from neloura.core.photometry import FWHM_PER_SIGMA
from neloura.errors import InvalidParameter

_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def beam_kernel(fwhm_px: float, beam: tuple[float, float, float] | None) -> np.ndarray | None:
    """Explicit kernel for an elliptical beam (major, minor FWHM in px, PA in deg from +y)."""
    if beam is None:
        return None
    major, minor, pa = beam
    if minor <= 0 or major < minor:
        raise InvalidParameter("beam needs major >= minor > 0 (FWHM in pixels)")
    sa, sb = major / FWHM_PER_SIGMA, minor / FWHM_PER_SIGMA
    half = int(np.ceil(4 * sa))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    theta = np.radians(pa)
    along = -xx * np.sin(theta) + yy * np.cos(theta)
    across = xx * np.cos(theta) + yy * np.sin(theta)
    kernel = np.exp(-0.5 * ((along / sa) ** 2 + (across / sb) ** 2))
    return kernel / kernel.sum()


def matched_filter(work: np.ndarray, fwhm_px: float, kernel: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Matched-filtered image and the noise factor sqrt(sum(k**2)) of the exact discrete kernel."""
    if kernel is not None:
        return ndimage.convolve(work, kernel.astype(np.float32), mode="nearest"), float(np.sqrt((kernel**2).sum()))
    sigma = fwhm_px / FWHM_PER_SIGMA
    delta = np.zeros((int(10 * sigma) * 2 + 3,) * 2)
    delta[delta.shape[0] // 2, delta.shape[1] // 2] = 1.0
    knorm = float(np.sqrt((ndimage.gaussian_filter(delta, sigma, truncate=4.0) ** 2).sum()))
    return ndimage.gaussian_filter(work, sigma, truncate=4.0, mode="nearest"), knorm


def local_maxima(smoothed: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Which candidate pixels are local maxima (ties broken towards the first pixel)."""
    value = smoothed[ys, xs]
    keep = np.ones(len(ys), dtype=bool)
    for dy, dx in _NEIGHBOURS:
        other = smoothed[ys + dy, xs + dx]
        keep &= value >= other if (dy, dx) > (0, 0) else value > other
    return keep


def _parabola_offset(minus: np.ndarray, centre: np.ndarray, plus: np.ndarray) -> np.ndarray:
    """Sub-pixel offset of a peak from 3 samples: Gaussian (log-parabola), quadratic as fallback."""
    with np.errstate(invalid="ignore", divide="ignore"):
        positive = (minus > 0) & (centre > 0) & (plus > 0)
        lm, lc, lp = (np.log(np.where(positive, v, 1.0)) for v in (minus, centre, plus))
        log_off = 0.5 * (lm - lp) / (lm - 2 * lc + lp)
        quad_off = 0.5 * (minus - plus) / (minus - 2 * centre + plus)
        off = np.where(positive, log_off, quad_off)
    return np.clip(np.nan_to_num(off), -1.0, 1.0)


def refine(smoothed: np.ndarray, ys: np.ndarray, xs: np.ndarray, sky: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel positions of peaks at integer pixels (ys, xs) of the filtered image."""
    centre = smoothed[ys, xs] - sky
    dx = _parabola_offset(smoothed[ys, xs - 1] - sky, centre, smoothed[ys, xs + 1] - sky)
    dy = _parabola_offset(smoothed[ys - 1, xs] - sky, centre, smoothed[ys + 1, xs] - sky)
    return xs + dx, ys + dy


def area_above(smoothed: np.ndarray, ys: np.ndarray, xs: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Pixels of the 5 x 5 box around each peak above that peak's threshold level."""
    off = np.arange(-2, 3)
    iy = np.clip(ys[:, None, None] + off[None, :, None], 0, smoothed.shape[0] - 1)
    ix = np.clip(xs[:, None, None] + off[None, None, :], 0, smoothed.shape[1] - 1)
    result: np.ndarray = (smoothed[iy, ix] > level[:, None, None]).sum(axis=(1, 2))
    return result


def _saddle_depth(smoothed: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Height of the fainter peak of each pair (a, b as (N, 2) x, y) above the lowest point
    of the filtered image on the segment between them."""
    steps = np.linspace(0.0, 1.0, 9)
    px = a[:, 0:1] + (b[:, 0:1] - a[:, 0:1]) * steps
    py = a[:, 1:2] + (b[:, 1:2] - a[:, 1:2]) * steps
    line = ndimage.map_coordinates(smoothed, [py.ravel(), px.ravel()], order=1, mode="nearest")
    line = line.reshape(px.shape)
    low_end = np.minimum(line[:, 0], line[:, -1])
    result: np.ndarray = low_end - line.min(axis=1)
    return result


def separate(
    x: np.ndarray,
    y: np.ndarray,
    sig: np.ndarray,
    smoothed: np.ndarray,
    noise: np.ndarray,
    min_sep: float,
    blend_radius: float,
    deblend: bool,
    deblend_sigma: float,
) -> np.ndarray:
    """Indices (brightest first) of the peaks kept after separation and deblending."""
    order = np.argsort(-sig, kind="stable")
    x, y = x[order], y[order]
    keep = np.ones(len(order), dtype=bool)
    if len(order) < 2:
        return order
    tree = cKDTree(np.column_stack([x, y]))
    radius = max(min_sep, blend_radius)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    if len(pairs):
        pairs = np.sort(pairs, axis=1)  # (brighter, fainter) since order is by brightness
        d = np.hypot(x[pairs[:, 0]] - x[pairs[:, 1]], y[pairs[:, 0]] - y[pairs[:, 1]])
        merge = d < min_sep
        close = ~merge
        if deblend and close.any():
            pts = np.column_stack([x, y])
            depth = _saddle_depth(smoothed, pts[pairs[close, 0]], pts[pairs[close, 1]])
            merge[close] = depth < deblend_sigma * noise[order][pairs[close, 1]]
        elif close.any():
            merge[close] = True
        # greedy, brightest first: a dropped peak cannot drop anybody else
        pairs = pairs[merge]
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        for bright, faint in pairs:
            if keep[bright]:
                keep[faint] = False
    return order[keep]


def companions(
    work: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    sig: np.ndarray,
    bg: Background,
    fwhm_px: float,
    threshold: float,
    min_sep: float,
    edge: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faint companions on the wings of bright peaks, which the matched filter blurs into their
    neighbour: a second search with a filter of half the width, in stamps around peaks brighter
    than 4 x the threshold, keeping local maxima above the threshold (in that filter's noise),
    separated from the bright peak by a dip (saddle) of at least 2 sigma and from every known
    peak by ``min_sep``."""
    bright = np.nonzero(sig >= 4 * threshold)[0]
    empty = (np.empty(0), np.empty(0), np.empty(0))
    if len(bright) == 0:
        return empty
    sigma = 0.5 * fwhm_px / FWHM_PER_SIGMA
    half = int(np.ceil(2.5 * fwhm_px)) + 2
    cx, cy = np.rint(x[bright]).astype(np.int64), np.rint(y[bright]).astype(np.int64)
    off = np.arange(-half, half + 1)
    iy = np.clip(cy[:, None, None] + off[None, :, None], 0, work.shape[0] - 1)
    ix = np.clip(cx[:, None, None] + off[None, None, :], 0, work.shape[1] - 1)
    narrow = ndimage.gaussian_filter(work[iy, ix], (0, sigma, sigma), truncate=4.0, mode="nearest")
    _, knorm = matched_filter(np.zeros((3, 3), np.float32), 0.5 * fwhm_px, None)
    sky, rms = bg.sky_at(cx, cy), bg.rms_at(cx, cy)
    snr = (narrow - sky[:, None, None]) / (rms * knorm)[:, None, None]
    is_max = (narrow == ndimage.maximum_filter(narrow, size=(1, 3, 3), mode="nearest")) & (snr >= threshold)
    is_max[:, [0, -1], :] = is_max[:, :, [0, -1]] = False
    k, jy, jx = np.nonzero(is_max)
    px, py = (cx[k] + off[jx]).astype(np.float64), (cy[k] + off[jy]).astype(np.float64)
    if len(k) == 0:
        return empty
    near = np.isfinite(
        cKDTree(np.column_stack([x, y])).query(np.column_stack([px, py]), distance_upper_bound=min_sep)[0]
    )
    centre = np.full(len(k), float(half))
    line = np.linspace(0.0, 1.0, 9)
    ly = centre[:, None] + (jy[:, None] - centre[:, None]) * line
    lx = centre[:, None] + (jx[:, None] - centre[:, None]) * line
    profile = ndimage.map_coordinates(
        narrow.reshape(-1, narrow.shape[2]), [(k[:, None] * narrow.shape[1] + ly).ravel(), lx.ravel()], order=1
    )
    dip = (narrow[k, jy, jx] - profile.reshape(ly.shape).min(axis=1)) / (rms[k] * knorm)
    inside = (px >= edge) & (px < work.shape[1] - edge) & (py >= edge) & (py < work.shape[0] - edge)
    keep = ~near & (dip >= 2.0) & inside
    if not keep.any():
        return empty
    k, jy, jx, px, py = k[keep], jy[keep], jx[keep], px[keep], py[keep]
    c = narrow[k, jy, jx] - sky[k]
    fx = px + _parabola_offset(narrow[k, jy, jx - 1] - sky[k], c, narrow[k, jy, jx + 1] - sky[k])
    fy = py + _parabola_offset(narrow[k, jy - 1, jx] - sky[k], c, narrow[k, jy + 1, jx] - sky[k])
    order = np.argsort(-snr[k, jy, jx])
    pts = np.column_stack([fx, fy])[order]
    unique = np.ones(len(pts), dtype=bool)
    for i, j in cKDTree(pts).query_pairs(min_sep) if len(pts) > 1 else []:
        unique[max(i, j)] = False
    chosen = order[unique]
    return fx[chosen], fy[chosen], snr[k, jy, jx][chosen]
