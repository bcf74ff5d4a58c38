"""Deep Zoom (OpenSeadragon) tile geometry.

Conventions (the same as OpenSeadragon's ``DziTileSource``):

* ``max_level = ceil(log2(max(width, height)))`` is full resolution; level ``L`` is reduced by
  ``factor = 2 ** (max_level - L)``, so level 0 is 1x1 pixel.
* A level is ``ceil(width / factor)`` by ``ceil(height / factor)`` pixels, cut into square tiles of
  ``tile_size`` without overlap; edge tiles are smaller, never padded.
* Display orientation: FITS row 0 is at the BOTTOM of the displayed image. Tile row 0 is the top
  of the display, so at full resolution tile ``(col, 0)`` shows the LAST rows of the array,
  flipped vertically. Reduced levels are block averaged from the top-left of the display, so a
  level pixel covers exactly the display pixels OpenSeadragon draws it over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from neloura.errors import InvalidParameter


def max_level(width: int, height: int) -> int:
    """Deep Zoom level of full resolution (0 for a 1x1 image)."""
    size = max(int(width), int(height))
    if size < 1:
        raise InvalidParameter(f"image size must be positive, got {width}x{height}")
    return math.ceil(math.log2(size)) if size > 1 else 0


@dataclass(frozen=True)
class TileBox:
    """One tile: its reduction ``factor`` and its box in display pixels of its level.

    ``x0:x1`` are columns and ``y0:y1`` display rows (0 = top) of the level image.
    """

    level: int
    col: int
    row: int
    factor: int
    x0: int
    x1: int
    y0: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True)
class Pyramid:
    """Geometry of the Deep Zoom pyramid of a ``width`` x ``height`` image."""

    width: int
    height: int
    tile_size: int = 256

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise InvalidParameter(f"image size must be positive, got {self.width}x{self.height}")
        if self.tile_size < 1:
            raise InvalidParameter(f"tile size must be positive, got {self.tile_size}")

    @cached_property  # asked a dozen times per tile request (factor, level_size, grid, tile)
    def max_level(self) -> int:
        return max_level(self.width, self.height)

    def factor(self, level: int) -> int:
        """Reduction factor of ``level`` (1 at full resolution)."""
        self._check_level(level)
        return 1 << (self.max_level - level)

    def level_size(self, level: int) -> tuple[int, int]:
        """``(width, height)`` of ``level`` in its own pixels."""
        k = self.factor(level)
        return -(-self.width // k), -(-self.height // k)

    def grid(self, level: int) -> tuple[int, int]:
        """``(columns, rows)`` of tiles at ``level``."""
        w, h = self.level_size(level)
        return -(-w // self.tile_size), -(-h // self.tile_size)

    def tile(self, level: int, col: int, row: int) -> TileBox:
        """The box of tile ``(col, row)`` at ``level``; 422 when it does not exist."""
        cols, rows = self.grid(level)
        if not (0 <= col < cols and 0 <= row < rows):
            raise InvalidParameter(
                f"tile {col}_{row} does not exist at level {level} (columns 0..{cols - 1}, rows 0..{rows - 1})"
            )
        w, h = self.level_size(level)
        ts = self.tile_size
        x0, y0 = col * ts, row * ts
        return TileBox(level, col, row, self.factor(level), x0, min(x0 + ts, w), y0, min(y0 + ts, h))

    def array_rows(self, box: TileBox) -> tuple[int, int]:
        """Full-resolution array rows ``y0:y1`` (FITS order, 0 = bottom) under a full-resolution tile."""
        if box.factor != 1:
            raise ValueError("array_rows is for full-resolution tiles")
        return self.height - box.y1, self.height - box.y0

    def _check_level(self, level: int) -> None:
        if not 0 <= level <= self.max_level:
            raise InvalidParameter(f"level {level} is out of range 0..{self.max_level}")
