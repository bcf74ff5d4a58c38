"""ImageWcs against astropy's full WCS on astropy's own real headers, and against injected truth."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import ICRS, SkyCoord
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS
from astropy.wcs.utils import wcs_to_celestial_frame

from neloura.core.synthetic import CubeSpec, make_cube, make_wcs_header
from neloura.core.wcs import ImageWcs, NoCelestialWcs
from neloura.core.wcs_header import plane_pixel_axis
from neloura.errors import InvalidParameter
from tests.conftest import WCS_DATA, WCSAXES_DATA

MAS_DEG = 1.0 / 3.6e6


def _read_header(path: Path) -> fits.Header:
    """Headers as astropy ships them: 80-char cards run together, or one per line."""
    if path.suffix in (".fits", ".gz"):
        return fits.getheader(path, 0)
    text = path.read_bytes().decode("latin-1")
    if "\n" in text.strip():
        return fits.Header.fromstring(text, sep="\n")
    return fits.Header.fromstring(text)


def _reference_wcs(header: fits.Header) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        return WCS(header, relax=True)


def _reference_world(reference: WCS, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """astropy's ``all_pix2world`` of 0-based pixels (x, y) on the first plane of every other axis."""
    pixels = np.zeros((len(x), reference.naxis))
    pixels[:, 0], pixels[:, 1] = x, y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        world: np.ndarray = reference.all_pix2world(pixels, 0)
    return world


def _grid(header: fits.Header, n: int = 7) -> tuple[np.ndarray, np.ndarray]:
    nx = int(header.get("NAXIS1", 0) or 0) or int(2 * float(header.get("CRPIX1", 50)))
    ny = int(header.get("NAXIS2", 0) or 0) or int(2 * float(header.get("CRPIX2", 50)))
    xs = np.linspace(-0.5, max(nx, 2) - 0.5, n)
    ys = np.linspace(-0.5, max(ny, 2) - 0.5, n)
    gx, gy = np.meshgrid(xs, ys)
    return gx.ravel(), gy.ravel()


