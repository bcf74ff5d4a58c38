"""Local background mesh: sky gradients, noise level, masks and independence from image cuts."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.background import clipped_stats, estimate_background
from neloura.errors import InvalidParameter


def _field(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:512, 0:512]
    return (100 + 0.02 * xx + 0.01 * yy + rng.normal(0, 1.5, (512, 512))).astype(np.float32)


def test_gradient_and_noise_are_recovered_up_to_the_edges() -> None:
    image = _field()
    bg = estimate_background(image, 64)
    x = np.array([0.0, 100.0, 255.5, 480.0, 511.0])
    y = np.array([511.0, 300.0, 255.5, 20.0, 0.0])
    assert bg.sky_at(x, y) == pytest.approx(100 + 0.02 * x + 0.01 * y, abs=0.1)
    assert bg.rms_at(x, y) == pytest.approx(np.full(5, 1.5), rel=0.05)


def test_nan_blank_regions_are_ignored_and_zero_is_data() -> None:
    image = _field()
    image[:200, :200] = np.nan
    bg = estimate_background(image, 64)
    assert np.isfinite(bg.sky).all() and bg.sky_at(np.array([50.0]), np.array([50.0]))[0] == pytest.approx(
        102.5, abs=0.5
    )
    zeros = np.zeros((256, 256), np.float32)
    zeros[:, 128:] = np.random.default_rng(2).normal(0, 1, (256, 128))
    bg0 = estimate_background(zeros, 64)
    assert bg0.sky_at(np.array([10.0]), np.array([10.0]))[0] == pytest.approx(0.0, abs=0.01)


def test_a_cutout_sees_the_same_local_background() -> None:
    image = _field(3)
    whole = estimate_background(image, 64)
    part = estimate_background(image[:, :256].copy(), 64)
    x, y = np.array([64.0, 128.0]), np.array([200.0, 300.0])
    assert part.sky_at(x, y) == pytest.approx(whole.sky_at(x, y), abs=0.05)
    assert part.rms_at(x, y) == pytest.approx(whole.rms_at(x, y), rel=0.05)


def test_clipped_stats_reject_outliers() -> None:
    rng = np.random.default_rng(4)
    rows = rng.normal(10, 2, (3, 2000)).astype(np.float32)
    rows[:, :100] = 1000.0  # bright sources
    rows[2, 1000:] = np.nan
    med, std, kept = clipped_stats(rows, 3.0, 10)
    assert med == pytest.approx([10, 10, 10], abs=0.2)
    assert std == pytest.approx([2, 2, 2], rel=0.06)
    assert kept[2] < 1000 and kept[0] > 1800


def test_bad_input() -> None:
    with pytest.raises(InvalidParameter):
        estimate_background(np.zeros((4, 4, 4)), 64)
    with pytest.raises(InvalidParameter):
        estimate_background(np.zeros((64, 64)), 2)
