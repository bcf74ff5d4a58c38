"""Colorbar ticks: rounded values at the positions the stretch gives them (the tiles' own grid)."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.display import colorbar_ticks
from neloura.core.stretch import normalised_grid, stretch_values


@pytest.mark.parametrize(
    ("stretch", "vmin", "vmax"), [("linear", 0.1372, 2.371), ("log", 0.1372, 2.371), ("asinh", -0.03, 5.2)]
)
def test_ticks_are_rounded_inside_the_limits_and_placed_by_the_stretch(stretch: str, vmin: float, vmax: float) -> None:
    ticks = colorbar_ticks(stretch, vmin, vmax, 5)
    values = np.array([v for _, v in ticks])
    positions = np.array([p for p, _ in ticks])
    assert len(ticks) >= 4
    assert np.all(np.diff(values) > 0) and values[0] >= vmin and values[-1] <= vmax
    for v in values:  # at most two significant digits here (issue 14: "ticks not rounded")
        assert float(f"{v:.2g}") == pytest.approx(v, abs=1e-12)
    grid = normalised_grid()
    expected = np.interp(
        (values - vmin) / (vmax - vmin), grid, stretch_values(stretch, grid, None, limits=(vmin, vmax))
    )
    np.testing.assert_allclose(positions, expected, atol=1e-9)


def test_round_limits_keep_their_ticks() -> None:
    assert colorbar_ticks("linear", 0.0, 2.0, 5) == [(0.0, 0.0), (0.25, 0.5), (0.5, 1.0), (0.75, 1.5), (1.0, 2.0)]