def _separation_deg(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    a = SkyCoord(lon1 * u.deg, lat1 * u.deg)
    b = SkyCoord(lon2 * u.deg, lat2 * u.deg)
    return np.asarray(a.separation(b).to_value(u.deg))


REAL_CELESTIAL_HEADERS = sorted(
    [p for p in (WCS_DATA / "maps").glob("*.hdr")]
    + [
        WCS_DATA / name
        for name in (
            "irac_sip.hdr",
            "siponly.hdr",
            "tpvonly.hdr",
            "zpn-hole.hdr",
            "2wcses.hdr",
            "locale.hdr",
            "3d_cd.hdr",
            "unit.hdr",
            "outside_sky.hdr",
            "sip.fits",
            "sip2.fits",
        )
    ]
    + [WCSAXES_DATA / name for name in ("2MASS_k_header", "msx_header", "rosat_header", "cube_header")],
    key=lambda p: p.name,
)


@pytest.mark.parametrize("path", REAL_CELESTIAL_HEADERS, ids=lambda p: p.name)
def test_native_world_equals_astropy_all_pix2world(path: Path) -> None:
    header = _read_header(path)
    reference = _reference_wcs(header)
    image_wcs = ImageWcs.from_header(header)
    assert image_wcs.has_celestial
    x, y = _grid(header)
    lon, lat = image_wcs.pixel_to_native(x, y)
    world = _reference_world(reference, x, y)
    ref_lon, ref_lat = world[:, reference.wcs.lng], world[:, reference.wcs.lat]
    valid = np.isfinite(ref_lon) & np.isfinite(ref_lat)
    assert valid.sum() >= 3, "the grid must hit the valid part of the projection"
    np.testing.assert_array_equal(np.isfinite(lon), valid)
    assert np.all(_separation_deg(lon[valid], lat[valid], ref_lon[valid], ref_lat[valid]) < MAS_DEG)


@pytest.mark.parametrize("path", REAL_CELESTIAL_HEADERS, ids=lambda p: p.name)
def test_icrs_output_matches_astropy_frame_transform(path: Path) -> None:
    header = _read_header(path)
    reference = _reference_wcs(header)
    image_wcs = ImageWcs.from_header(header)
    x, y = _grid(header)
    ra, dec = image_wcs.pixel_to_world(x, y)
    world = _reference_world(reference, x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        native = SkyCoord(
            world[:, reference.wcs.lng] * u.deg,
            world[:, reference.wcs.lat] * u.deg,
            frame=wcs_to_celestial_frame(reference),
        )
        icrs = native.transform_to(ICRS())
    valid = np.isfinite(icrs.ra.deg)
    assert np.all(_separation_deg(ra[valid], dec[valid], icrs.ra.deg[valid], icrs.dec.deg[valid]) < MAS_DEG)
    assert np.all((ra[valid] >= 0) & (ra[valid] < 360))


@pytest.mark.parametrize(
    "name", ["irac_sip.hdr", "siponly.hdr", "tpvonly.hdr", "sip.fits", "1904-66_ZPN.hdr", "1904-66_TAN.hdr"]
)
def test_world_to_pixel_round_trips_through_distortions(name: str) -> None:
    path = WCS_DATA / name if (WCS_DATA / name).exists() else WCS_DATA / "maps" / name
    header = _read_header(path)
    image_wcs = ImageWcs.from_header(header)
    x, y = _grid(header, 5)
    ra, dec = image_wcs.pixel_to_world(x, y)
    back_x, back_y = image_wcs.world_to_pixel(ra, dec)
    ok = np.isfinite(ra)
    np.testing.assert_allclose(back_x[ok], x[ok], atol=1e-4)
    np.testing.assert_allclose(back_y[ok], y[ok], atol=1e-4)


def test_sip_distortion_is_applied_not_a_linear_approximation() -> None:
    header = _read_header(WCS_DATA / "irac_sip.hdr")
    with_sip = ImageWcs.from_header(header)
    linear = header.copy()
    for key in list(linear.keys()):
        if key[:2] in ("A_", "B_") or key[:3] in ("AP_", "BP_"):
            del linear[key]
    linear["CTYPE1"], linear["CTYPE2"] = "RA---TAN", "DEC--TAN"
    corner = (np.array([0.0]), np.array([0.0]))
    ra_sip, dec_sip = with_sip.pixel_to_world(*corner)
    ra_lin, dec_lin = ImageWcs.from_header(linear).pixel_to_world(*corner)
    assert with_sip.summary()["has_sip"]
    assert _separation_deg(ra_sip, dec_sip, ra_lin, dec_lin)[0] > 20 * MAS_DEG


def test_lookup_table_distortion_needs_and_uses_the_file() -> None:
    path = WCS_DATA / "ie6d07ujq_wcs.fits"
    with fits.open(path) as hdul:
        header = hdul[0].header
        with_file = ImageWcs.from_header(header, fobj=hdul)
        reference = WCS(header, hdul)
        x, y = np.array([10.0, 500.0]), np.array([20.0, 700.0])
        lon, lat = with_file.pixel_to_native(x, y)
        world = reference.all_pix2world(np.column_stack([x, y]), 0)
    assert with_file.summary()["has_distortion"]
    assert np.all(_separation_deg(lon, lat, world[:, 0], world[:, 1]) < MAS_DEG)


def test_tan_projection_against_the_gnomonic_formula() -> None:
    """Injected truth: the inverse gnomonic projection written out by hand (rotated CD)."""
    shape, ra0, dec0, scale, rot = (400, 600), 83.633, 22.0145, 0.4, 30.0
    image_wcs = ImageWcs.from_header(make_wcs_header(shape, ra0, dec0, scale, rotation_deg=rot))
    x = np.array([0.0, 599.0, 17.3, 300.0, 450.5])
    y = np.array([0.0, 399.0, 380.2, 10.0, 199.5])
    dx, dy = x - (shape[1] - 1) / 2, y - (shape[0] - 1) / 2  # CRPIX is the centre (1-based)
    t = math.radians(rot)
    xi = np.radians((-scale / 3600) * (math.cos(t) * dx - math.sin(t) * dy))
    eta = np.radians((scale / 3600) * (math.sin(t) * dx + math.cos(t) * dy))
    a0, d0 = math.radians(ra0), math.radians(dec0)
    denom = math.cos(d0) - eta * math.sin(d0)
    ra_true = np.degrees(a0 + np.arctan2(xi, denom)) % 360
    dec_true = np.degrees(np.arctan2(math.sin(d0) + eta * math.cos(d0), np.hypot(xi, denom)))
    ra, dec = image_wcs.pixel_to_world(x, y)
    assert np.all(_separation_deg(ra, dec, ra_true, dec_true) < MAS_DEG)


def test_far_side_of_tan_is_nan_not_garbage() -> None:
    image_wcs = ImageWcs.from_header(make_wcs_header((100, 100), 10.0, 20.0, 1.0))
    x, y = image_wcs.world_to_pixel([190.0, 10.0], [-20.0, 20.0])
    assert np.isnan(x[0]) and np.isnan(y[0])
    np.testing.assert_allclose([x[1], y[1]], [49.5, 49.5], atol=1e-6)


def test_batches_are_vectorised_and_validated() -> None:
    image_wcs = ImageWcs.from_header(make_wcs_header((1000, 1000), 10.0, 20.0, 0.2))
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 999, 20_000), rng.uniform(0, 999, 20_000)
    ra, dec = image_wcs.pixel_to_world(x, y)
    assert ra.shape == (20_000,)
    bx, by = image_wcs.world_to_pixel(ra, dec)
    np.testing.assert_allclose(bx, x, atol=1e-6)
    np.testing.assert_allclose(by, y, atol=1e-6)
    empty = image_wcs.pixel_to_world([], [])
    assert empty[0].shape == (0,)
    with pytest.raises(InvalidParameter):
        image_wcs.world_to_pixel([1.0], [95.0])
    with pytest.raises(InvalidParameter):
        image_wcs.world_to_pixel([1.0], [1.0], frame="martian")


def test_no_celestial_wcs() -> None:
    header = fits.Header({"NAXIS": 2, "NAXIS1": 10, "NAXIS2": 10})
    image_wcs = ImageWcs.from_header(header)
    assert not image_wcs.has_celestial
    assert image_wcs.summary()["has_celestial"] is False
    with pytest.raises(NoCelestialWcs):
        image_wcs.pixel_to_world([1.0], [1.0])
    with pytest.raises(NoCelestialWcs):
        image_wcs.pixel_scale_arcsec()
    unreadable = ImageWcs.from_header(_read_header(WCS_DATA / "nonstandard_units.hdr"))  # astropy refuses it
    assert unreadable.wcs is None and not unreadable.has_celestial
    assert unreadable.summary()["has_celestial"] is False and unreadable.spectral_value(0) is None
    assert not ImageWcs.from_header(_read_header(WCSAXES_DATA / "slice_header")).has_celestial


def test_pixel_scale_and_area() -> None:
    image_wcs = ImageWcs.from_header(make_wcs_header((100, 100), 10.0, 20.0, 0.25, rotation_deg=33.0))
    assert image_wcs.pixel_scale_arcsec() == pytest.approx(0.25, rel=1e-9)
    assert image_wcs.pixel_area_sr() == pytest.approx((0.25 / 206264.80624709636) ** 2, rel=1e-9)
    summary = image_wcs.summary()
    assert summary["projection"] == "TAN" and summary["frame"] == "icrs"
    assert summary["pixel_area_sr"] == pytest.approx(image_wcs.pixel_area_sr())
    assert summary["center_ra_deg"] == pytest.approx(10.0) and summary["center_dec_deg"] == pytest.approx(20.0)


def _alma_header(stokes: bool = True) -> fits.Header:
    data, header = make_cube(CubeSpec((12, 16, 20), stokes=stokes), seed=1)
    for i, n in enumerate(reversed(data.shape), start=1):
        header[f"NAXIS{i}"] = n
    header["NAXIS"] = data.ndim
    return header


def test_alma_cube_planes_step_along_freq_with_degenerate_stokes() -> None:
    header = _alma_header()
    image_wcs = ImageWcs.from_header(header)
    assert plane_pixel_axis(header) == 2 and image_wcs.plane_axis == 2
    values, unit, kind = image_wcs.spectral_values(np.arange(12))  # type: ignore[misc]
    expected = header["CRVAL3"] + (np.arange(12) + 1 - header["CRPIX3"]) * header["CDELT3"]
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-3)
    assert (unit, kind) == ("Hz", "frequency")
    assert image_wcs.spectral_value(5) == pytest.approx((expected[5], "Hz", "frequency"))
    # the celestial position does not move with the plane for this separable cube
    a = image_wcs.pixel_to_world([3.0], [4.0], plane=0)
    b = image_wcs.pixel_to_world([3.0], [4.0], plane=11)
    assert _separation_deg(a[0], a[1], b[0], b[1])[0] < MAS_DEG
    reference = _reference_wcs(header)
    world = reference.all_pix2world([[3.0, 4.0, 7.0, 0.0]], 0)[0]
    ra, dec = image_wcs.pixel_to_world([3.0], [4.0], plane=7)
    assert _separation_deg(ra, dec, world[:1], world[1:2])[0] < MAS_DEG
    x, y = image_wcs.world_to_pixel(ra, dec, plane=7)
    np.testing.assert_allclose([x[0], y[0]], [3.0, 4.0], atol=1e-6)


