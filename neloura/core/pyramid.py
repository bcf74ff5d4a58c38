"""NaN-aware block averaging for the reduced levels of the Deep Zoom pyramid.

A level of reduction ``k`` holds, for each level pixel, the mean of the finite physical values
of the ``k x k`` block of display pixels it covers (NaN when the block has none). Blocks start
at the top-left of the display (FITS row ``height - 1``), as OpenSeadragon draws them; edge
blocks are partial. Never every k-th pixel: every source pixel contributes.

Levels are built as a cascade with exact weights: the first halving reads the source once, in
strips, and keeps the sums and counts of finite values; each next level adds up 2x2 blocks of
those, so every level is the direct mean over its whole ``k x k`` block (up to float32
rounding). Level arrays are float32 in DISPLAY orientation (row 0 = top of the display).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np

# read(y0, y1, x0, x1) -> float32 physical values of data[y0:y1, x0:x1], FITS order (row 0 = bottom),
# as a new array the caller may modify
Reader = Callable[[int, int, int, int], np.ndarray]
# map(function, strip starts) -> iterable of results: the built-in map, or a thread pool's map
MapStrips = Callable[[Callable[[int], None], Iterable[int]], Iterable[None]]
# alloc(factor, shape) -> a float32 array to hold that level (e.g. a memory-mapped file)
Alloc = Callable[[int, tuple[int, int]], np.ndarray]


def _empty(factor: int, shape: tuple[int, int]) -> np.ndarray:
    return np.empty(shape, dtype=np.float32)


STRIP_ROWS = 256


def _count_dtype(factor: int) -> type[np.unsignedinteger]:
    n = factor * factor
    if n <= np.iinfo(np.uint8).max:
        return np.uint8
    if n <= np.iinfo(np.uint16).max:
        return np.uint16
    return np.uint32


def _pad_even(values: np.ndarray, fill: float | int) -> np.ndarray:
    rows, cols = values.shape
    if rows % 2 == 0 and cols % 2 == 0:
        return values
    out = np.full((rows + rows % 2, cols + cols % 2), fill, dtype=values.dtype)
    out[:rows, :cols] = values
    return out


def _sum4(a: np.ndarray, dtype: type[np.generic]) -> np.ndarray:
    """Sums of 2x2 blocks: row pairs first (contiguous, fast), then column pairs on half the data."""
    rows = np.add(a[0::2], a[1::2], dtype=dtype)
    return np.add(rows[:, 0::2], rows[:, 1::2], dtype=dtype)


def _divide(total: np.ndarray, count: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None:
        out = np.empty(total.shape, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(total, count, out=out, dtype=np.float32)
    return out


def halve_values(values: np.ndarray, *, overwrite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """2x2 sums of the finite values of a float array (display orientation) and their counts.

    ``overwrite=True`` lets it zero the non-finite values of ``values`` in place (saves a copy).
    """
    values = _pad_even(np.asarray(values, dtype=np.float32), np.nan)
    finite = np.isfinite(values)
    zeroed = values if overwrite and values.flags.writeable else values.copy()
    zeroed[~finite] = 0  # boolean assignment: several times faster than np.where when NaN are few
    return _sum4(zeroed, np.float32), _sum4(finite.view(np.uint8), np.uint8)


def halve_sums(total: np.ndarray, count: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Combine 2x2 blocks of ``(sum, count)`` into the level of reduction ``factor`` (the new
    level's factor, which sets the counts' integer type)."""
    total = _pad_even(total, 0)
    count = _pad_even(count, 0)
    return _sum4(total, np.float32), _sum4(count, _count_dtype(factor))


def finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """Smallest and largest finite value (NaN and +/-inf ignored); None when there is none."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slice
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))  # fast; infinities are rare
    if not (np.isfinite(lo) and np.isfinite(hi)):
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return None
        lo, hi = float(finite.min()), float(finite.max())
    return lo, hi


def halve_source(
    read: Reader,
    width: int,
    height: int,
    strip_rows: int = STRIP_ROWS,
    *,
    map_strips: MapStrips = map,
    alloc: Alloc = _empty,
    ranges: list[tuple[float, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The level of reduction 2 straight from the source, reading each pixel once in strips of
    display rows, and the sums and counts of reduction 4 made from each strip on the way (so the
    sums of reduction 2 never exist whole). All in display orientation. Each strip's
    :func:`finite_range` is appended to ``ranges`` when given (the whole plane's extremes for
    the cost of a few per cent of the pass).

    Strips are independent: ``map_strips`` may be a thread pool's ``map`` (numpy and the reads
    release the GIL), provided ``read`` is thread-safe.
    """
    strip_rows = max(4, strip_rows - strip_rows % 4)
    h2, w2 = -(-height // 2), -(-width // 2)
    h4, w4 = -(-h2 // 2), -(-w2 // 2)
    mean2 = alloc(2, (h2, w2))
    total4 = np.empty((h4, w4), dtype=np.float32)
    count4 = np.empty((h4, w4), dtype=np.uint8)

    def strip(d0: int) -> None:
        d1 = min(d0 + strip_rows, height)
        values = read(height - d1, height - d0, 0, width)[::-1]  # display rows d0..d1
        if ranges is not None:
            extremes = finite_range(values)
            if extremes is not None:
                ranges.append(extremes)  # list.append is atomic: strips may run in threads
        t2, c2 = halve_values(values, overwrite=True)
        _divide(t2, c2, out=mean2[d0 // 2 : d0 // 2 + t2.shape[0]])
        t4, c4 = halve_sums(t2, c2, 4)
        total4[d0 // 4 : d0 // 4 + t4.shape[0]] = t4
        count4[d0 // 4 : d0 // 4 + c4.shape[0]] = c4

    for _ in map_strips(strip, range(0, height, strip_rows)):
        pass
    return mean2, total4, count4


def build_levels(
    read: Reader,
    width: int,
    height: int,
    *,
    map_strips: MapStrips = map,
    alloc: Alloc = _empty,
    ranges: list[tuple[float, float]] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(factor, level)`` for factor 2, 4, 8... down to a 1x1 level.

    Each level is float32 in display orientation, shape ``(ceil(height/factor), ceil(width/factor))``:
    the mean of the finite values of each block (NaN when none). The source is read once (for
    factors 2 and 4); each next level adds up the sums and counts of the previous one, so every
    mean is over the whole block, weighted exactly. ``alloc`` provides each level's array (plain
    memory by default; a memory-mapped file keeps a huge level out of the heap). ``ranges``
    collects the source's finite extremes per strip (see :func:`halve_source`), complete once
    factor 2 is yielded.
    """
    if max(width, height) <= 1:
        if ranges is not None:
            extremes = finite_range(read(0, height, 0, width))
            ranges.extend([extremes] if extremes else [])
        return
    mean2, total, count = halve_source(read, width, height, map_strips=map_strips, alloc=alloc, ranges=ranges)
    yield 2, mean2
    if max(mean2.shape) <= 1:
        return
    factor = 4
    yield factor, _divide(total, count, out=alloc(factor, total.shape))
    while max(total.shape) > 1:
        factor *= 2
        total, count = halve_sums(total, count, factor)
        yield factor, _divide(total, count, out=alloc(factor, total.shape))


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Direct NaN-aware mean of the ``factor x factor`` blocks of a 2-D array, blocks starting at
    its row 0, column 0 (edge blocks partial; a block without a finite value is NaN), as float32.

    Reads everything at once: the reference the level cascade is tested against, and the block
    mean of thumbnails (one band of rows at a time). Sums accumulate in float64; the padded copy
    keeps the input precision (float32 stays float32)."""
    rows, cols = values.shape
    out_h, out_w = -(-rows // factor), -(-cols // factor)
    finite = np.isfinite(values)
    padded = np.zeros((out_h * factor, out_w * factor), dtype=np.promote_types(values.dtype, np.float32))
    np.copyto(padded[:rows, :cols], values, where=finite)
    counted = np.zeros(padded.shape, dtype=bool)
    counted[:rows, :cols] = finite
    shape = (out_h, factor, out_w, factor)
    total = padded.reshape(shape).sum(axis=(1, 3), dtype=np.float64)
    count = counted.reshape(shape).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(np.float32)
