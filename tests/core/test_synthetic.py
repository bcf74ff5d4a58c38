"""Seeded generators: determinism, fluxes, positions and WCS against injected truth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammainc, gammaincinv

from neloura.core.synthetic import (
    FWHM_TO_SIGMA,
    CubeSpec,
    add_gaussian_sources,
    make_cube,
    make_star_field,
    make_wcs_header,
    sersic_profile,
)
from neloura.core.wcs import ImageWcs


def test_star_field_is_seeded_and_has_truth_columns() -> None:
    a, truth_a = make_star_field((64, 80), 20, 3.0, seed=7)
    b, truth_b = make_star_field((64, 80), 20, 3.0, seed=7)
    c, _ = make_star_field((64, 80), 20, 3.0, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (64, 80) and a.dtype == np.float32
    assert set(truth_a.colnames) >= {"id", "x_pix", "y_pix", "flux", "peak", "snr"}
    np.testing.assert_array_equal(truth_a["flux"], truth_b["flux"])
    assert np.all((truth_a["x_pix"] >= 0) & (truth_a["x_pix"] <= 79))
    assert np.all((truth_a["y_pix"] >= 0) & (truth_a["y_pix"] <= 63))


def test_star_flux_sums_to_truth_and_centroid_is_at_x_y() -> None:
    image, truth = make_star_field((80, 90), 1, 4.0, seed=3, flux_range=(500.0, 500.0), noise_sigma=0.0, edge_px=30)
    star = truth[0]
    assert image.sum() == pytest.approx(500.0, rel=1e-4)
    yy, xx = np.mgrid[0:80, 0:90]
    assert (image * xx).sum() / image.sum() == pytest.approx(star["x_pix"], abs=1e-3)  # data[y, x], 0-based
    assert (image * yy).sum() / image.sum() == pytest.approx(star["y_pix"], abs=1e-3)
    sigma = 4.0 * FWHM_TO_SIGMA
    assert star["peak"] == pytest.approx(500.0 / (2 * math.pi * sigma**2))


def test_snr_range_and_noise_level() -> None:
    image, truth = make_star_field((400, 400), 30, 2.5, seed=1, snr_range=(10, 20), sky=100.0, noise_sigma=2.0)
    assert np.all((truth["snr"] >= 10) & (truth["snr"] <= 20))
    sigma = 2.5 * FWHM_TO_SIGMA
    np.testing.assert_allclose(truth["flux"], truth["snr"] * 2.0 * math.sqrt(4 * math.pi * sigma**2))
    assert np.median(image) == pytest.approx(100.0, abs=0.2)
    assert np.std(image[image < 106]) == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ValueError):
        make_star_field((10, 10), 1, 2.0, seed=1, flux_range=(1, 2), snr_range=(1, 2))


def test_sources_at_the_edge_are_clipped_not_wrapped() -> None:
    image = np.zeros((20, 20), np.float64)
    add_gaussian_sources(image, np.array([0.0]), np.array([19.0]), np.array([100.0]), 3.0)
    assert image[19, 0] == image.max()
    assert image[:, 15:].sum() < 1e-6 and image[:5, :].sum() < 1e-6
    sigma = 3.0 * FWHM_TO_SIGMA
    inside_per_axis = 0.5 + 0.5 * math.erf(0.5 / (math.sqrt(2) * sigma))  # from the pixel's outer edge
    assert image.sum() == pytest.approx(100.0 * inside_per_axis**2, rel=1e-6)


def test_wcs_header_centre_scale_and_rotation() -> None:
    header = make_wcs_header((200, 300), 150.0, -30.0, 0.5, rotation_deg=90.0)
    wcs = ImageWcs.from_header(header)
    ra, dec = wcs.pixel_to_world([149.5], [99.5])
    assert ra[0] == pytest.approx(150.0, abs=1e-9) and dec[0] == pytest.approx(-30.0, abs=1e-9)
    assert wcs.pixel_scale_arcsec() == pytest.approx(0.5, rel=1e-9)
    # rotated by 90 degrees: moving +x now moves north (dec up)
    _, dec_x = wcs.pixel_to_world([159.5], [99.5])
    assert dec_x[0] > -30.0
    plain = ImageWcs.from_header(make_wcs_header((200, 300), 150.0, -30.0, 0.5))
    ra_left, _ = plain.pixel_to_world([139.5], [99.5])
    assert ra_left[0] > 150.0  # east is to the left
    with pytest.raises(ValueError):
        make_wcs_header((10, 10), 0.0, 0.0, 0.0)


def test_sersic_half_light_radius() -> None:
    """Half of the total light lies inside r_eff (circular profile, n = 1 and 4)."""
    for n in (0.5, 1.0):  # point-sampled cusps (n = 4) are not flux-exact at the centre pixel
        image = sersic_profile((801, 801), 400.0, 400.0, 1.0, 30.0, n).astype(np.float64)
        yy, xx = np.mgrid[0:801, 0:801]
        r = np.hypot(xx - 400.0, yy - 400.0)
        b_n = gammaincinv(2 * n, 0.5)
        total = image[r <= 400].sum() / gammainc(2 * n, b_n * (400.0 / 30.0) ** (1 / n))  # + light beyond
        assert image[r <= 30.0].sum() / total == pytest.approx(0.5, abs=0.02)
        assert image[400, 430] == pytest.approx(1.0, rel=0.02)  # amplitude at r_eff


def test_cube_header_and_shape() -> None:
    data, header = make_cube(CubeSpec((10, 24, 32)), seed=5)
    assert data.shape == (1, 10, 24, 32) and data.dtype == np.float32
    assert header["CTYPE3"] == "FREQ" and header["CTYPE4"] == "STOKES" and header["BUNIT"] == "Jy/beam"
    data3, header3 = make_cube(CubeSpec((10, 24, 32), stokes=False), seed=5)
    assert data3.shape == (10, 24, 32) and "CTYPE4" not in header3
    # the line moves across the disk: the brightest channel differs between the two sides
    left = data3[:, 12, 6].argmax()
    right = data3[:, 12, 26].argmax()
    assert left != right
