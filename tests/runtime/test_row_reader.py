"""RowReader.read_sampled: the strided grid of a plain FITS plane equals the plane's own strided
read (physical values: BSCALE/BZERO/BLANK applied, NaN and inf as NaN), on every plane of a cube."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from neloura.core.fitsio import FitsImage
from neloura.errors import NotAFitsImage
from neloura.runtime.row_reader import RowReader
from neloura.runtime.samples import read_sample_grid, strided_rows
from neloura.settings import Settings


def test_sampled_rows_are_the_planes_strided_physical_values(settings: Settings) -> None:
    rng = np.random.default_rng(8)
    raw = rng.integers(-30000, 30000, size=(2, 97, 83), dtype=np.int16)
    raw[1, 4, 6] = -32768  # BLANK on a sampled pixel
    hdu = fits.ImageHDU(raw)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 100.0, -32768
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(settings.files_dir / "cube.fits")
    with FitsImage(settings.files_dir / "cube.fits", 1) as image:
        for index in range(2):
            plane = image.plane(index)
            with RowReader(plane) as reader:
                grid = reader.read_sampled(range(1, 97, 3), slice(0, 83, 3))
            expected = raw[index, 1::3, 0::3] * 0.5 + 100.0
            if index == 1:
                expected[1, 2] = np.nan  # row 4 = 1 + 1 * 3, column 6 = 2 * 3
            assert grid.dtype == np.float32 and grid.shape == expected.shape
            np.testing.assert_allclose(grid, expected, equal_nan=True)
            assert np.isnan(grid[1, 2]) == (index == 1)


def test_the_sample_grid_of_a_float_image_keeps_nan_and_drops_inf(settings: Settings) -> None:
    data = np.random.default_rng(9).normal(size=(300, 260)).astype(np.float32)
    data[::7, ::5] = np.nan
    data[10, :] = np.inf
    fits.PrimaryHDU(data).writeto(settings.files_dir / "f.fits")
    with FitsImage(settings.files_dir / "f.fits", 0) as image:
        grid = read_sample_grid(image, 0, 5_000)
        rows, cols = slice(grid.first, 300, grid.step), slice(grid.first, 260, grid.step)
        np.testing.assert_array_equal(grid.values, strided_rows(image, (), rows, cols))
        expected = np.where(np.isfinite(data[rows, cols]), data[rows, cols], np.nan)
        np.testing.assert_array_equal(grid.values, expected)
        assert np.isnan(grid.values).any() and np.isfinite(grid.values).any()


def test_a_truncated_file_is_refused(settings: Settings) -> None:
    path = settings.files_dir / "t.fits"
    fits.PrimaryHDU(np.zeros((400, 400), np.float32)).writeto(path)
    with FitsImage(path, 0) as image, RowReader(image.plane(0)) as reader:
        with path.open("r+b") as f:
            f.truncate(2880 + 4 * 400 * 100)  # header + 100 rows
        with pytest.raises(NotAFitsImage, match="truncated"):
            reader.read_sampled(range(0, 400, 50), slice(0, 400, 10))
