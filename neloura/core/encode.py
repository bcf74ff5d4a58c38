"""Tile encoding: 8-bit palette PNG (lossless, the default), RGB(A) PNG (composite tiles) and
JPEG (for slow links).

The PNG is written directly (signature, IHDR colour type 3, PLTE, tRNS when the palette has
transparency, one IDAT, IEND): an index image with the colormap as palette is 1 byte per pixel
before compression, a third of RGB, and needs no per-pixel colour work. Rows use PNG filter 0
(none), which the PNG specification recommends for palette images.

The IDAT stream is deflated by ISA-L (``isal``, level 1): a standard zlib stream, 2.5-5x faster
than zlib's own level 1 with the run-length strategy on 256x256 sky tiles (0.14-0.34 vs
0.72-0.88 ms) for the same bytes on noise and within ~8 % on smooth structure (measured for
issue 16; see benchmarks/README.md "Tiles").
"""

from __future__ import annotations

import io
import struct

import numpy as np
from isal import isal_zlib
from PIL import Image

from neloura.core.colormaps import Palette
from neloura.errors import InvalidParameter

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DEFLATE_LEVEL = 1  # ISA-L levels are 0..3; 1 and 2 give the same bytes on tiles, 0 is 40 % larger
FORMATS = ("png", "jpg")
IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the empty IEND chunk and its CRC
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg"}


_PALETTE_CHUNKS: dict[tuple[bytes, bytes], bytes] = {}


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = isal_zlib.crc32(payload, isal_zlib.crc32(kind))
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_png(index: np.ndarray, pal: Palette, *, level: int = PNG_DEFLATE_LEVEL) -> bytes:
    """Palette PNG of a 2-D uint8 index image (row 0 = top); ``level``: ISA-L deflate level 0..3."""
    if index.ndim != 2 or index.dtype != np.uint8:
        raise ValueError("encode_png needs a 2-D uint8 array")
    height, width = index.shape
    rows = np.empty((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type: none
    rows[:, 1:] = index
    return encode_png_rows(rows, pal, level=level)


def encode_png_rows(rows: np.ndarray, pal: Palette, *, level: int = PNG_DEFLATE_LEVEL) -> bytes:
    """Palette PNG of its rows as the IDAT stream holds them before deflate: ``(height, width + 1)``
    uint8, a filter byte (0) then the row's indices (:func:`neloura.core.tile_kernel.png_rows`)."""
    height, width = rows.shape[0], rows.shape[1] - 1
    idat = isal_zlib.compress(np.ascontiguousarray(rows).data, level)
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return b"".join([PNG_SIGNATURE, _chunk(b"IHDR", header), _palette_chunks(pal), _chunk(b"IDAT", idat), IEND])


def _palette_chunks(pal: Palette) -> bytes:
    """PLTE, and tRNS when the palette has transparency: the same for every tile of a display."""
    key = (pal.rgb.tobytes(), pal.alpha.tobytes())
    chunks = _PALETTE_CHUNKS.get(key)
    if chunks is None:
        chunks = _chunk(b"PLTE", key[0])
        if not pal.opaque:
            alpha = pal.alpha
            last = int(np.nonzero(alpha != 255)[0].max()) + 1  # trailing opaque entries may be omitted
            chunks += _chunk(b"tRNS", alpha[:last].tobytes())
        if len(_PALETTE_CHUNKS) >= 256:
            _PALETTE_CHUNKS.clear()
        _PALETTE_CHUNKS[key] = chunks
    return chunks


def encode_rgba(rgba: np.ndarray, *, level: int = PNG_DEFLATE_LEVEL) -> bytes:
    """PNG of an RGBA uint8 image (row 0 = top): colour type 2 (RGB, a quarter smaller) when
    fully opaque, else 6 (RGBA). Filter 0 rows deflated by ISA-L like :func:`encode_png`, for the
    RGB composite tiles (several times faster than PIL's adaptive filtering on noisy sky)."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError("encode_rgba needs an (h, w, 4) uint8 array")
    height, width, _ = rgba.shape
    opaque = bool((rgba[..., 3] == 255).all())
    pixels = rgba[..., :3] if opaque else rgba
    depth = pixels.shape[2]
    rows = np.empty((height, width * depth + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type: none
    rows[:, 1:] = pixels.reshape(height, width * depth)
    idat = isal_zlib.compress(rows.data, level)
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if opaque else 6, 0, 0, 0)
    return b"".join([PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", idat), IEND])


def encode_jpeg(index: np.ndarray, pal: Palette, *, quality: int = 90) -> bytes:
    """JPEG of an index image through its palette (transparent NaN shows as its RGB, black by default)."""
    if not 1 <= quality <= 100:
        raise InvalidParameter(f"JPEG quality must be 1..100, got {quality}")
    rgb = pal.rgb[index]
    out = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def encode(index: np.ndarray, pal: Palette, fmt: str, *, jpeg_quality: int = 90) -> bytes:
    """Encode a tile as ``png`` or ``jpg``."""
    if fmt == "png":
        return encode_png(index, pal)
    if fmt in ("jpg", "jpeg"):
        return encode_jpeg(index, pal, quality=jpeg_quality)
    raise InvalidParameter(f"unknown tile format {fmt!r}; use png or jpg")
