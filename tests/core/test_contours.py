"""Contour levels, NaN-aware smoothing, traced lines (a Gaussian's circle) and DS9 export."""

from __future__ import annotations

import numpy as np
import pytest
from regions import Regions

from neloura.core.contours import contour_levels, ds9_regions, smooth, trace
from neloura.errors import InvalidParameter


def _blob(shape: tuple[int, int] = (80, 100), x0: float = 40.3, y0: float = 30.7, s: float = 8.0) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * s**2)).astype(np.float32)


def test_levels_by_list_count_and_sigma() -> None:
    assert contour_levels(levels=[3.0, 1.0, 3.0]).tolist() == [1.0, 3.0]
    assert contour_levels(n_levels=5, vmin=0, vmax=4).tolist() == [0, 1, 2, 3, 4]
    log = contour_levels(n_levels=4, vmin=1, vmax=1000, spacing="log")
    assert log[0] == 1 and log[-1] == 1000 and np.all(np.diff(log) > 0) and log[1] < 20
    assert contour_levels(sigma_levels=[3, 5], median=10.0, sigma=2.0).tolist() == [16.0, 20.0]
    for bad in ({}, {"levels": [1], "n_levels": 3}, {"n_levels": 3}, {"levels": [np.nan]}, {"levels": []}):
        with pytest.raises(InvalidParameter):
            contour_levels(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="sigma"):
        contour_levels(sigma_levels=[3], sigma=0.0)


def test_a_gaussian_contour_is_its_circle() -> None:
    lines, truncated = trace(_blob(), [0.5])
    ((level, paths),) = lines
    assert level == 0.5 and len(paths) == 1 and not truncated
    r = np.hypot(paths[0][:, 0] - 40.3, paths[0][:, 1] - 30.7)
    assert np.abs(r - 8.0 * np.sqrt(2 * np.log(2))).max() < 0.05


def test_blank_pixels_are_masked_and_smoothing_ignores_them() -> None:
    data = _blob()
    data[:, 60:] = np.nan
    smoothed = smooth(data, 2.0)
    assert np.isnan(smoothed[:, 60:]).all()
    assert smoothed[30, 59] > 0 and abs(smoothed[30, 40] - data[30, 40]) < 0.1  # no darkening from blanks
    lines, _ = trace(data, [1e-4])
    assert all(np.nanmax(p[:, 0]) <= 59.5 for p in lines[0][1])
    with pytest.raises(InvalidParameter):
        smooth(data, 500)


def test_point_budget_truncates() -> None:
    noisy = np.random.default_rng(1).normal(size=(200, 200)).astype(np.float32)
    lines, truncated = trace(noisy, [0.0], max_points=500)
    assert truncated and sum(len(p) for p in lines[0][1]) <= 500


def test_ds9_export_reads_back_with_regions() -> None:
    lines, _ = trace(_blob(), [0.25, 0.5])
    text = ds9_regions(lines, color="cyan")
    parsed = Regions.parse(text, format="ds9")
    assert len(parsed) == 2 and parsed[0].visual["edgecolor"] == "cyan" and parsed[0].meta["tag"] == ["level=0.25"]
    assert np.allclose(parsed[0].vertices.x, lines[0][1][0][:, 0], atol=1e-6)  # 0-based again after parsing
    assert "levels: 0.25, 0.5" in text
    sky = [[(p[:, 0] * 1e-4 + 150.0, p[:, 1] * 1e-4 + 2.0) for p in paths] for _, paths in lines]
    parsed_sky = Regions.parse(ds9_regions(lines, ra_dec=sky), format="ds9")
    assert np.allclose(parsed_sky[1].vertices.ra.deg, sky[1][0][0])
