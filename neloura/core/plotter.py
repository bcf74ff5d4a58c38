"""Plot columns: catalog values packed into one compact columnar payload for the browser's plotter.

Binary layout (version 1, little-endian; offsets in bytes, ``n`` points)::

    0   4s       magic b"NLPL"
    4   uint16   version (1)
    6   uint16   flags: 1 = y array, 2 = colour array, 4 = size array
    8   uint32   n: points in this payload (rows that passed the filter, file order)
    12  uint32   rows of the catalog
    16  uint32   row[n]    0-based row index in the catalog file (ascending)
        padding to a multiple of 8 bytes
        float64  x[n]
        float64  y[n]      (flag 1)
        float32  color[n]  (flag 2)
        float32  size[n]   (flag 4)
        zero padding to a multiple of 8 bytes

Missing values (nulls, NaN, +/-inf) are NaN: 12 bytes per point for a histogram, 20 for a
scatter, 28 with colour and size. Every block starts on its element size, so the browser wraps
it in typed arrays without copying.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from neloura.errors import InvalidParameter

MAGIC = b"NLPL"
VERSION = 1
FLAG_Y = 1
FLAG_COLOR = 2
FLAG_SIZE = 4
HEADER = struct.Struct("<4sHHII")
HEADER_BYTES = HEADER.size  # 16


@dataclass(frozen=True)
class PlotColumns:
    """Decoded plot payload (for tests and scripts); ``y``, ``color``, ``size`` may be None."""

    rows: np.ndarray
    x: np.ndarray
    y: np.ndarray | None
    color: np.ndarray | None
    size: np.ndarray | None
    catalog_rows: int


def _put(buffer: bytearray, offset: int, values: np.ndarray, dtype: str) -> int:
    """Write ``values`` as ``dtype`` into ``buffer`` at ``offset`` (one copy, in place), non-finite
    values as NaN; the offset after them."""
    n = int(np.asarray(values).size)
    block = np.frombuffer(buffer, dtype=dtype, count=n, offset=offset)
    np.copyto(block, np.asarray(values).ravel(), casting="unsafe")
    if block.dtype.kind == "f":
        block[np.isinf(block)] = np.nan
    return offset + block.nbytes


def pack_plot(
    rows: np.ndarray,
    x: np.ndarray,
    y: np.ndarray | None = None,
    color: np.ndarray | None = None,
    size: np.ndarray | None = None,
    *,
    catalog_rows: int,
) -> bytes:
    """Pack 0-based row indices and their values into the payload described in the module doc
    (written in place into one buffer: a million points with colour cost one copy of each column)."""
    n = int(np.asarray(rows).size)
    for label, values in (("x", x), ("y", y), ("color", color), ("size", size)):
        if values is not None and np.asarray(values).size != n:
            raise InvalidParameter(f"{label}: {np.asarray(values).size} values for {n} rows")
    flags = (FLAG_Y if y is not None else 0) | (FLAG_COLOR if color is not None else 0)
    flags |= FLAG_SIZE if size is not None else 0
    start = HEADER_BYTES + 4 * n
    start += -start % 8
    floats = [(v, "<f8") for v in (x, y) if v is not None] + [(v, "<f4") for v in (color, size) if v is not None]
    total = start + sum(n * int(dtype[-1]) for _, dtype in floats)
    buffer = bytearray(total + (-total % 8))
    HEADER.pack_into(buffer, 0, MAGIC, VERSION, flags, n, int(catalog_rows))
    _put(buffer, HEADER_BYTES, np.asarray(rows), "<u4")
    offset = start
    for values, dtype in floats:
        offset = _put(buffer, offset, values, dtype)
    return bytes(buffer)


def decode_plot(data: bytes) -> PlotColumns:
    """The inverse of :func:`pack_plot`."""
    magic, version, flags, n, catalog_rows = HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != VERSION:
        raise InvalidParameter("not a plot payload")
    at = HEADER_BYTES
    rows = np.frombuffer(data, "<u4", n, at)
    at += 4 * n
    at += -at % 8
    x = np.frombuffer(data, "<f8", n, at)
    at += 8 * n
    y = color = size = None
    if flags & FLAG_Y:
        y = np.frombuffer(data, "<f8", n, at)
        at += 8 * n
    if flags & FLAG_COLOR:
        color = np.frombuffer(data, "<f4", n, at)
        at += 4 * n
    if flags & FLAG_SIZE:
        size = np.frombuffer(data, "<f4", n, at)
    return PlotColumns(rows, x, y, color, size, int(catalog_rows))
