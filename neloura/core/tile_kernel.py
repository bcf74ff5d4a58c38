"""Physical values to the rows of a palette PNG in one compiled pass (issue 16).

:func:`neloura.core.stretch.apply` maps a tile through the stretch table in five numpy passes,
and :func:`neloura.core.encode.encode_png` copies the indices once more into the PNG rows (a
filter byte before each row). Each numpy call takes the GIL back, so with a request being
parsed beside it a render thread spent more time waiting for the GIL than computing. This
kernel, compiled by numba without the GIL (``nogil``), computes the same indices with the same
float32 arithmetic in the same order and writes them straight into the PNG rows:
``tests/core/test_tile_kernel.py`` checks it equal to ``apply`` + the row layout byte for byte,
and ``benchmarks/bench_tiles.py`` measures the gain.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neloura.core.stretch import LUT_SIZE
from neloura.errors import InvalidParameter


def _fill_rows(values: np.ndarray, vmin: np.float32, scale: np.float32, lut: np.ndarray, rows: np.ndarray) -> None:
    top = np.float32(LUT_SIZE - 1)
    nan_entry = LUT_SIZE
    half = np.float32(0.5)
    zero = np.float32(0.0)
    height, width = values.shape
    for i in range(height):
        rows[i, 0] = 0  # PNG filter type: none
        for j in range(width):
            x = (values[i, j] - vmin) * scale + half  # float32 throughout, as apply()
            if x != x:  # NaN (a NaN value, or inf - inf)
                rows[i, j + 1] = lut[nan_entry]
                continue
            if x < zero:
                x = zero
            elif x > top:
                x = top
            rows[i, j + 1] = lut[np.int32(x)]


try:  # compiled once, then loaded from numba's cache (next to this file, or the user's cache folder)
    _fill_rows_compiled = njit(nogil=True, cache=True)(_fill_rows)
except RuntimeError:  # no writable cache folder (a read-only install without a home): compile each start
    _fill_rows_compiled = njit(nogil=True)(_fill_rows)


def png_rows(values: np.ndarray, vmin: float, vmax: float, lut: np.ndarray) -> np.ndarray:
    """The ``(height, width + 1)`` uint8 rows of the palette PNG of ``values`` (float32, row 0 =
    top): a 0 filter byte, then the palette index of each value through the stretch table ``lut``
    (:func:`neloura.core.stretch.lookup_table`), exactly as ``stretch.apply`` maps it."""
    if not vmax > vmin:
        raise InvalidParameter(f"vmin ({vmin}) must be smaller than vmax ({vmax})")
    values = np.asarray(values, dtype=np.float32)
    scale = np.float32((LUT_SIZE - 1) / (float(vmax) - float(vmin)))
    rows = np.empty((values.shape[0], values.shape[1] + 1), dtype=np.uint8)
    _fill_rows_compiled(values, np.float32(vmin), scale, lut, rows)
    return rows


def warm() -> None:
    """Compile (or load from numba's cache) the kernel now, not on the first tile: for contiguous
    values and for views (a level's window, the flipped rows of the file)."""
    values, lut = np.zeros((2, 2), np.float32), np.zeros(LUT_SIZE + 1, np.uint8)
    png_rows(values, 0.0, 1.0, lut)
    png_rows(values[::-1], 0.0, 1.0, lut)
