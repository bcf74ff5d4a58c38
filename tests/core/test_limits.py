"""Display limits: percentiles, minmax, zscale, user values."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from neloura.core.limits import compute_limits, minmax_limits, percentile_limits, user_limits, zscale_limits
from neloura.errors import InvalidParameter

RNG = np.random.default_rng(7)
SAMPLE = RNG.normal(10.0, 2.0, 200_000)


def test_percentiles_match_numpy_and_ignore_nan() -> None:
    with_nan = np.concatenate([SAMPLE, np.full(1000, np.nan), [np.inf]])
    lo, hi = percentile_limits(with_nan)
    np.testing.assert_allclose((lo, hi), np.percentile(SAMPLE, [0.5, 99.5]))
    assert percentile_limits(SAMPLE, 5, 95) == pytest.approx(tuple(np.percentile(SAMPLE, [5, 95])))


def test_gaussian_percentiles_near_truth() -> None:
    lo, hi = percentile_limits(SAMPLE)
    assert lo == pytest.approx(10 - 2.5758 * 2, abs=0.05)
    assert hi == pytest.approx(10 + 2.5758 * 2, abs=0.05)


def test_minmax_and_zscale() -> None:
    assert minmax_limits(np.array([3.0, np.nan, -1.0, 8.0])) == (-1.0, 8.0)
    expected = ZScaleInterval().get_limits(SAMPLE)
    assert zscale_limits(SAMPLE) == pytest.approx(expected)


def test_empty_and_constant_samples_give_usable_windows() -> None:
    for fn in (percentile_limits, minmax_limits, zscale_limits):
        assert fn(np.array([np.nan, np.nan])) == (0.0, 1.0)
        lo, hi = fn(np.full(100, 5.0))
        assert lo < 5.0 < hi


def test_compute_limits_dispatches_every_mode() -> None:
    assert compute_limits(SAMPLE, "percentiles") == percentile_limits(SAMPLE)
    assert compute_limits(SAMPLE, "minmax") == minmax_limits(SAMPLE)
    assert compute_limits(SAMPLE, "zscale") == zscale_limits(SAMPLE)
    assert compute_limits(SAMPLE, "user", vmin=1.0, vmax=2.0) == (1.0, 2.0)
    lo, hi = compute_limits(SAMPLE, "user", vmin=1.0)
    assert lo == 1.0 and hi == pytest.approx(percentile_limits(SAMPLE)[1])
    with pytest.raises(InvalidParameter):
        compute_limits(SAMPLE, "best")


def test_bad_user_values_and_percentiles() -> None:
    with pytest.raises(InvalidParameter):
        user_limits(SAMPLE, 5.0, 5.0)
    with pytest.raises(InvalidParameter):
        user_limits(SAMPLE, float("nan"), 5.0)
    with pytest.raises(InvalidParameter):
        percentile_limits(SAMPLE, 90, 10)
