"""Region statistics equal numpy on explicit masks (centre rule, exact overlap), NaN excluded."""

from __future__ import annotations

import math
from typing import Any

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry
from photutils.profiles import RadialProfile
from regions import PixCoord, PolygonPixelRegion, RectanglePixelRegion

from neloura.core.photometry import flux_unit
from neloura.core.region_stats import (
    cutout_hdus,
    histogram,
    member_values,
    radial_profile,
    region_stats,
)
from neloura.core.regions import PixelShape, to_region
from neloura.errors import InvalidParameter

H, W = 180, 240


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(7)
    data = rng.normal(10.0, 2.0, (H, W)).astype(np.float32)
    data[rng.random((H, W)) < 0.05] = np.nan  # 5 % blank pixels
    return data


def _reader(data: np.ndarray):
    return lambda y0, y1, x0, x1: data[y0:y1, x0:x1]


def _unit_stats(shape: PixelShape, data: np.ndarray, pixel_area_arcsec2: float | None = None) -> dict[str, Any]:
    """``region_stats`` of ``shape`` on the whole of ``data``, fluxes in data units (factor 1)."""
    height, width = data.shape
    return region_stats(
        shape, _reader(data), width, height, factor=1, flux_unit="x", pixel_area_arcsec2=pixel_area_arcsec2
    )


