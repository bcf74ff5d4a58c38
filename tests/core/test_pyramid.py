"""Block-averaged levels against numpy: NaN-aware means of whole blocks, never every k-th pixel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from neloura.core.pyramid import block_mean, build_levels, finite_range, halve_source, halve_values
from neloura.core.tiles import Pyramid


def _reader(data: np.ndarray):
    reads: list[tuple[int, int, int, int]] = []

    def read(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        reads.append((y0, y1, x0, x1))
        return data[y0:y1, x0:x1].astype(np.float32)

    return read, reads


def _numpy_level(data: np.ndarray, k: int) -> np.ndarray:
    """Independent reference: nanmean over each k x k block of the display (flipped) array."""
    display = data[::-1].astype(np.float64)
    rows, cols = display.shape
    out = np.full((-(-rows // k), -(-cols // k)), np.nan)
    for j in range(out.shape[0]):
        for i in range(out.shape[1]):
            block = display[j * k : (j + 1) * k, i * k : (i + 1) * k]
            if np.isfinite(block).any():
                out[j, i] = np.nanmean(block)
    return out


@pytest.mark.parametrize(("height", "width"), [(64, 64), (37, 53), (100, 1), (1, 77)])
def test_every_level_equals_numpy_block_nanmean(height: int, width: int) -> None:
    rng = np.random.default_rng(height * 1000 + width)
    data = rng.normal(100, 10, size=(height, width)).astype(np.float32)
    data[rng.random(data.shape) < 0.3] = np.nan
    read, _ = _reader(data)
    levels = dict(build_levels(read, width, height))
    g = Pyramid(width, height)
    assert sorted(levels) == [2**i for i in range(1, g.max_level + 1)]
    for level in range(g.max_level):
        k = g.factor(level)
        w, h = g.level_size(level)
        assert levels[k].shape == (h, w)
        np.testing.assert_allclose(levels[k], _numpy_level(data, k), rtol=2e-6, equal_nan=True)


def test_level_is_not_every_kth_pixel() -> None:
    data = np.zeros((8, 8), dtype=np.float32)
    data[1::2, 1::2] = 4.0  # every 2nd pixel sampled from 0 would see only zeros
    read, _ = _reader(data)
    levels = dict(build_levels(read, 8, 8))
    np.testing.assert_array_equal(levels[2], np.ones((4, 4), np.float32))


def test_blocks_start_at_the_top_of_the_display() -> None:
    # 3 rows: the display's top row is FITS row 2; the first level row averages FITS rows 2 and 1
    data = np.array([[1.0, 1.0], [2.0, 2.0], [6.0, 6.0]], dtype=np.float32)
    levels = dict(build_levels(_reader(data)[0], 2, 3))
    np.testing.assert_allclose(levels[2], [[4.0], [1.0]])


def test_nan_blocks_stay_nan_and_partial_blocks_ignore_nan() -> None:
    data = np.full((4, 4), np.nan, dtype=np.float32)
    data[0, 0] = 8.0  # FITS row 0 = bottom display row
    levels = dict(build_levels(_reader(data)[0], 4, 4))
    assert np.isnan(levels[2][0]).all()
    assert levels[2][1, 0] == 8.0 and np.isnan(levels[2][1, 1])
    assert levels[4][0, 0] == 8.0  # weighted by counts, not a mean of means


def test_weights_make_the_cascade_exact() -> None:
    data = np.full((4, 4), np.nan, dtype=np.float32)
    data[3, 0] = 1.0  # top-left 2x2 block: one value
    data[3, 2:] = 4.0  # top-right block: two values
    data[2, 2:] = 4.0
    levels = dict(build_levels(_reader(data)[0], 4, 4))
    assert levels[4][0, 0] == pytest.approx((1 + 4 * 4) / 5)  # mean of means would give 2.5


def test_source_is_read_once_in_strips() -> None:
    data = np.arange(600 * 70, dtype=np.float32).reshape(600, 70)
    read, reads = _reader(data)
    halve_source(read, 70, 600, strip_rows=256)
    covered = np.zeros(600, int)
    for y0, y1, x0, x1 in reads:
        assert (x0, x1) == (0, 70)
        covered[y0:y1] += 1
    assert (covered == 1).all()


def test_halve_values_counts_finite_pixels() -> None:
    values = np.array([[1, np.nan, 3], [np.inf, 5, 6]], dtype=np.float32)
    total, count = halve_values(values)
    np.testing.assert_array_equal(count, [[2, 2]])
    np.testing.assert_allclose(total, [[6.0, 9.0]])


@pytest.mark.parametrize("factor", [1, 2, 3, 7])
def test_block_mean_equals_numpy_nanmean(factor: int) -> None:
    rng = np.random.default_rng(factor)
    a = rng.normal(size=(37, 53)).astype("f4")
    a[:8, :8] = np.nan
    a[rng.random(a.shape) < 0.1] = np.nan
    hp, wp = -(-37 // factor) * factor, -(-53 // factor) * factor
    padded = np.full((hp, wp), np.nan, "f4")
    padded[:37, :53] = a
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmean(padded.reshape(hp // factor, factor, wp // factor, factor), axis=(1, 3))
    np.testing.assert_allclose(block_mean(a, factor), expected, rtol=1e-6, atol=1e-6)


def test_block_mean_reference_matches_the_cascade() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(size=(50, 40)).astype(np.float32)
    data[:10] = np.nan
    levels = dict(build_levels(_reader(data)[0], 40, 50))
    for k in (2, 4, 8, 16):
        np.testing.assert_allclose(levels[k], block_mean(data[::-1], k), rtol=2e-6, atol=1e-6, equal_nan=True)


def test_strips_in_parallel_give_the_same_levels() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    data = rng.normal(size=(1030, 700)).astype(np.float32)
    data[rng.random(data.shape) < 0.1] = np.nan
    serial = dict(build_levels(_reader(data)[0], 700, 1030))
    with ThreadPoolExecutor(3) as pool:
        parallel = dict(build_levels(_reader(data)[0], 700, 1030, map_strips=pool.map))
    assert serial.keys() == parallel.keys()
    for k in serial:
        np.testing.assert_array_equal(serial[k], parallel[k])


def test_halve_values_leaves_its_input_alone_unless_allowed() -> None:
    values = np.array([[1, np.nan], [np.inf, 5]], dtype=np.float32)
    kept = values.copy()
    total, count = halve_values(values)
    np.testing.assert_array_equal(values, kept)
    assert total[0, 0] == 6.0 and count[0, 0] == 2
    total, count = halve_values(values, overwrite=True)
    assert total[0, 0] == 6.0 and count[0, 0] == 2
    assert np.isfinite(values).all()  # zeroed in place


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (700, 513)])
def test_the_source_pass_reports_the_finite_extremes(shape: tuple[int, int]) -> None:
    """``ranges`` gathers every strip's finite min/max: NaN and infinities ignored, all-NaN strips
    skipped, the whole plane's extremes known once factor 2 is out (issue 16's minmax)."""
    rng = np.random.default_rng(11)
    data = rng.normal(0, 1, shape).astype(np.float32)
    if shape[0] > 300:
        data[:300] = np.nan  # whole strips without data
        data[400, 7] = np.inf
        data[401, 9] = -np.inf
        data[650, 500] = 1e6  # off any regular sample grid
    ranges: list[tuple[float, float]] = []
    levels = build_levels(lambda y0, y1, x0, x1: data[y0:y1, x0:x1].copy(), shape[1], shape[0], ranges=ranges)
    next(levels, None)  # factor 2 (or nothing for one pixel)
    finite = data[np.isfinite(data)]
    assert (min(r[0] for r in ranges), max(r[1] for r in ranges)) == (float(finite.min()), float(finite.max()))
    assert finite_range(np.full((4, 4), np.nan, np.float32)) is None
