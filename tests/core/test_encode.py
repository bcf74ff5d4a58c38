"""Palette PNG and JPEG encoding, decoded back by Pillow."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from neloura.core.colormaps import palette
from neloura.core.encode import encode, encode_png, encode_rgba
from neloura.errors import InvalidParameter

RNG = np.random.default_rng(5)


def test_palette_png_round_trips_indices_palette_and_transparency() -> None:
    index = RNG.integers(0, 256, size=(100, 77), dtype=np.uint8)
    pal = palette("viridis")
    img = Image.open(io.BytesIO(encode_png(index, pal)))
    assert img.mode == "P" and img.size == (77, 100)
    np.testing.assert_array_equal(np.asarray(img), index)
    np.testing.assert_array_equal(np.array(img.getpalette()[: 256 * 3]).reshape(256, 3), pal.rgb)
    rgba = np.asarray(img.convert("RGBA"))
    np.testing.assert_array_equal(rgba[..., 3], np.where(index == 255, 0, 255))


def test_opaque_palette_has_no_transparency_chunk() -> None:
    data = encode_png(np.zeros((4, 4), np.uint8), palette("gray", nan_color="black"))
    assert b"tRNS" not in data
    assert b"tRNS" in encode_png(np.zeros((4, 4), np.uint8), palette("gray"))


def test_png_of_a_sky_noise_tile_is_compressed() -> None:
    index = np.clip(RNG.normal(127, 20, size=(256, 256)), 0, 254).astype(np.uint8)
    data = encode(index, palette("gray"), "png")
    assert len(data) < 256 * 256  # never an uncompressed RGB PNG (~200 KB)
    flat = encode(np.full((256, 256), 255, np.uint8), palette("gray"), "png")
    assert len(flat) < 2000  # runs (NaN borders) collapse


def test_jpeg_renders_the_palette_colours() -> None:
    index = np.full((64, 64), 254, np.uint8)
    img = Image.open(io.BytesIO(encode(index, palette("gray"), "jpg")))
    assert img.format == "JPEG" and img.size == (64, 64)
    assert np.abs(np.asarray(img.convert("RGB")).astype(int) - 255).max() <= 2


def test_unknown_format() -> None:
    with pytest.raises(InvalidParameter):
        encode(np.zeros((2, 2), np.uint8), palette("gray"), "gif")


def _rows(index: np.ndarray) -> bytes:
    return np.concatenate([np.zeros((index.shape[0], 1), np.uint8), index], axis=1).tobytes()


def _chunks(png: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    pos = 8
    while pos < len(png):
        size = int.from_bytes(png[pos : pos + 4], "big")
        kind = png[pos + 4 : pos + 8]
        payload = png[pos + 8 : pos + 8 + size]
        assert zlib.crc32(kind + payload) == int.from_bytes(png[pos + 8 + size : pos + 12 + size], "big")
        out[kind] = out.get(kind, b"") + payload
        pos += 12 + size
    return out


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_idat_is_a_standard_zlib_stream_of_the_unfiltered_rows(level: int) -> None:
    """The ISA-L encoder writes the same image as the zlib one did: zlib inflates its IDAT to
    exactly the filter-0 rows, and every chunk's CRC is the standard CRC-32."""
    index = np.clip(RNG.normal(127, 20, size=(256, 256)), 0, 255).astype(np.uint8)
    index[:40] = 255  # a NaN border
    png = encode_png(index, palette("magma"), level=level)
    chunks = _chunks(png)
    assert zlib.decompress(chunks[b"IDAT"]) == _rows(index)
    assert chunks[b"PLTE"] == palette("magma").rgb.tobytes()


def test_png_bytes_stay_near_the_zlib_run_length_encoding() -> None:
    """The faster encoder keeps tiles small: within 10 % of zlib level 1 / Z_RLE (the previous
    encoder) on noise, on a smooth gradient with noise and on a NaN-bordered tile."""
    xx = np.mgrid[0:256, 0:256][1]
    noisy = np.clip(RNG.normal(127, 20, size=(256, 256)), 0, 254).astype(np.uint8)
    smooth = np.clip(xx / 2 + RNG.normal(0, 2, size=(256, 256)), 0, 254).astype(np.uint8)
    bordered = noisy.copy()
    bordered[:, :100] = 255
    for index in (noisy, smooth, bordered):
        before = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
        reference = len(before.compress(_rows(index)) + before.flush())
        assert len(_chunks(encode_png(index, palette("gray")))[b"IDAT"]) <= 1.1 * reference


@pytest.mark.parametrize("transparent", [False, True])
def test_rgba_png_round_trips_pixels(transparent: bool) -> None:
    """The composite tiles' encoder (ISA-L): PIL decodes exactly the input, RGB when opaque,
    RGBA otherwise; the IDAT is a standard zlib stream of the filter-0 rows."""
    rgba = RNG.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    if transparent:
        rgba[:5, :7, 3] = 0
    png = encode_rgba(rgba)
    image = Image.open(io.BytesIO(png))
    assert image.mode == ("RGBA" if transparent else "RGB")
    assert np.array_equal(np.asarray(image.convert("RGBA")), rgba)
    pixels = rgba if transparent else rgba[..., :3]
    rows = np.concatenate([np.zeros((37, 1), np.uint8), pixels.reshape(37, -1)], axis=1).tobytes()
    assert zlib.decompress(_chunks(png)[b"IDAT"]) == rows


def test_rgba_png_stays_near_the_zlib_run_length_encoding() -> None:
    """A smooth composite tile with a transparent (NaN) border: within 10 % of the previous
    zlib level 1 / Z_RLE encoder."""
    xx = np.mgrid[0:256, 0:256][1]
    rgba = np.zeros((256, 256, 4), np.uint8)
    for channel in range(3):
        rgba[..., channel] = np.clip(xx / (channel + 1) + RNG.normal(0, 2, (256, 256)), 0, 255).astype(np.uint8)
    rgba[..., 3] = 255
    rgba[:, :60] = 0
    rows = np.concatenate([np.zeros((256, 1), np.uint8), rgba.reshape(256, -1)], axis=1).tobytes()
    before = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    reference = len(before.compress(rows) + before.flush())
    assert len(_chunks(encode_rgba(rgba))[b"IDAT"]) <= 1.1 * reference


def test_rgba_png_refuses_other_shapes() -> None:
    with pytest.raises(ValueError):
        encode_rgba(np.zeros((4, 4, 3), np.uint8))
