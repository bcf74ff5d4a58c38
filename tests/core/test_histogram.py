"""Histogram of physical values over the sample, with the limits."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.histogram import histogram
from neloura.errors import InvalidParameter


def test_counts_equal_numpy_and_outside_values_are_counted() -> None:
    rng = np.random.default_rng(9)
    sample = np.concatenate([rng.normal(0, 1, 50_000), [np.nan, np.inf]])
    h = histogram(sample, 37, -2.0, 2.0)
    finite = sample[np.isfinite(sample)]
    expected, edges = np.histogram(finite, bins=37, range=(-2.0, 2.0))
    np.testing.assert_array_equal(h.counts, expected)
    np.testing.assert_allclose(h.edges, edges)
    assert h.below == int((finite < -2).sum()) and h.above == int((finite > 2).sum())
    assert h.counts.sum() + h.below + h.above == finite.size == h.sample_size


def test_any_bin_count() -> None:
    sample = np.arange(1000.0)
    for bins in (1, 2, 999, 5000):
        assert histogram(sample, bins, 0, 999).counts.sum() == 1000


@pytest.mark.parametrize(("bins", "vmin", "vmax"), [(0, 0, 1), (10**6, 0, 1), (10, 1, 1), (10, 0, float("nan"))])
def test_bad_parameters(bins: int, vmin: float, vmax: float) -> None:
    with pytest.raises(InvalidParameter):
        histogram(np.arange(10.0), bins, vmin, vmax)
