"""Data tiles of open planes (see :mod:`neloura.core.data_tiles`) and the stretch tables the
page's WebGL renderer needs, through the tile service's public accessors: the same pyramid,
block-mean levels, physical values and default limits as the PNG tiles.
"""

from __future__ import annotations

import hashlib

from neloura.core import stretch as stretches
from neloura.core.data_tiles import MAGIC, encode_tile
from neloura.runtime.tiles import TileService, TileSpec


def data_spec(tiles: TileService, relative: str, level: int, col: int, row: int, *, hdu: int, plane: int) -> TileSpec:
    """Validate a data-tile request (path, HDU, plane, level, column, row) and resolve it to the
    PNG tile of default display it shares its values with (may open the file: call from a worker
    thread unless ``tiles.ready``)."""
    return tiles.spec(relative, level, col, row, "png", hdu=hdu, plane=plane)


def data_etag(spec: TileSpec, *, gzip: bool) -> str:
    """Strong ETag of a data tile: file, mtime, HDU, plane, tile, provisional, encoding."""
    path, mtime, *_ = spec.key
    fields = (str(path), mtime, spec.hdu, spec.plane, spec.level, spec.col, spec.row, spec.provisional, MAGIC, gzip)
    text = "|".join(map(repr, fields))
    return '"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"'


def render_data_tile(tiles: TileService, spec: TileSpec, *, gzip: bool) -> bytes:
    """The data tile's HTTP body (blocking), kept in the tile byte cache unless provisional."""
    key = "data:" + data_etag(spec, gzip=gzip)
    cached = tiles.cache.get(key)
    if cached is not None:
        return cached
    data = encode_tile(tiles.values(spec), gzip=gzip)
    if not spec.provisional:
        tiles.cache.put(key, data)
    return data


def stretch_table(
    tiles: TileService,
    relative: str,
    *,
    hdu: int,
    plane: int,
    stretch: str,
    exponent: float | None,
    vmin: float | None,
    vmax: float | None,
) -> bytes:
    """The PNG renderer's table for these display parameters: :data:`~neloura.core.stretch.LUT_SIZE`
    palette indices (0..254), entry ``i`` for ``x = i / (LUT_SIZE - 1)`` between the limits
    (``histequ`` depends on the plane's sample and the limits; the others on the stretch only)."""
    spec = tiles.spec(
        relative, 0, 0, 0, "png", hdu=hdu, plane=plane, stretch=stretch, exponent=exponent, vmin=vmin, vmax=vmax
    )
    sample = tiles.images.sample(relative, hdu, plane) if spec.stretch == "histequ" else None
    lut = stretches.lookup_table(spec.stretch, spec.exponent, sample=sample, limits=(spec.vmin, spec.vmax))
    return lut[: stretches.LUT_SIZE].tobytes()
