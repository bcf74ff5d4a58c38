"""Tile-compressed images read by tile: the decompressed-size and tile ceilings, bounded bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import neloura.core.fits_compressed as fits_compressed
from neloura.core.fitsio import FitsImage
from neloura.errors import ImageTooLarge, PayloadTooLarge

MB = 1024 * 1024


def _compressed(path: Path, data: np.ndarray, **kwargs: object) -> Path:
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, **kwargs)]).writeto(path)  # type: ignore[arg-type]
    return path


def test_a_compressed_bomb_is_refused_beyond_the_ceiling(tmp_path: Path) -> None:
    """A file of a few kilobytes announcing 64 MB of float32 zeros: 413, nothing decompressed."""
    path = _compressed(tmp_path / "bomb.fits.fz", np.zeros((4096, 4096), np.uint8), compression_type="GZIP_1")
    assert path.stat().st_size < 200_000
    with pytest.raises(ImageTooLarge, match=r"decompresses to 64 MB.*ceiling of 32 MB") as raised:
        FitsImage(path, 1, decompressed_max_bytes=32 * MB)
    assert isinstance(raised.value, PayloadTooLarge)  # mapped to 413
    with FitsImage(path, 1, decompressed_max_bytes=64 * MB) as image:  # at the ceiling: served
        assert image.plane().value(10, 10) == 0.0


def test_a_compression_tile_too_large_to_decompress_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any pixel of a tile costs the whole tile: one tile over the bound is refused."""
    path = _compressed(tmp_path / "one_tile.fits.fz", np.zeros((300, 200), np.int16), tile_shape=(300, 200))
    monkeypatch.setattr(fits_compressed, "TILE_MAX_PIXELS", 300 * 200 - 1)
    with pytest.raises(ImageTooLarge, match="tiles of 60,000 pixels"):
        FitsImage(path, 1)
    monkeypatch.setattr(fits_compressed, "TILE_MAX_PIXELS", 300 * 200)
    with FitsImage(path, 1) as image:
        assert image.plane().read(0, 2, 0, 2).shape == (2, 2)


def test_reads_keep_at_most_the_band_budget_and_trim_gives_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fits_compressed, "IN_MEMORY_MAX_PIXELS", 0)
    monkeypatch.setattr(fits_compressed, "BAND_ROWS", 16)
    monkeypatch.setattr(fits_compressed, "BAND_CACHE_BYTES", 4 * 16 * 500 * 4)  # four bands of 16 x 500
    raw = np.random.default_rng(1).integers(-500, 500, (400, 500)).astype(np.int16)
    hdu = fits.CompImageHDU(raw, compression_type="RICE_1")
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 2.0, 100.0, -500
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp_path / "s.fits.fz")
    expected = raw * 2.0 + 100.0
    expected[raw == -500] = np.nan
    with FitsImage(tmp_path / "s.fits.fz", 1) as image:
        full = image.plane().full()  # every band read once
        np.testing.assert_array_equal(full, expected.astype(np.float32))
        assert 0 < image.nbytes <= 4 * 16 * 500 * 4
        assert image.trim() == 4 * 16 * 500 * 4 and image.nbytes == 0
        np.testing.assert_array_equal(image.plane().read(390, 400, 10, 20), expected[390:400, 10:20])


def test_bands_of_a_wide_image_hold_fewer_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fits_compressed, "IN_MEMORY_MAX_PIXELS", 0)
    monkeypatch.setattr(fits_compressed, "BAND_MAX_BYTES", 10 * 3000 * 4)
    path = _compressed(tmp_path / "wide.fits.fz", np.ones((64, 3000), np.int16))
    with FitsImage(path, 1) as image:
        assert image._section is not None and image._section.band_rows == 10
        assert image.plane().read(0, 64, 0, 3000).sum() == 64 * 3000
