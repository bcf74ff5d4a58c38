"""Segmentation maps: integer label images as overlays, per-segment properties, detection footprints.

- :func:`labels_from_values` checks that an image is a segmentation map (non-negative integers,
  NaN/blank read as 0 = no segment) and returns int32 labels; anything else is refused.
- :func:`reproject_labels` puts a map on another image's grid through both full WCSs,
  nearest-neighbour (``reproject.reproject_interp(order="nearest-neighbor")``): labels are never mixed.
- :func:`render_labels` samples a window of the map onto a screen-sized grid (nearest pixel) and
  colours it: a random but stable colour per label (a hash of the label), filled or outlines only.
- :func:`segment_properties` measures one segment with photutils ``SourceCatalog`` (area, centroid,
  flux, second-moment ellipse) on the cutout around it.
- :func:`detection_segments` turns a detection into a segmentation map whose labels are the
  catalog's ``id``: photutils ``detect_sources`` footprints of the matched-filter S/N image, each
  footprint split between the detected peaks inside it (every pixel goes to its nearest peak).

Pixel convention: ``labels[y, x]``, 0-based ``x``/``y``; pixel ``k`` spans ``k - 0.5 .. k + 0.5``;
row 0 is the bottom of the displayed image (the rendered window's first row is its top).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage
from scipy.spatial import cKDTree

from neloura.errors import InvalidParameter, NotASegmentationMap

MAX_LABEL = 2**24  # labels travel as float32 physical values: exact up to here
ARCSEC2_PER_SR = (180 / np.pi * 3600) ** 2


def labels_from_values(values: np.ndarray, name: str = "the image") -> np.ndarray:
    """int32 labels from physical values (NaN = 0); refuses fractional, negative or huge values."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise NotASegmentationMap(f"{name}: a segmentation map is a 2-D image, got shape {values.shape}")
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        fractional = finite & (values != np.round(values))
    if fractional.any():
        y, x = (int(v[0]) for v in np.nonzero(fractional))
        raise NotASegmentationMap(
            f"{name} is not an integer segmentation map: {int(fractional.sum()):,} pixels hold fractional "
            f"values (e.g. {float(values[y, x]):.6g} at x={x}, y={y})"
        )
    if not finite.any():
        return np.zeros(values.shape, np.int32)
    low, high = float(values[finite].min()), float(values[finite].max())
    if low < 0:
        raise NotASegmentationMap(f"{name} is not a segmentation map: labels must be >= 0 (found {low:g})")
    if high >= MAX_LABEL:
        raise NotASegmentationMap(f"{name}: labels up to {MAX_LABEL - 1:,} are supported (found {high:.0f})")
    return np.where(finite, values, 0).astype(np.int32)


def reproject_labels(labels: np.ndarray, source_wcs: Any, target_wcs: Any, shape: tuple[int, int]) -> np.ndarray:
    """``labels`` (on ``source_wcs``) resampled onto ``target_wcs``/``shape``, nearest-neighbour; 0 outside."""
    from reproject import reproject_interp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, _ = reproject_interp(
            (labels.astype(np.float64), source_wcs), target_wcs, shape_out=shape, order="nearest-neighbor"
        )
    return np.where(np.isfinite(out), out, 0).astype(np.int32)


