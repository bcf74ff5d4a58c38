"""Data tiles: the physical values of a Deep Zoom tile as 16-bit codes, for a renderer in the page
that applies limits, stretch and colormap itself (a display change then needs no tile request).

Encoding ("scaled uint16", asinh-companded): with ``m`` the tile's median finite value and ``s``
a robust spread (1.4826 x the median absolute deviation), each finite value ``v`` becomes
``u = asinh((v - m) / s)``, quantised evenly between the tile's smallest and largest ``u``:

    code = rint((u - u0) / du),  0 <= code <= MAX_CODE;  v ~= m + s * sinh(u0 + code * du)

Near the tile's typical level the step is ``s * du`` (linear, like a scaled integer); far from
it the error is relative (like a float), so a tile holding faint sky and a bright star keeps
both: the step is about 1e-4 of ``|v - m|`` in the worst case, where float16 would keep 5e-4
and a linear uint16 scale over the star's range would lose the sky. Three codes are reserved:
:data:`NAN_CODE` (NaN/blank), :data:`POSINF_CODE`, :data:`NEGINF_CODE`.

Payload (little-endian), before HTTP compression:

====== ======== ==============================================================================
offset type     content
====== ======== ==============================================================================
0      4 bytes  magic ``NLD1``
4      uint16   width (columns)
6      uint16   height (rows; row 0 is the TOP of the display, as in the PNG tiles)
8      float64  ``m``
16     float64  ``s``
24     float64  ``u0``
32     float64  ``du``
40     bytes    the high bytes of the ``width * height`` codes (row-major), then their low bytes
====== ======== ==============================================================================

The byte planes (a "shuffle") let deflate find the runs of the slowly varying high bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"NLD1"
HEADER = struct.Struct("<4sHHdddd")
NAN_CODE = 65535
POSINF_CODE = 65534
NEGINF_CODE = 65533
MAX_CODE = 65532  # largest code of a finite value
MEDIA_TYPE = "application/x-neloura-data-tile"
# deflate level for the HTTP body: measured on 256x256 sky tiles, level 1 is within 2% of
# level 6 in size and three times faster
DEFLATE_LEVEL = 1


@dataclass(frozen=True)
class DataTile:
    """A decoded data tile: ``codes`` (height, width) uint16 and the scale that maps them back."""

    codes: np.ndarray
    m: float
    s: float
    u0: float
    du: float

    def values(self) -> np.ndarray:
        """Physical values (float64; NaN and +/-inf restored)."""
        codes = self.codes.astype(np.float64)
        out = self.m + self.s * np.sinh(self.u0 + codes * self.du)
        out[self.codes == NAN_CODE] = np.nan
        out[self.codes == POSINF_CODE] = np.inf
        out[self.codes == NEGINF_CODE] = -np.inf
        return out


def _scale(finite: np.ndarray) -> tuple[float, float]:
    """The centre ``m`` and spread ``s`` of the companding (finite values, not empty)."""
    m = float(np.median(finite))
    deviation = np.abs(finite - np.float32(m))
    s = 1.4826 * float(np.median(deviation))
    extent = float(deviation.max())
    # a constant tile, or one whose values are mostly equal: any positive s works; it must not be
    # so small that it is below the float32 resolution of the values themselves
    floor = max(abs(m) * 1e-7, extent * 1e-6, float(np.finfo(np.float32).tiny))
    return m, (s if s > floor else floor)


def quantise(values: np.ndarray) -> DataTile:
    """Encode a 2-D array of physical values (any float dtype) as a :class:`DataTile`."""
    array = np.asarray(values, dtype=np.float32)  # float32 keeps 1e-7 of u, far below a step
    if array.ndim != 2:
        raise ValueError("a data tile is a 2-D array")
    codes = np.full(array.shape, NAN_CODE, dtype=np.uint16)
    finite = np.isfinite(array)
    codes[array == np.inf] = POSINF_CODE
    codes[array == -np.inf] = NEGINF_CODE
    if not finite.any():
        return DataTile(codes, 0.0, 1.0, 0.0, 0.0)
    inside = array[finite]
    m, s = _scale(inside)
    u = inside - np.float32(m)
    u *= np.float32(1.0 / s)
    np.arcsinh(u, out=u)
    u0, u1 = float(u.min()), float(u.max())
    du = (u1 - u0) / MAX_CODE
    if du > 0:
        u -= np.float32(u0)
        u *= np.float32(1.0 / du)
        codes[finite] = np.rint(u)
    else:
        codes[finite] = 0
    return DataTile(codes, m, s, u0, du)


def pack(tile: DataTile) -> bytes:
    """The payload of a data tile (see the module docstring), uncompressed."""
    height, width = tile.codes.shape
    little = tile.codes.astype("<u2", copy=False).view(np.uint8).reshape(-1, 2)
    header = HEADER.pack(MAGIC, width, height, tile.m, tile.s, tile.u0, tile.du)
    return header + little[:, 1].tobytes() + little[:, 0].tobytes()


def unpack(payload: bytes) -> DataTile:
    """Inverse of :func:`pack` (for tests and tools)."""
    magic, width, height, m, s, u0, du = HEADER.unpack_from(payload)
    if magic != MAGIC or len(payload) != HEADER.size + 2 * width * height:
        raise ValueError("not a data tile")
    planes = np.frombuffer(payload, np.uint8, offset=HEADER.size).reshape(2, height * width)
    codes = (planes[0].astype(np.uint16) << 8) | planes[1]
    return DataTile(codes.reshape(height, width), m, s, u0, du)


def gzip_bytes(payload: bytes) -> bytes:
    """``payload`` as a gzip member (HTTP ``Content-Encoding: gzip``)."""
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, 16 + 15)
    return compressor.compress(payload) + compressor.flush()


def encode_tile(values: np.ndarray, *, gzip: bool = True) -> bytes:
    """The HTTP body of the data tile of ``values``: packed, then gzip-compressed when ``gzip``."""
    payload = pack(quantise(values))
    return gzip_bytes(payload) if gzip else payload