def test_velocity_cube_keeps_header_units() -> None:
    header = _read_header(WCSAXES_DATA / "cube_header")
    header["NAXIS"], header["NAXIS1"], header["NAXIS2"], header["NAXIS3"] = 3, 30, 40, 25
    image_wcs = ImageWcs.from_header(header)
    assert image_wcs.plane_axis == 2
    value, unit, kind = image_wcs.spectral_value(10)  # type: ignore[misc]
    assert kind == "velocity" and u.Unit(unit) == u.m / u.s
    assert value == pytest.approx(header["CRVAL3"] + (11 - header["CRPIX3"]) * header["CDELT3"], rel=1e-9)
    kms = header.copy()
    kms["CUNIT3"] = "km/s"
    kms["CRVAL3"] /= 1000
    kms["CDELT3"] /= 1000
    value_kms, unit_kms, _ = ImageWcs.from_header(kms).spectral_value(10)  # type: ignore[misc]
    assert u.Unit(unit_kms) == u.km / u.s and value_kms == pytest.approx(value / 1000, rel=1e-9)


def test_wavelength_cube_with_cd_matrix() -> None:
    header = _read_header(WCS_DATA / "3d_cd.hdr")
    header["NAXIS1"], header["NAXIS2"], header["NAXIS3"] = 50, 60, 20
    image_wcs = ImageWcs.from_header(header)
    value, unit, kind = image_wcs.spectral_value(3)  # type: ignore[misc]
    reference = _reference_wcs(header)
    expected = reference.all_pix2world([[24.5, 29.5, 3.0]], 0)[0, 2]
    assert kind == "wavelength" and u.Unit(unit) == u.nm
    assert (value * u.nm).to_value(u.m) == pytest.approx(expected, rel=1e-12)