def label_colors(labels: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colour of each label: a hash of the label, so the same in every view and
    session; bright enough to read on a dark image (every channel >= 64). Label 0 gives black."""
    h = labels.astype(np.uint32) * np.uint32(2654435761)
    h ^= h >> np.uint32(15)
    h *= np.uint32(2246822519)
    h ^= h >> np.uint32(13)
    rgb = np.stack([(h >> np.uint32(s)) & np.uint32(255) for s in (0, 8, 16)], axis=-1)
    out = (64 + rgb * 191 // 255).astype(np.uint8)
    out[labels == 0] = 0
    return out


def color_hex(label: int) -> str:
    r, g, b = (int(c) for c in label_colors(np.array([label]))[0])
    return f"#{r:02x}{g:02x}{b:02x}"


def sample_window(
    labels: np.ndarray, x0: float, y0: float, x1: float, y1: float, width: int, height: int
) -> np.ndarray:
    """Labels at the centres of a ``width`` x ``height`` grid over the image window [x0, x1] x [y0, y1]
    (pixel-edge coordinates; first output row = top, y1); 0 outside the map."""
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y1 - (np.arange(height) + 0.5) * (y1 - y0) / height
    ix = np.floor(xs + 0.5).astype(np.int64)
    iy = np.floor(ys + 0.5).astype(np.int64)
    ok_x = (ix >= 0) & (ix < labels.shape[1])
    ok_y = (iy >= 0) & (iy < labels.shape[0])
    out = np.zeros((height, width), np.int32)
    inner = labels[np.clip(iy, 0, labels.shape[0] - 1)][:, np.clip(ix, 0, labels.shape[1] - 1)]
    out[:] = np.where(ok_y[:, None] & ok_x[None, :], inner, 0)
    return out


def outline_mask(grid: np.ndarray) -> np.ndarray:
    """Pixels of a label grid that differ from a 4-neighbour (outlines one grid pixel wide)."""
    edge = np.zeros(grid.shape, bool)
    edge[1:, :] |= grid[1:, :] != grid[:-1, :]
    edge[:-1, :] |= grid[:-1, :] != grid[1:, :]
    edge[:, 1:] |= grid[:, 1:] != grid[:, :-1]
    edge[:, :-1] |= grid[:, :-1] != grid[:, 1:]
    return edge & (grid != 0)


def render_labels(grid: np.ndarray, *, outline: bool = False, selected: int | None = None) -> np.ndarray:
    """RGBA uint8 of a label grid: each label's colour (filled, or outlines only); the ``selected``
    label white; alpha 0 where there is no segment (the page applies the opacity)."""
    rgba = np.zeros((*grid.shape, 4), np.uint8)
    shown = outline_mask(grid) if outline else grid != 0
    rgba[..., :3] = label_colors(grid)
    rgba[..., 3] = np.where(shown, 255, 0)
    if selected:
        mine = grid == selected
        rim = outline_mask(np.where(mine, grid, 0))
        rgba[mine & ~rim, 3] = 255 if not outline else 0
        rgba[rim] = (255, 255, 255, 255)
    return rgba


def segment_properties(
    data: np.ndarray,
    labels: np.ndarray,
    label: int,
    *,
    offset: tuple[int, int] = (0, 0),
    pixel_area_sr: float | None = None,
    flux_factor: float = 1.0,
) -> dict[str, Any]:
    """photutils ``SourceCatalog`` properties of one segment of ``labels`` over ``data`` (same shape;
    a cutout whose (x, y) origin in the full image is ``offset``). Positions come back in the full
    image's 0-based pixels; NaN pixels are masked. ``segment_flux`` is the sum of the pixel values
    times ``flux_factor`` (e.g. MJy/sr -> µJy through the pixel solid angle)."""
    from photutils.segmentation import SegmentationImage, SourceCatalog

    mine = np.where(labels == label, label, 0).astype(np.int32)
    if not mine.any():
        raise InvalidParameter(f"label {label} is not in the segmentation map")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        catalog = SourceCatalog(np.asarray(data, dtype=np.float64), SegmentationImage(mine), mask=~np.isfinite(data))
        source = catalog.select_label(label)
        area = float(source.area.value)
        props = {
            "label": int(label),
            "area_px": area,
            "area_arcsec2": area * pixel_area_sr * ARCSEC2_PER_SR if pixel_area_sr else None,
            "x_centroid": float(source.x_centroid) + offset[0],
            "y_centroid": float(source.y_centroid) + offset[1],
            "segment_flux": float(source.segment_flux) * flux_factor,
            "max_value": float(source.max_value),
            "min_value": float(source.min_value),
            "semimajor_axis_px": float(source.semimajor_axis.value),
            "semiminor_axis_px": float(source.semiminor_axis.value),
            "orientation_deg": float(source.orientation.value),
            "ellipticity": float(source.ellipticity.value),
            "eccentricity": float(source.eccentricity.value),
            "bbox": {
                "x_min": int(source.bbox_xmin) + offset[0],
                "x_max": int(source.bbox_xmax) + offset[0],
                "y_min": int(source.bbox_ymin) + offset[1],
                "y_max": int(source.bbox_ymax) + offset[1],
            },
        }
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in props.items()}


def detection_segments(
    data: np.ndarray,
    x_pix: ArrayLike,
    y_pix: ArrayLike,
    ids: ArrayLike,
    *,
    sky: np.ndarray,
    rms: np.ndarray,
    fwhm_px: float,
    threshold_sigma: float = 2.0,
    min_pixels: int = 5,
) -> np.ndarray:
    """A segmentation map of detected sources, labelled by their ``ids``.

    Footprints: photutils ``detect_sources`` on the S/N image of the matched-filtered data (Gaussian
    of ``fwhm_px``; ``sky`` and ``rms`` full-resolution background and noise) above
    ``threshold_sigma``, at least ``min_pixels`` connected (8-connectivity). Each footprint is split
    between the peaks (``x_pix``, ``y_pix``, 0-based) that fall inside it, every pixel to the nearest
    peak; footprints without a detected peak are dropped (0).
    """
    from photutils.segmentation import detect_sources

    sigma = fwhm_px / 2.354820045
    work = np.where(np.isfinite(data), data, sky).astype(np.float32)
    smoothed = ndimage.gaussian_filter(work, sigma, truncate=4.0, mode="nearest")
    delta = np.zeros((int(10 * sigma) * 2 + 3,) * 2)
    delta[delta.shape[0] // 2, delta.shape[1] // 2] = 1.0
    knorm = float(np.sqrt((ndimage.gaussian_filter(delta, sigma, truncate=4.0) ** 2).sum()))
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = (smoothed - sky) / (rms * knorm)
    snr = np.where(np.isfinite(snr) & np.isfinite(data), snr, 0.0)
    out = np.zeros(data.shape, np.int32)
    x = np.asarray(x_pix, dtype=np.float64)
    y = np.asarray(y_pix, dtype=np.float64)
    if x.size == 0:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        footprints = detect_sources(snr, threshold_sigma, n_pixels=max(1, int(min_pixels)), connectivity=8)
    if footprints is None:
        return out
    foot = footprints.data
    ix = np.clip(np.round(x).astype(np.int64), 0, data.shape[1] - 1)
    iy = np.clip(np.round(y).astype(np.int64), 0, data.shape[0] - 1)
    peak_foot = foot[iy, ix]
    has = peak_foot > 0
    if not has.any():
        return out
    # nearest peak within the same footprint: footprints far apart along a third axis
    far = 4.0 * float(max(data.shape))
    tree = cKDTree(np.column_stack([x[has], y[has], peak_foot[has] * far]))
    py, px = np.nonzero(foot)
    _, nearest = tree.query(np.column_stack([px, py, foot[py, px] * far]))
    same = peak_foot[has][nearest] == foot[py, px]
    out[py[same], px[same]] = np.asarray(ids, dtype=np.int64)[has][nearest[same]]
    return out
