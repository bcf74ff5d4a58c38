"""Deep Zoom geometry: levels, grid, edge tiles, display orientation."""

from __future__ import annotations

import math

import pytest

from neloura.core.tiles import Pyramid, max_level
from neloura.errors import InvalidParameter


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(1, 1, 0), (2, 1, 1), (3, 3, 2), (256, 100, 8), (257, 10, 9), (1000, 600, 10), (16384, 16384, 14)],
)
def test_max_level_is_ceil_log2_of_the_largest_side(width: int, height: int, expected: int) -> None:
    assert max_level(width, height) == expected
    if max(width, height) > 1:
        assert expected == math.ceil(math.log2(max(width, height)))


def test_level_zero_is_one_pixel_and_top_level_is_full_resolution() -> None:
    g = Pyramid(1000, 600)
    assert g.level_size(0) == (1, 1)
    assert g.level_size(g.max_level) == (1000, 600)
    assert g.factor(g.max_level) == 1
    # OpenSeadragon: level size = ceil(size / 2**(max_level - level))
    for level in range(g.max_level + 1):
        k = 2 ** (g.max_level - level)
        assert g.level_size(level) == (math.ceil(1000 / k), math.ceil(600 / k))


def test_edge_tiles_are_smaller_not_padded() -> None:
    g = Pyramid(1000, 600, 256)
    assert g.grid(10) == (4, 3)
    last = g.tile(10, 3, 2)
    assert (last.width, last.height) == (1000 - 768, 600 - 512)
    assert (last.x0, last.x1, last.y0, last.y1) == (768, 1000, 512, 600)
    # level 9 is 500 x 300
    assert g.grid(9) == (2, 2)
    assert (g.tile(9, 1, 1).width, g.tile(9, 1, 1).height) == (500 - 256, 300 - 256)


def test_tile_row_zero_shows_the_top_rows_of_the_array() -> None:
    g = Pyramid(1000, 600, 256)
    top = g.tile(10, 0, 0)
    assert g.array_rows(top) == (600 - 256, 600)  # the last FITS rows: top of the display
    bottom = g.tile(10, 0, 2)
    assert g.array_rows(bottom) == (0, 600 - 512)  # FITS row 0 is in the bottom tile row


@pytest.mark.parametrize(("level", "col", "row"), [(11, 0, 0), (-1, 0, 0), (10, 4, 0), (10, 0, 3), (10, -1, 0)])
def test_tiles_outside_the_pyramid_are_invalid_parameters(level: int, col: int, row: int) -> None:
    with pytest.raises(InvalidParameter):
        Pyramid(1000, 600).tile(level, col, row)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        Pyramid(0, 10)
    with pytest.raises(InvalidParameter):
        max_level(0, 0)