def test_plane_axis_without_spectral_axis_is_first_non_degenerate() -> None:
    header = fits.Header({"NAXIS": 4, "NAXIS1": 10, "NAXIS2": 10, "NAXIS3": 1, "NAXIS4": 3})
    assert plane_pixel_axis(header) == 3
    assert plane_pixel_axis(fits.Header({"NAXIS": 2, "NAXIS1": 5, "NAXIS2": 5})) is None
    stokes = _alma_header(stokes=True)
    del stokes["CTYPE3"]
    stokes["NAXIS3"] = 1
    stokes["NAXIS4"] = 4
    image_wcs = ImageWcs.from_header(stokes)
    assert image_wcs.plane_axis == 3
    values, _unit, kind = image_wcs.plane_values(np.arange(4))  # type: ignore[misc]
    assert kind == "stokes" and list(values) == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("path", sorted((WCS_DATA / "spectra").glob("*.hdr")), ids=lambda p: p.name)
def test_spectrum_along_x_reports_the_spectral_value_per_pixel(path: Path) -> None:
    """astropy's Orion spectra: the spectral axis is FITS axis 1 (x), so it is not a plane axis."""
    header = _read_header(path)
    reference = _reference_wcs(header)
    image_wcs = ImageWcs.from_header(header)
    assert image_wcs.spectral_values(np.arange(1)) is None  # planes do not step along it
    spectral = image_wcs.spectral_at(1000.0, 0.0, 0)
    assert spectral is not None
    value, unit, kind = spectral
    pixel = np.zeros((1, reference.naxis))
    pixel[0, 0] = 1000.0
    expected = reference.all_pix2world(pixel, 0)[0, reference.wcs.spec]
    si = u.Unit(str(reference.wcs.cunit[reference.wcs.spec]))
    assert (value * u.Unit(unit)).to_value(si) == pytest.approx(expected, rel=1e-12)
    assert kind in ("frequency", "velocity", "wavelength")


