"""Local background mesh: sky gradients, noise level, masks and independence from image cuts."""

from __future__ import annotations

import numpy as np
import pytest

from neloura.core.background import clipped_stats, estimate_background
from neloura.errors import InvalidParameter


def _field(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:512, 0:512]
    return (100 + 0.02 * xx + 0.01 * yy + rng.normal(0, 1.5, (512, 512))).astype(np.float32)


def test_gradient_and_noise_are_recovered_up_to_the_edges() -> None:
    image = _field()
    bg = estimate_background(image, 64)
    x = np.array([0.0, 100.0, 255.5, 480.0, 511.0])
    y = np.array([511.0, 300.0, 255.5, 20.0, 0.0])
    assert bg.sky_at(x, y) == pytest.approx(100 + 0.02 * x + 0.01 * y, abs=0.1)
    assert bg.rms_at(x, y) == pytest.approx(np.full(5, 1.5), rel=0.05)


def test_nan_blank_regions_are_ignored_and_zero_is_data() -> None:
    image = _field()
    image[:200, :200] = np.nan
    bg = estimate_background(image, 64)
    assert np.isfinite(bg.sky).all() and bg.sky_at(np.array([50.0]), np.array([50.0]))[0] == pytest.approx(
        102.5, abs=0.5
    )
    zeros = np.zeros((256, 256), np.float32)
    zeros[:, 128:] = np.random.default_rng(2).normal(0, 1, (256, 128))
    bg0 = estimate_background(zeros, 64)
    assert bg0.sky_at(np.array([10.0]), np.array([10.0]))[0] == pytest.approx(0.0, abs=0.01)


def test_a_cutout_sees_the_same_local_background() -> None:
    image = _field(3)
    whole = estimate_background(image, 64)
    part = estimate_background(image[:, :256].copy(), 64)
    x, y = np.array([64.0, 128.0]), np.array([200.0, 300.0])
    assert part.sky_at(x, y) == pytest.approx(whole.sky_at(x, y), abs=0.05)
    assert part.rms_at(x, y) == pytest.approx(whole.rms_at(x, y), rel=0.05)


def test_clipped_stats_reject_outliers() -> None:
    rng = np.random.default_rng(4)
    rows = rng.normal(10, 2, (3, 2000)).astype(np.float32)
    rows[:, :100] = 1000.0  # bright sources
    rows[2, 1000:] = np.nan
    med, std, kept = clipped_stats(rows, 3.0, 10)
    assert med == pytest.approx([10, 10, 10], abs=0.2)
    assert std == pytest.approx([2, 2, 2], rel=0.06)
    assert kept[2] < 1000 and kept[0] > 1800


def test_bad_input() -> None:
    with pytest.raises(InvalidParameter):
        estimate_background(np.zeros((4, 4, 4)), 64)
    with pytest.raises(InvalidParameter):
        estimate_background(np.zeros((64, 64)), 2)


def _star_field(kind: str, n: int = 512) -> tuple[np.ndarray, np.ndarray, float]:
    """A seeded star field on a known sky (flat, a gradient, or with a NaN region)."""
    from neloura.core.synthetic import add_gaussian_sources

    rng = np.random.default_rng({"flat": 1, "gradient": 2, "nan": 3}[kind])
    yy, xx = np.mgrid[:n, :n]
    truth = np.full((n, n), 100.0, np.float32)
    if kind == "gradient":
        truth = truth + (0.02 * xx + 0.01 * yy).astype(np.float32)
    sigma = 2.0
    image = truth + rng.normal(0.0, sigma, (n, n)).astype(np.float32)
    add_gaussian_sources(image, rng.uniform(0, n, 200), rng.uniform(0, n, 200), rng.uniform(50, 2000, 200), 3.0)
    if kind == "nan":
        image[:100, :150] = np.nan
    return image, truth, sigma


@pytest.mark.parametrize("kind", ["flat", "gradient", "nan"])
def test_background_agrees_with_photutils_background2d(kind: str) -> None:
    """Issue 8: against photutils ``Background2D`` with the same mesh (64 px), filter (3) and
    estimators (3-sigma clipped median, std), on the same fields. Documented differences:
    our noise is corrected for the clipping (x1.0136 at 3 sigma, ``clip_correction``), and the
    sky is extrapolated linearly to the edges instead of flattening there and the noise is measured
    on the residual from the interpolated sky, so on a gradient ours is closer to the truth (sky
    and noise). Elsewhere the two agree to a few hundredths of the noise."""
    from astropy.stats import SigmaClip
    from photutils.background import Background2D, MedianBackground, StdBackgroundRMS

    from neloura.core.background import clip_correction

    image, truth, sigma = _star_field(kind)
    ours = estimate_background(image, 64, nsigma=3.0, maxiters=5, filter_size=3)
    reference = Background2D(
        image,
        64,
        filter_size=3,
        sigma_clip=SigmaClip(3.0, maxiters=5),
        bkg_estimator=MedianBackground(),
        bkg_rms_estimator=StdBackgroundRMS(),
        coverage_mask=~np.isfinite(image),
        fill_value=np.nan,
    )
    valid = np.isfinite(image)
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    sky = ours.sky_image()
    rms = ours.rms_at(xx.ravel(), yy.ravel()).reshape(image.shape)
    ratio = (rms / clip_correction(3.0))[valid] / reference.background_rms[valid]
    if kind == "gradient":  # a slope inside a box inflates Background2D's std; ours removes it first
        assert abs(np.median(rms[valid]) - sigma) < abs(np.median(reference.background_rms[valid]) - sigma)
        assert np.median(rms[valid]) == pytest.approx(sigma, rel=0.02)
    else:
        assert np.median(ratio) == pytest.approx(1.0, abs=0.01)
        assert np.percentile(np.abs(ratio - 1.0), 95) < 0.04
    ours_error = np.abs(sky - truth)[valid]
    theirs_error = np.abs(reference.background - truth)[valid]
    if kind == "gradient":  # the edges: ours follows the slope, Background2D flattens
        assert np.percentile(ours_error, 99) < np.percentile(theirs_error, 99)
        assert np.percentile(ours_error, 99) < 0.15 * sigma
    else:
        difference = np.abs(sky - reference.background)[valid]
        assert np.median(difference) < 0.03 * sigma
        assert np.percentile(difference, 99) < 0.12 * sigma
        assert np.median(ours_error) < 0.03 * sigma


def test_sky_image_equals_sky_at_every_pixel() -> None:
    image, _, _ = _star_field("gradient", 300)
    background = estimate_background(image, 64)
    yy, xx = np.mgrid[:300, :300]
    np.testing.assert_allclose(
        background.sky_image(), background.sky_at(xx, yy).reshape(300, 300), rtol=1e-6, atol=1e-4
    )
