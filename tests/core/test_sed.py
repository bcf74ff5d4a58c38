from __future__ import annotations

import numpy as np
import pytest
from photutils.aperture import CircularAperture, aperture_photometry

from neloura.core.psf import PsfModel, inject
from neloura.core.psfmatch import convolve, matching_kernel, resample_kernel, stamp
from neloura.core.sed import aperture_fraction, measure, sed_csv, upper_limit
from neloura.errors import InvalidParameter


def test_measure_equals_photutils_and_removes_the_sky() -> None:
    rng = np.random.default_rng(3)
    data = rng.normal(10.0, 0.1, (101, 101))
    inject(data, PsfModel.gaussian(3.0), np.array([50.3]), np.array([49.6]), np.array([500.0]))
    m = measure(data, 50.3, 49.6, 6.0, (12.0, 18.0))
    direct = aperture_photometry(data, CircularAperture((50.3, 49.6), 6.0), method="exact")["aperture_sum"][0]
    assert m.aperture_sum == pytest.approx(direct, rel=1e-12)
    assert m.flux == pytest.approx(500.0, rel=0.02) and m.background == pytest.approx(10.0, abs=0.01)
    assert m.flux_err == pytest.approx(np.sqrt(m.area_px) * 0.1, rel=0.15)


def test_error_array_and_nan_pixels() -> None:
    data = np.ones((61, 61))
    data[30, 31] = np.nan
    m = measure(data, 30.0, 30.0, 4.0, (8.0, 12.0), error=np.full(data.shape, 2.0))
    assert m.n_masked == 1 and m.flux == pytest.approx(0.0, abs=1e-9)
    assert m.flux_err == pytest.approx(np.sqrt(m.area_px * 4.0 + m.area_px**2 * 0.0), rel=1e-6)


def test_aperture_fraction_of_a_gaussian() -> None:
    psf = stamp(PsfModel.gaussian(4.0), 30)
    variance = (4.0 / 2.3548200450309493) ** 2 + 1 / 12  # pixel integration adds a box's variance
    assert aperture_fraction(psf, 4.0, (15.0, 25.0)) == pytest.approx(1 - np.exp(-0.5 * 16 / variance), rel=0.01)
    with pytest.raises(InvalidParameter):
        aperture_fraction(psf, 0.2, (15.0, 25.0))


def test_upper_limits() -> None:
    assert upper_limit(2.0, 1.0, 3.0) == (True, 3.0)
    assert upper_limit(50.0, 1.0, 3.0) == (False, 50.0)


def test_matching_kernel_broadens_one_gaussian_into_another() -> None:
    source, target = PsfModel.gaussian(3.0), PsfModel.gaussian(6.0)
    kernel = matching_kernel(source, target)
    half = kernel.shape[0] // 2
    matched = convolve(stamp(source, half), kernel)
    goal = stamp(target, half)
    assert np.abs(matched - goal).max() < 0.05 * goal.max()  # the Fourier window leaves a few per cent
    assert matched.sum() == pytest.approx(1.0, abs=5e-3)  # less what the stamp edge cuts
    with pytest.raises(InvalidParameter, match="sharper"):
        matching_kernel(target, source)


def test_kernel_files_are_resampled_or_refused() -> None:
    kernel = stamp(PsfModel.gaussian(8.0), 24)  # sampled at 0.03"
    same = resample_kernel(kernel, 0.03, 0.0301)
    assert same.shape == kernel.shape and same.sum() == pytest.approx(1.0)
    coarse = resample_kernel(kernel, 0.03, 0.06)
    assert coarse.sum() == pytest.approx(1.0) and PsfModel.from_array(kernel, 0.03, 0.06).fwhm_px == pytest.approx(
        4, rel=0.15
    )
    with pytest.raises(InvalidParameter, match="states no pixel scale"):
        resample_kernel(kernel, None, 0.06)


def test_csv() -> None:
    text = sed_csv([{"filter": "F200W", "wavelength_um": 1.99, "flux_ujy": 3.0, "upper_limit": False}])
    assert text.splitlines()[1].startswith("F200W,,1.99,3.0,,False")