SHAPES = [
    PixelShape("circle", [(60.3, 70.7)], (12.4,)),
    PixelShape("ellipse", [(120.5, 90.2)], (30.3, 11.7), 33.0),
    PixelShape("box", [(180.25, 60.75)], (25.5, 9.2), 117.0),
    PixelShape("polygon", [(20.2, 120.1), (70.6, 130.3), (50.4, 170.9), (30.5, 150.2)]),
    PixelShape("annulus", [(150.4, 140.6)], (6.3, 14.8)),
    PixelShape("ellipse_annulus", [(200.0, 130.0)], (8.0, 4.0, 20.0, 10.0), 15.0),
    PixelShape("box_annulus", [(100.0, 30.0)], (6.0, 4.0, 18.0, 12.0), 60.0),
    PixelShape("circle", [(2.0, 3.0)], (9.5,)),  # crosses the image edge
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.shape)
def test_statistics_equal_numpy_on_explicit_masks(image: np.ndarray, shape: PixelShape) -> None:
    region = to_region(shape)
    centre = region.to_mask(mode="center").to_image((H, W)) > 0
    if shape.shape.endswith("annulus"):  # regions masks compound shapes by pixel centre only
        kind = {"annulus": "circle", "ellipse_annulus": "ellipse", "box_annulus": "box"}[shape.shape]
        half = len(shape.sizes) // 2
        outer = to_region(PixelShape(kind, shape.points, shape.sizes[half:], shape.angle_deg))
        inner = to_region(PixelShape(kind, shape.points, shape.sizes[:half], shape.angle_deg))
        exact = outer.to_mask(mode="exact").to_image((H, W)) - inner.to_mask(mode="exact").to_image((H, W))
    else:
        exact = region.to_mask(mode="exact").to_image((H, W))
    finite = np.isfinite(image)
    values = image[centre & finite].astype(np.float64)
    out = region_stats(shape, _reader(image), W, H, factor=2.0, flux_unit="Jy", pixel_area_arcsec2=0.25)
    assert out["npix"] == values.size > 10
    assert out["sum"] == pytest.approx(values.sum(), rel=1e-9)
    assert out["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert out["median"] == pytest.approx(np.median(values), rel=1e-9)
    assert out["std"] == pytest.approx(values.std(), rel=1e-9)
    assert (out["min"], out["max"]) == (values.min(), values.max())
    weight = np.where(finite, exact, 0.0)
    assert out["flux"] == pytest.approx(2.0 * np.sum(np.where(finite, image, 0.0) * weight), rel=1e-9)
    assert out["area_px"] == pytest.approx(weight.sum(), rel=1e-12)
    assert out["area_arcsec2"] == pytest.approx(0.25 * weight.sum(), rel=1e-12)


def test_center_rule_is_ds9s_pixel_centre_inside() -> None:
    """A 2x2 box centred on a pixel corner holds the four pixels around it, a 1.9 px one none."""
    data = np.arange(100, dtype=np.float32).reshape(10, 10)
    out = _unit_stats(PixelShape("box", [(4.5, 4.5)], (2.0, 2.0)), data)
    assert out["npix"] == 4 and out["sum"] == 44 + 45 + 54 + 55
    thin = _unit_stats(PixelShape("box", [(4.5, 4.5)], (0.9, 0.9)), data)
    assert thin["npix"] == 0 and thin["flux"] == pytest.approx(0.81 * (44 + 45 + 54 + 55) / 4)


def test_polygon_exact_overlap_equals_the_rotated_box(image: np.ndarray) -> None:
    box = RectanglePixelRegion(PixCoord(120.3, 80.6), 22.0, 9.0, angle=37 * u.deg)
    corners = box.corners
    poly = PixelShape("polygon", [(float(x), float(y)) for x, y in corners])
    rect = PixelShape("box", [(120.3, 80.6)], (22.0, 9.0), 37.0)
    a = region_stats(poly, _reader(image), W, H, factor=1, flux_unit="x", pixel_area_arcsec2=None)
    b = region_stats(rect, _reader(image), W, H, factor=1, flux_unit="x", pixel_area_arcsec2=None)
    assert a["flux"] == pytest.approx(b["flux"], rel=1e-9) and a["npix"] == b["npix"]
    assert isinstance(to_region(poly), PolygonPixelRegion)


def test_annulus_background_subtracted_flux_equals_photutils() -> None:
    rng = np.random.default_rng(3)
    sky = 5.0
    data = rng.normal(sky, 0.1, (120, 120))
    yy, xx = np.mgrid[:120, :120]
    data += 400.0 * np.exp(-((xx - 60.3) ** 2 + (yy - 58.8) ** 2) / (2 * 2.0**2)) / (2 * math.pi * 4.0)
    data[50, 61] = np.nan
    shape = PixelShape("annulus", [(60.3, 58.8)], (10.0, 20.0))
    out = _unit_stats(shape, data)
    mask = ~np.isfinite(data)
    annulus = CircularAnnulus((60.3, 58.8), 10.0, 20.0)
    bkg = ApertureStats(data, annulus, mask=mask, sum_method="center").median
    disk = CircularAperture((60.3, 58.8), 10.0)
    phot = aperture_photometry(data, disk, mask=mask, method="exact")
    area = disk.area_overlap(data, mask=mask, method="exact")
    assert out["background"] == pytest.approx(bkg, rel=1e-9)
    assert out["net_flux"] == pytest.approx(float(phot["aperture_sum"][0]) - bkg * area, rel=1e-6)
    assert out["net_flux"] == pytest.approx(400.0, rel=0.02)  # the injected source (one pixel blank)


def test_flux_units_are_photometrys_one_conversion_path() -> None:
    """Region fluxes go through photometry's flux_unit (fluxunits.conversion): µJy like the SED."""
    pix_sr = (0.1 / 206264.806) ** 2
    factor, unit = flux_unit("MJy/sr", pix_sr)
    assert unit == "uJy" and factor == pytest.approx(1e12 * pix_sr)
    header = fits.Header({"BUNIT": "Jy/beam", "BMAJ": 1 / 3600, "BMIN": 1 / 3600})
    beam = math.pi / (4 * math.log(2)) * (1 / 206264.806) ** 2
    factor, unit = flux_unit("Jy/beam", pix_sr, header)
    assert unit == "uJy" and factor == pytest.approx(1e6 * pix_sr / beam, rel=1e-6)
    assert flux_unit("Jy/beam", pix_sr) == (1.0, "Jy/beam")  # no beam known: image units, said so
    assert flux_unit("mJy", None) == (pytest.approx(1e3), "uJy")
    assert flux_unit("", None) == (1.0, "count")
    assert flux_unit("DN/s", pix_sr) == (1.0, "DN/s")
    factor, unit = flux_unit("e/s", None, fits.Header({"BUNIT": "e/s", "PHOTFNU": 2e-7}))
    assert unit == "uJy" and factor == pytest.approx(2e-7 * 1e6)  # HST PHOTFNU (Jy s/e)


def test_nan_only_region_gives_nulls(image: np.ndarray) -> None:
    data = np.full((20, 20), np.nan, np.float32)
    out = _unit_stats(PixelShape("circle", [(10.0, 10.0)], (4.0,)), data, pixel_area_arcsec2=1.0)
    assert out["npix"] == 0 and out["mean"] is None and out["flux"] is None


def test_histogram_and_radial_profile(image: np.ndarray) -> None:
    shape = PixelShape("circle", [(100.2, 90.7)], (15.0,))
    values = member_values(shape, _reader(image), W, H)
    h = histogram(values, 20)
    assert sum(h["counts"]) == values.size and h["edges"][0] == values.min()
    prof = radial_profile(shape, _reader(image), W, H, 2.0)
    mask = ~np.isfinite(image)
    ref = RadialProfile(np.where(mask, 0, image), (100.2, 90.7), np.append(np.arange(0, 15, 2.0), 15.0), mask=mask)
    assert np.allclose(prof["profile"], ref.profile, rtol=1e-9)
    with pytest.raises(InvalidParameter):
        radial_profile(PixelShape("box", [(1.0, 1.0)], (2.0, 2.0)), _reader(image), W, H)


def test_cutout_has_the_image_wcs_and_the_mask() -> None:
    from astropy.wcs import WCS

    from neloura.core.synthetic import make_wcs_header

    header = make_wcs_header((H, W), 150.0, 2.0, 0.5, rotation_deg=20.0)
    data = np.arange(H * W, dtype=np.float32).reshape(H, W)
    wcs = WCS(header)
    shape = PixelShape("circle", [(50.4, 60.6)], (8.0,))
    hdus = cutout_hdus(shape, _reader(data), W, H, wcs, "MJy/sr")
    cut, mask = hdus[0], hdus["MASK"]
    cut_wcs = WCS(cut.header)
    y, x = 3, 5  # a cutout pixel -> the same sky position and value as in the image
    ra, dec = cut_wcs.pixel_to_world_values(x, y)
    X, Y = wcs.world_to_pixel_values(ra, dec)
    assert cut.data[y, x] == data[round(float(Y)), round(float(X))]
    expected = to_region(shape).to_mask(mode="center").data
    assert np.array_equal(mask.data, expected.astype(np.uint8)) and cut.header["BUNIT"] == "MJy/sr"
    assert isinstance(hdus, fits.HDUList)
