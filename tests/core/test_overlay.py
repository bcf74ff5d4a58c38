"""Overlay projection against astropy's all_world2pix (SIP), footprint filtering, payload layout."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from neloura.core.overlay import (
    HEADER_BYTES,
    MAGIC,
    decode_overlay,
    encode_overlay,
    image_footprint,
    project_inside,
    quantize,
    size_to_pixels,
    within_footprint,
)
from neloura.core.synthetic import make_wcs_header
from neloura.core.wcs import ImageWcs
from neloura.errors import InvalidParameter
from tests.conftest import WCS_DATA

SIP_SIZE = 256  # sip.fits describes a 256 x 256 detector (CRPIX 128)


@pytest.fixture(scope="module")
def sip_wcs() -> ImageWcs:
    return ImageWcs.from_header(fits.getheader(WCS_DATA / "sip.fits"))


def _sky_around(wcs: ImageWcs, width: int, height: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions on a grid twice the image size (so about a quarter land on the image)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-width / 2, 1.5 * width, n)
    y = rng.uniform(-height / 2, 1.5 * height, n)
    return wcs.pixel_to_world(x, y)


def test_projection_equals_astropy_all_world2pix_on_sip(sip_wcs: ImageWcs) -> None:
    ra, dec = _sky_around(sip_wcs, SIP_SIZE, SIP_SIZE, 5_000, seed=1)
    which, x, y = project_inside(sip_wcs, ra, dec, SIP_SIZE, SIP_SIZE)
    reference = WCS(fits.getheader(WCS_DATA / "sip.fits"))
    assert reference.sip is not None
    rx, ry = reference.all_world2pix(ra, dec, 0)
    inside = (rx >= -0.5) & (rx < SIP_SIZE - 0.5) & (ry >= -0.5) & (ry < SIP_SIZE - 0.5)
    np.testing.assert_array_equal(which, np.flatnonzero(inside))
    assert 0.15 < which.size / ra.size < 0.35
    np.testing.assert_allclose(x, rx[inside], atol=1e-6)
    np.testing.assert_allclose(y, ry[inside], atol=1e-6)
    # the SIP terms matter here: a linear-only projection would differ by well over a pixel
    lx, ly = reference.wcs_world2pix(ra[which], dec[which], 0)
    assert np.max(np.hypot(lx - x, ly - y)) > 0.5


def test_footprint_holds_every_pixel_and_excludes_the_far_side() -> None:
    width, height = 400, 300
    wcs = ImageWcs.from_header(make_wcs_header((height, width), 359.99, -89.9, 1.5, rotation_deg=30))
    fp = image_footprint(wcs, width, height)
    gx, gy = np.meshgrid(np.linspace(-0.5, width - 0.5, 41), np.linspace(-0.5, height - 0.5, 31))
    ra, dec = wcs.pixel_to_world(gx.ravel(), gy.ravel())
    assert within_footprint(ra, dec, fp).size == ra.size
    # the antipode projects to finite pixels in TAN (folded back): the pre-filter must drop it
    far_ra, far_dec = np.array([(fp.ra_deg + 180) % 360]), np.array([-fp.dec_deg])
    assert within_footprint(far_ra, far_dec, fp).size == 0
    diagonal_arcsec = np.hypot(width, height) / 2 * 1.5
    assert diagonal_arcsec <= fp.radius_arcsec < diagonal_arcsec * 1.1


def test_footprint_filter_then_projection_keeps_exactly_the_image() -> None:
    width, height = 200, 100
    wcs = ImageWcs.from_header(make_wcs_header((height, width), 0.01, 10.0, 2.0))
    rng = np.random.default_rng(2)
    ra = np.mod(rng.uniform(-0.2, 0.2, 20_000), 360.0)  # straddles RA 0/360
    dec = rng.uniform(9.8, 10.2, 20_000)
    near = within_footprint(ra, dec, image_footprint(wcs, width, height))
    which, _, _ = project_inside(wcs, ra[near], dec[near], width, height)
    rows = near[which]
    fx, fy = wcs.wcs.all_world2pix(ra, dec, 0)  # type: ignore[union-attr]
    truth = np.flatnonzero((fx >= -0.5) & (fx < width - 0.5) & (fy >= -0.5) & (fy < height - 0.5))
    np.testing.assert_array_equal(np.sort(rows), truth)
    assert truth.size > 100


def test_payload_round_trip_with_size_and_colour() -> None:
    rng = np.random.default_rng(3)
    n = 1_000
    x, y = rng.uniform(0, 4000, (2, n))
    rows = np.sort(rng.choice(10 * n, n, replace=False))
    size = rng.uniform(1, 30, n)
    size[5] = np.nan
    flux = 10 ** rng.uniform(-1, 3, n)
    flux[7] = np.nan
    data = encode_overlay(
        x,
        y,
        rows,
        size_px=size,
        color=flux,
        color_log=True,
        matched=n + 5,
        pixel_scale_arcsec=0.1,
        width=4000,
        height=3000,
    )
    assert len(data) == HEADER_BYTES + 16 * n
    assert data[:4] == MAGIC
    out = decode_overlay(data)
    np.testing.assert_array_equal(out.rows, rows)
    np.testing.assert_allclose(out.x_pix, x, atol=1e-3)
    np.testing.assert_allclose(out.y_pix, y, atol=1e-3)
    valid = np.isfinite(size)
    np.testing.assert_allclose(out.size_px[valid], size[valid], atol=30 / 65534)
    assert out.size_px[5] == pytest.approx(np.median(size[valid]))
    assert out.color is not None and out.color_log
    np.testing.assert_allclose(out.color[np.isfinite(flux)], np.log10(flux[np.isfinite(flux)]), atol=4 / 65534)
    assert np.isnan(out.color[7])
    assert (out.matched, out.width, out.height) == (n + 5, 4000, 3000)
    assert out.pixel_scale_arcsec == pytest.approx(0.1)


def test_payload_minimal_is_twelve_bytes_per_source_and_block_offsets_are_aligned() -> None:
    n = 7
    data = encode_overlay(np.arange(n, dtype=float), np.zeros(n), np.arange(n), size_px=4.0)
    assert len(data) == HEADER_BYTES + 12 * n
    magic, version, flags, count = struct.unpack_from("<4sHHI", data)
    assert (magic, version, flags, count) == (MAGIC, 1, 0, n)
    x = np.frombuffer(data, "<f4", n, HEADER_BYTES)
    rows = np.frombuffer(data, "<u4", n, HEADER_BYTES + 8 * n)
    np.testing.assert_array_equal(x, np.arange(n))
    np.testing.assert_array_equal(rows, np.arange(n))
    assert decode_overlay(data).size_px.tolist() == [4.0] * n
    odd = encode_overlay(np.zeros(3), np.zeros(3), np.arange(3), size_px=np.ones(3))
    assert len(odd) % 4 == 0


def test_empty_payload() -> None:
    out = decode_overlay(encode_overlay(np.empty(0), np.empty(0), np.empty(0, np.int64), matched=12))
    assert out.rows.size == 0 and out.matched == 12


def test_quantize_constant_and_null() -> None:
    codes, lo, hi = quantize(np.array([2.0, 2.0, np.nan]))
    assert codes.tolist() == [0, 0, 65535] and lo == hi == 2.0
    codes, lo, hi = quantize(np.array([-1.0, 0.0, 10.0]), log=True)
    assert codes.tolist() == [65535, 65535, 0] and lo == hi == 1.0


def test_size_units() -> None:
    assert size_to_pixels(3.0, "px", 0.0).tolist() == 3.0
    np.testing.assert_allclose(size_to_pixels(np.array([1.0, 2.0]), "arcsec", 0.5), [2.0, 4.0])
    np.testing.assert_allclose(size_to_pixels(1 / 3600, "deg", 0.5), 2.0)
    with pytest.raises(InvalidParameter):
        size_to_pixels(1.0, "parsec", 0.5)
    with pytest.raises(InvalidParameter):
        size_to_pixels(1.0, "arcsec", 0.0)


def test_bad_payload_is_refused() -> None:
    with pytest.raises(InvalidParameter):
        decode_overlay(b"nope" * 20)


def test_galactic_image_takes_icrs_catalogs() -> None:
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    width, height = 120, 80
    header = make_wcs_header((height, width), 0.0, 0.0, 2.0)
    header["CTYPE1"], header["CTYPE2"] = "GLON-TAN", "GLAT-TAN"
    del header["RADESYS"]
    wcs = ImageWcs.from_header(header)
    rng = np.random.default_rng(5)
    gal = SkyCoord(l=rng.uniform(-0.05, 0.05, 2000) * u.deg, b=rng.uniform(-0.04, 0.04, 2000) * u.deg, frame="galactic")
    icrs = gal.icrs
    near = within_footprint(icrs.ra.deg, icrs.dec.deg, image_footprint(wcs, width, height))
    which, x, y = project_inside(wcs, icrs.ra.deg[near], icrs.dec.deg[near], width, height)
    rx, ry = WCS(header).all_world2pix(gal.l.deg, gal.b.deg, 0)
    inside = np.flatnonzero((rx >= -0.5) & (rx < width - 0.5) & (ry >= -0.5) & (ry < height - 0.5))
    np.testing.assert_array_equal(np.sort(near[which]), inside)
    order = np.argsort(near[which])
    np.testing.assert_allclose(x[order], rx[inside], atol=1e-6)
    np.testing.assert_allclose(y[order], ry[inside], atol=1e-6)


def test_cube_planes_project_like_the_celestial_wcs() -> None:
    from neloura.core.synthetic import CubeSpec, make_cube

    _, header = make_cube(CubeSpec(shape=(4, 40, 50)), seed=1)
    wcs = ImageWcs.from_header(header)
    celestial = WCS(header).celestial
    ra, dec = celestial.all_pix2world(np.array([3.0, 25.5, 49.0]), np.array([2.0, 20.0, 39.0]), 0)
    for plane in (0, 3):
        which, x, y = project_inside(wcs, ra, dec, 50, 40, plane=plane)
        assert which.tolist() == [0, 1, 2]
        np.testing.assert_allclose(x, [3.0, 25.5, 49.0], atol=1e-6)
        np.testing.assert_allclose(y, [2.0, 20.0, 39.0], atol=1e-6)
