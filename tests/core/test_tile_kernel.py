"""The compiled tile kernel against the numpy path it replaces: the same palette indices (the
same float32 arithmetic) for every stretch, edge values and strides, and the same PNG bytes."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core import stretch as stretches
from neloura.core.colormaps import palette
from neloura.core.encode import encode_png, encode_png_rows
from neloura.core.tile_kernel import png_rows
from neloura.errors import InvalidParameter


def _values(seed: int, shape: tuple[int, int] = (256, 256)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(shape) * 40 + 100).astype(np.float32)
    values.flat[rng.integers(values.size, size=50)] = np.nan
    values.flat[rng.integers(values.size, size=5)] = np.inf
    values.flat[rng.integers(values.size, size=5)] = -np.inf
    values.flat[rng.integers(values.size, size=20)] = 80.0  # exactly vmin
    values.flat[rng.integers(values.size, size=20)] = 400.0  # exactly vmax
    return values


def _numpy_rows(values: np.ndarray, vmin: float, vmax: float, lut: np.ndarray) -> np.ndarray:
    index = stretches.apply(values, vmin, vmax, lut)
    return np.concatenate([np.zeros((index.shape[0], 1), np.uint8), index], axis=1)


@pytest.mark.parametrize("stretch", stretches.STRETCHES)
def test_same_indices_as_apply_for_every_stretch(stretch: str) -> None:
    values = _values(1)
    sample = values[np.isfinite(values)]
    exponent = stretches.check_stretch(stretch)
    lut = stretches.lookup_table(stretch, exponent, sample=sample, limits=(80.0, 400.0))
    for vmin, vmax in ((80.0, 400.0), (99.99, 100.01), (-1e30, 1e30), (100.123456, 100.1234567)):
        np.testing.assert_array_equal(png_rows(values, vmin, vmax, lut), _numpy_rows(values, vmin, vmax, lut))


def test_rounding_boundaries_match_float32_arithmetic() -> None:
    # values whose scaled position falls on and next to every half step of the table
    lut = stretches.lookup_table("linear", 1.0)
    steps = np.arange(0, stretches.LUT_SIZE, dtype=np.float64)
    around = np.concatenate([steps + 0.5, np.nextafter(steps + 0.5, 0), np.nextafter(steps + 0.5, 1e9)])
    values = (80 + around * (320 / (stretches.LUT_SIZE - 1))).astype(np.float32)
    values = np.resize(values, (values.size // 512, 512))
    np.testing.assert_array_equal(png_rows(values, 80, 400, lut), _numpy_rows(values, 80, 400, lut))


def test_views_edge_tiles_and_bytes_of_the_png() -> None:
    values = _values(2, (300, 200))
    lut = stretches.lookup_table("asinh", stretches.check_stretch("asinh"))
    pal = palette("viridis", False, "transparent")
    for view in (values[::-1], values[10:137, 3:200], values[:, ::2], values[:1, :1]):
        rows = png_rows(view, 80, 400, lut)
        np.testing.assert_array_equal(rows, _numpy_rows(view, 80, 400, lut))
        assert encode_png_rows(rows, pal) == encode_png(stretches.apply(view, 80, 400, lut), pal)


def test_limits_must_be_ordered() -> None:
    with pytest.raises(InvalidParameter):
        png_rows(_values(3, (4, 4)), 5.0, 5.0, stretches.lookup_table("linear", 1.0))
