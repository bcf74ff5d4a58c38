"""Every stretch against its formula, through the one lookup table."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.stretch import (
    LUT_SIZE,
    NAN_INDEX,
    STRETCHES,
    apply,
    lookup_table,
    stretch_values,
)
from neloura.errors import InvalidParameter

X = np.linspace(0.0, 1.0, 1001)

FORMULAS = {
    "linear": lambda x: x,
    "log": lambda x: np.log10(1000 * x + 1) / np.log10(1001),
    "sqrt": np.sqrt,
    "squared": lambda x: x**2,
    "power": lambda x: x**2,
    "asinh": lambda x: np.arcsinh(10 * x) / np.arcsinh(10),
    "sinh": lambda x: np.sinh(3 * x) / np.sinh(3),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_stretch_values_follow_the_documented_formula(name: str) -> None:
    np.testing.assert_allclose(stretch_values(name, X), FORMULAS[name](X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_tile_indices_follow_the_formula_through_the_table(name: str) -> None:
    vmin, vmax = -3.0, 7.0
    values = (vmin + X * (vmax - vmin)).astype(np.float32)
    indices = apply(values, vmin, vmax, lookup_table(name))
    expected = np.rint(FORMULAS[name](X) * 254)
    # the table quantises x to 1/65535: at most one palette step away from the exact formula
    assert np.abs(indices.astype(int) - expected).max() <= 1
    assert indices[0] == 0 and indices[-1] == 254
    assert (np.diff(indices.astype(int)) >= 0).all()  # monotonic


def test_exponent_changes_log_and_power() -> None:
    np.testing.assert_allclose(stretch_values("log", X, 10.0), np.log10(10 * X + 1) / np.log10(11))
    np.testing.assert_allclose(stretch_values("power", X, 3.0), X**3)
    np.testing.assert_allclose(stretch_values("power", X, 0.5), np.sqrt(X))


def test_values_outside_limits_clip_and_nan_gets_its_own_index() -> None:
    lut = lookup_table("linear")
    values = np.array([[-100.0, 0.0, 5.0, 10.0, 1e30, np.nan]], dtype=np.float32)
    out = apply(values, 0.0, 10.0, lut)
    assert out.tolist() == [[0, 0, 127, 254, 254, NAN_INDEX]]


def test_histogram_equalisation_is_the_sample_cdf() -> None:
    rng = np.random.default_rng(1)
    sample = rng.exponential(1.0, 100_000)
    vmin, vmax = 0.0, 5.0
    y = stretch_values("histequ", X, sample=sample, limits=(vmin, vmax))
    inside = sample[(sample >= vmin) & (sample <= vmax)]
    expected = np.array([(inside <= vmin + x * (vmax - vmin)).mean() for x in X])
    np.testing.assert_allclose(y, expected, atol=1e-12)
    # equal area: the median of the sample inside the limits maps to the middle of the palette
    idx = apply(
        np.array([np.median(inside)], np.float32),
        vmin,
        vmax,
        lookup_table("histequ", sample=sample, limits=(vmin, vmax)),
    )
    assert abs(int(idx[0]) - 127) <= 1


def test_table_has_one_nan_entry() -> None:
    lut = lookup_table("sqrt")
    assert lut.shape == (LUT_SIZE + 1,) and lut[-1] == NAN_INDEX and lut[:-1].max() == 254


@pytest.mark.parametrize(("name", "exponent"), [("nope", None), ("power", -1.0), ("log", 0.0), ("power", float("nan"))])
def test_bad_stretch_parameters(name: str, exponent: float | None) -> None:
    with pytest.raises(InvalidParameter):
        lookup_table(name, exponent)


def test_histequ_needs_a_sample_and_apply_needs_ordered_limits() -> None:
    with pytest.raises(InvalidParameter):
        lookup_table("histequ")
    with pytest.raises(InvalidParameter):
        apply(np.zeros((2, 2), np.float32), 1.0, 1.0, lookup_table("linear"))


def test_every_registered_stretch_is_covered() -> None:
    assert set(STRETCHES) == {*FORMULAS, "histequ"}


def _apply_before_issue_16(values: np.ndarray, vmin: float, vmax: float, lut: np.ndarray) -> np.ndarray:
    """The earlier :func:`apply`, kept here as the reference its faster rewrite must equal."""
    scale = (LUT_SIZE - 1) / (float(vmax) - float(vmin))
    x = np.asarray(values, dtype=np.float32) - np.float32(vmin)
    x *= np.float32(scale)
    x += np.float32(0.5)
    np.clip(x, 0, LUT_SIZE - 1, out=x)
    np.nan_to_num(x, copy=False, nan=LUT_SIZE)
    return lut[x.astype(np.int32)]


@pytest.mark.parametrize("dtype", ["f4", ">f4", "f8", ">f8", "i2", ">i4", "u1"])
@pytest.mark.parametrize("name", ["linear", "log", "asinh", "histequ"])
def test_apply_equals_the_earlier_implementation_index_for_index(dtype: str, name: str) -> None:
    rng = np.random.default_rng(16)
    lut = lookup_table(name, sample=rng.normal(100, 5, 5000), limits=(90.0, 130.0))
    for _ in range(5):
        raw = rng.normal(100, 20, size=(257, 131))
        if np.dtype(dtype).kind == "f":
            values = raw.astype(dtype)
            values.flat[rng.integers(0, values.size, 500)] = np.nan
            values.flat[rng.integers(0, values.size, 20)] = np.inf
            values.flat[rng.integers(0, values.size, 20)] = -np.inf
        else:
            values = np.clip(raw, 0, 255).astype(dtype)
        # limits straddling the data, rounding boundaries included (vmax - vmin not a power of 2)
        for vmin, vmax in ((90.0, 130.0), (-3.3, 301.7), (99.999, 100.001), (70, 71)):
            got = apply(values, vmin, vmax, lut)
            assert got.dtype == np.uint8 and got.shape == values.shape
            np.testing.assert_array_equal(got, _apply_before_issue_16(values, vmin, vmax, lut))
