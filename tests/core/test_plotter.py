"""The plot payload: round trip, alignment, non-finite values as NaN, length checks."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.plotter import HEADER_BYTES, decode_plot, pack_plot
from neloura.errors import InvalidParameter


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_round_trip_and_alignment(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = np.sort(rng.choice(10 * n + 1, n, replace=False))
    x, y = rng.normal(size=n), rng.normal(size=n)
    color = rng.normal(size=n)
    if n:
        x[0], y[-1] = np.inf, -np.inf
    payload = pack_plot(rows, x, y, color, None, catalog_rows=10 * n + 1)
    assert len(payload) % 8 == 0
    out = decode_plot(payload)
    np.testing.assert_array_equal(out.rows, rows)
    np.testing.assert_array_equal(out.x, np.where(np.isfinite(x), x, np.nan))
    np.testing.assert_array_equal(out.y, np.where(np.isfinite(y), y, np.nan))
    np.testing.assert_array_equal(out.color, color.astype(np.float32))
    assert out.size is None and out.catalog_rows == 10 * n + 1
    x_at = HEADER_BYTES + 4 * n + (-(HEADER_BYTES + 4 * n) % 8)
    assert x_at % 8 == 0  # Float64Array in the browser needs it


def test_lengths_must_agree() -> None:
    with pytest.raises(InvalidParameter, match="y: 2 values for 3 rows"):
        pack_plot(np.arange(3), np.zeros(3), np.zeros(2), catalog_rows=3)
