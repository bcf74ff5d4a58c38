"""Aperture photometry: fluxes against injected truth, errors against the real scatter, units."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.photometry import aperture_photometry, flux_unit, gaussian_aperture_correction
from neloura.core.psf import PsfModel
from neloura.core.synthetic import add_gaussian_sources
from neloura.errors import InvalidParameter


def test_fluxes_match_injected_truth_with_a_local_sky() -> None:
    rng = np.random.default_rng(4)
    image = (50.0 + rng.normal(0, 1, (200, 200))).astype(np.float32)
    x, y = rng.uniform(20, 180, 30), rng.uniform(20, 180, 30)
    flux = np.full(30, 3000.0)
    add_gaussian_sources(image, x, y, flux, 3.0)
    correction = 1.0 / PsfModel.gaussian(3.0).encircled_fraction(4.0)
    table = aperture_photometry(image, x, y, 4.0, aperture_correction=correction)
    assert np.median(table["flux"] / flux) == pytest.approx(1.0, abs=0.01)
    assert np.median(table["sky"]) == pytest.approx(50.0, abs=0.05)
    assert np.nanmedian(table["fwhm_px"]) == pytest.approx(3.0, rel=0.15)
    assert str(table["flux"].unit) == "ct"


def test_errors_describe_the_scatter_of_empty_apertures() -> None:
    rng = np.random.default_rng(5)
    image = rng.normal(0, 2.0, (400, 400)).astype(np.float32)
    x, y = np.meshgrid(np.arange(20, 380, 18.0), np.arange(20, 380, 18.0))
    table = aperture_photometry(image, x.ravel(), y.ravel(), 3.0)
    ratio = np.std(table["flux"]) / np.median(table["flux_err"])
    assert ratio == pytest.approx(1.0, abs=0.15)


def test_surface_brightness_is_integrated_over_the_pixel_solid_angle() -> None:
    area = (0.11 / 206264.806) ** 2
    factor, unit = flux_unit("MJy/sr", area)
    assert unit == "uJy" and factor == pytest.approx(1e12 * area)
    assert flux_unit("Jy", None) == (1e6, "uJy")
    assert flux_unit("DN/s", None) == (1.0, "DN/s") or flux_unit("DN/s", None)[1] == "DN/s"
    assert flux_unit("", None) == (1.0, "count")
    image = np.zeros((40, 40), np.float32)
    image[20, 20] = 1.0  # 1 MJy/sr in one pixel
    table = aperture_photometry(image, [20.0], [20.0], 3.0, bunit="MJy/sr", pixel_area_sr=area)
    assert table["flux"][0] == pytest.approx(1e12 * area, rel=1e-6)
    assert str(table["flux"].unit) == "uJy"


def test_nan_in_the_aperture_is_counted_and_zero_is_data() -> None:
    image = np.zeros((40, 40), np.float32)
    image[18:23, 18:23] = 1.0
    image[20, 21] = np.nan
    table = aperture_photometry(image, [20.0], [20.0], 2.0)
    assert table["n_masked"][0] == 1
    assert table["sky"][0] == 0.0  # the zero-valued annulus is a measured sky of 0, not "no data"
    from photutils.aperture import CircularAperture

    weight = CircularAperture((20.0, 20.0), r=2.0).to_mask(method="exact").to_image(image.shape)
    assert table["flux"][0] == pytest.approx(np.nansum(weight * image), rel=1e-9)  # NaN skipped, not zero-filled


def test_aperture_correction_and_bad_input() -> None:
    assert gaussian_aperture_correction(3.0, 3.0) == pytest.approx(1.0 / (1 - 2 ** (-4)), rel=1e-9)
    with pytest.raises(InvalidParameter):
        aperture_photometry(np.zeros((10, 10)), [1.0], [1.0, 2.0], 2.0)
    with pytest.raises(InvalidParameter):
        aperture_photometry(np.zeros((10, 10)), [1.0], [1.0], -2.0)
    assert len(aperture_photometry(np.zeros((10, 10)), [], [], 2.0)) == 0


def test_aperture_sums_equal_photutils_exact_at_subpixel_positions_and_radii() -> None:
    """Sums over exact pixel overlaps equal photutils ``aperture_photometry(method="exact")`` to
    1e-6 relative at random sub-pixel positions and radii (flux + sky x area is the raw sum)."""
    from photutils.aperture import CircularAperture
    from photutils.aperture import aperture_photometry as photutils_photometry

    rng = np.random.default_rng(7)
    image = rng.normal(3.25, 1.0, (160, 160))
    yy, xx = np.mgrid[:160, :160]
    x = rng.uniform(20, 140, 80)
    y = rng.uniform(20, 140, 80)
    for xi, yi in zip(x, y, strict=True):
        image += 50.0 * np.exp(-((xx - xi) ** 2 + (yy - yi) ** 2) / (2 * 1.2**2))
    for radius in (0.3, 0.7, 1.0, 1.5, 2.3, 3.0, 4.75, 9.9):
        ours = aperture_photometry(image, x, y, radius)
        reference = photutils_photometry(image, CircularAperture(np.column_stack([x, y]), r=radius), method="exact")
        raw = np.asarray(ours["flux"]) + np.asarray(ours["sky"]) * np.pi * radius**2
        np.testing.assert_allclose(raw, reference["aperture_sum"], rtol=1e-6)