def _with_long_commentary(header: fits.Header, n: int) -> fits.Header:
    """``header`` plus ``n`` HISTORY, COMMENT and INST<i> cards each, in one pass. The commentary
    goes after the last card of its kind, as ``add_history``/``add_comment`` put it, the keywords at
    the end (the same header, card for card, as adding them one by one, which takes astropy ~35 s
    for 9,000 cards: each insertion re-indexes the header)."""
    cards = list(header.cards)
    added = {
        "HISTORY": [fits.Card("HISTORY", f"step {i}") for i in range(n)],
        "COMMENT": [fits.Card("COMMENT", f"note {i}") for i in range(n)],
    }
    at = {key: max((i for i, c in enumerate(cards) if c.keyword == key), default=len(cards) - 1) + 1 for key in added}
    for key in sorted(added, key=lambda k: -at[k]):  # the later place first: the earlier index holds
        cards[at[key] : at[key]] = added[key]
    return fits.Header(cards + [fits.Card(f"INST{i}", i, "an instrument keyword") for i in range(n)])


def test_long_commentary_headers_give_the_same_wcs() -> None:
    """Long headers are parsed without HISTORY/COMMENT (seconds saved); the WCS must not change."""
    header = _with_long_commentary(_read_header(WCS_DATA / "irac_sip.hdr"), 3_000)
    image_wcs = ImageWcs.from_header(header)
    x, y = _grid(header, 5)
    lon, lat = image_wcs.pixel_to_native(x, y)
    world = _reference_wcs(header).all_pix2world(np.column_stack([x, y]), 0)
    assert np.all(_separation_deg(lon, lat, world[:, 0], world[:, 1]) < MAS_DEG)
    assert image_wcs.summary()["has_sip"] and len(image_wcs.header) > 9_000


def test_long_header_keeps_lookup_table_distortions() -> None:
    path = WCS_DATA / "ie6d07ujq_wcs.fits"
    with fits.open(path) as hdul:
        header = hdul[0].header.copy()
        for i in range(1_500):
            header[f"FILL{i}"] = i
        reference = WCS(hdul[0].header, hdul)
        image_wcs = ImageWcs.from_header(header, fobj=hdul)
        x, y = np.array([10.0, 500.0, 3000.0]), np.array([20.0, 700.0, 1500.0])
        lon, lat = image_wcs.pixel_to_native(x, y)
        world = reference.all_pix2world(np.column_stack([x, y]), 0)
    assert image_wcs.summary()["has_distortion"]
    assert np.all(_separation_deg(lon, lat, world[:, 0], world[:, 1]) < MAS_DEG)
