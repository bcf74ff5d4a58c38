"""Cone, box and cross-match against astropy on the same inputs, at the poles and across RA 0/360."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord, search_around_sky

from neloura.core.crossmatch import SkyIndex, cone_search, crossmatch, ra_range_mask, separation_arcsec
from neloura.errors import InvalidParameter

# (name, centre ra, centre dec, half-size in degrees): a normal field, the RA seam, both poles.
FIELDS = [
    ("equator", 150.0, 2.0, 0.05),
    ("ra-wrap", 0.0, -30.0, 0.05),
    ("north-pole", 77.0, 89.97, 0.04),
    ("south-pole", 200.0, -89.99, 0.02),
]


def _field(ra0: float, dec0: float, half: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in a small cap (tangent-plane offsets, so the poles are covered properly)."""
    rng = np.random.default_rng(seed)
    centre = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    pa = rng.uniform(0, 360, n) * u.deg
    r = half * np.sqrt(rng.uniform(0, 1, n)) * u.deg
    pts = centre.directional_offset_by(pa, r)
    return pts.ra.deg, pts.dec.deg


def _pairs(a_rows: np.ndarray, b_rows: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(a_rows.tolist(), b_rows.tolist(), strict=True))


@pytest.mark.parametrize(("name", "ra0", "dec0", "half"), FIELDS)
def test_cone_equals_brute_force_astropy(name: str, ra0: float, dec0: float, half: float) -> None:
    ra, dec = _field(ra0, dec0, half, 20_000, seed=1)
    index = SkyIndex(ra, dec)
    radius = half * 3600 / 3
    for cra, cdec in [(ra0, dec0), (ra[5], dec[5]), (ra[7], dec[7])]:
        rows, sep = index.cone(float(cra), float(cdec), radius)
        truth = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(cra * u.deg, cdec * u.deg)).arcsec
        expected = np.flatnonzero(truth <= radius)
        assert rows.size > 50
        assert set(rows.tolist()) == set(expected.tolist())
        np.testing.assert_allclose(sep, truth[rows], atol=1e-6)
        assert np.all(np.diff(sep) >= 0), "nearest first"
        brute_rows, brute_sep = cone_search(ra, dec, float(cra), float(cdec), radius)
        np.testing.assert_array_equal(brute_rows, rows)
        np.testing.assert_allclose(brute_sep, sep, atol=1e-9)


def test_cone_crossing_ra_zero_finds_both_sides() -> None:
    ra = np.array([359.9999, 0.0001, 180.0, 359.9])
    dec = np.zeros(4)
    rows, sep = SkyIndex(ra, dec).cone(0.0, 0.0, 1.0)
    assert sorted(rows.tolist()) == [0, 1]
    np.testing.assert_allclose(sep, [0.36, 0.36], rtol=1e-6)


def test_cone_at_the_pole_covers_every_ra() -> None:
    ra = np.arange(0.0, 360.0, 10.0)
    dec = np.full(ra.size, 89.9999)
    rows, sep = SkyIndex(ra, dec).cone(123.0, 90.0, 0.5)
    assert rows.size == ra.size
    np.testing.assert_allclose(sep, 0.36, rtol=1e-6)


@pytest.mark.parametrize(("name", "ra0", "dec0", "half"), FIELDS)
def test_all_pairs_equal_search_around_sky(name: str, ra0: float, dec0: float, half: float) -> None:
    ra_b, dec_b = _field(ra0, dec0, half, 30_000, seed=2)
    rng = np.random.default_rng(3)
    pick = rng.choice(ra_b.size, 3_000, replace=False)
    jitter = SkyCoord(ra_b[pick] * u.deg, dec_b[pick] * u.deg).directional_offset_by(
        rng.uniform(0, 360, pick.size) * u.deg, rng.uniform(0, 2.0, pick.size) * u.arcsec
    )
    ra_a, dec_a = jitter.ra.deg, jitter.dec.deg
    radius = 2.0
    result = crossmatch(SkyIndex(ra_a, dec_a), SkyIndex(ra_b, dec_b), radius, "all")
    ia, ib, sep2d, _ = search_around_sky(
        SkyCoord(ra_a * u.deg, dec_a * u.deg), SkyCoord(ra_b * u.deg, dec_b * u.deg), radius * u.arcsec
    )
    assert len(result) == len(ia) > pick.size * 0.5
    assert _pairs(result.rows_a, result.rows_b) == _pairs(ia, ib)
    truth = {(a, b): s for a, b, s in zip(ia.tolist(), ib.tolist(), sep2d.arcsec.tolist(), strict=True)}
    got = np.array([truth[(a, b)] for a, b in zip(result.rows_a.tolist(), result.rows_b.tolist(), strict=True)])
    np.testing.assert_allclose(result.separation_arcsec, got, atol=1e-6)
    assert np.all(np.diff(result.rows_a) >= 0)


@pytest.mark.parametrize(("name", "ra0", "dec0", "half"), FIELDS)
def test_best_equals_match_to_catalog_sky(name: str, ra0: float, dec0: float, half: float) -> None:
    ra_a, dec_a = _field(ra0, dec0, half, 5_000, seed=4)
    ra_b, dec_b = _field(ra0, dec0, half, 20_000, seed=5)
    radius = 3.0
    result = crossmatch(SkyIndex(ra_a, dec_a), SkyIndex(ra_b, dec_b), radius, "best")
    idx, sep2d, _ = SkyCoord(ra_a * u.deg, dec_a * u.deg).match_to_catalog_sky(SkyCoord(ra_b * u.deg, dec_b * u.deg))
    matched = np.flatnonzero(sep2d.arcsec <= radius)
    assert matched.size > 100
    np.testing.assert_array_equal(result.rows_a, matched)
    np.testing.assert_array_equal(result.rows_b, idx[matched])
    np.testing.assert_allclose(result.separation_arcsec, sep2d.arcsec[matched], atol=1e-6)


def test_missing_positions_are_never_matched_and_rows_stay_in_file_order() -> None:
    ra_a = np.array([10.0, np.nan, 10.0, 20.0])
    dec_a = np.array([0.0, 0.0, np.nan, 0.0])
    ra_b = np.array([np.nan, 20.0 + 1 / 3600, 10.0])
    dec_b = np.array([0.0, 0.0, 0.0])
    best = crossmatch(SkyIndex(ra_a, dec_a), SkyIndex(ra_b, dec_b), 2.0, "best")
    assert best.rows_a.tolist() == [0, 3]
    assert best.rows_b.tolist() == [2, 1]
    np.testing.assert_allclose(best.separation_arcsec, [0.0, 1.0], atol=1e-6)
    every = crossmatch(SkyIndex(ra_a, dec_a), SkyIndex(ra_b, dec_b), 2.0, "all")
    assert _pairs(every.rows_a, every.rows_b) == {(0, 2), (3, 1)}


def test_identical_positions_match_at_zero_separation() -> None:
    ra = np.array([1.0, 2.0, 3.0])
    dec = np.array([-5.0, -5.0, -5.0])
    result = crossmatch(SkyIndex(ra, dec), SkyIndex(ra, dec), 0.5, "all")
    assert _pairs(result.rows_a, result.rows_b) == {(0, 0), (1, 1), (2, 2)}
    np.testing.assert_allclose(result.separation_arcsec, 0.0, atol=1e-9)


def test_empty_catalogs() -> None:
    empty = SkyIndex(np.array([]), np.array([]))
    some = SkyIndex(np.array([1.0]), np.array([1.0]))
    for mode in ("best", "all"):
        assert len(crossmatch(empty, some, 1.0, mode)) == 0  # type: ignore[arg-type]
        assert len(crossmatch(some, empty, 1.0, mode)) == 0  # type: ignore[arg-type]
    rows, sep = empty.cone(0.0, 0.0, 10.0)
    assert rows.size == sep.size == 0


@pytest.mark.parametrize(
    ("ra_min", "ra_max", "dec_min", "dec_max"),
    [(149.98, 150.02, 1.97, 2.01), (359.97, 0.03, -30.02, -29.99), (0.0, 360.0, 89.98, 90.0), (10, 200, -90, -89.995)],
)
def test_box_equals_numpy_reference(ra_min: float, ra_max: float, dec_min: float, dec_max: float) -> None:
    parts = [_field(ra0, dec0, half, 5_000, seed=6) for _, ra0, dec0, half in FIELDS]
    ra = np.concatenate([p[0] for p in parts])
    dec = np.concatenate([p[1] for p in parts])
    rows = SkyIndex(ra, dec).box(ra_min, ra_max, dec_min, dec_max)
    if ra_min <= ra_max:
        in_ra = (ra >= ra_min) & (ra <= ra_max) if ra_max - ra_min < 360 else np.ones(ra.size, bool)
    else:
        in_ra = (ra >= ra_min) | (ra <= ra_max)
    expected = np.flatnonzero(in_ra & (dec >= dec_min) & (dec <= dec_max))
    assert expected.size > 10
    np.testing.assert_array_equal(rows, expected)


def test_ra_range_mask_wraps() -> None:
    ra = np.array([355.0, 5.0, 180.0, -2.0, 365.0])
    assert ra_range_mask(ra, 350.0, 10.0).tolist() == [True, True, False, True, True]
    assert ra_range_mask(ra, -10.0, 10.0).tolist() == [True, True, False, True, True]


def test_separation_matches_astropy_at_large_angles() -> None:
    rng = np.random.default_rng(9)
    ra1, ra2 = rng.uniform(0, 360, (2, 1000))
    dec1, dec2 = rng.uniform(-90, 90, (2, 1000))
    ours = separation_arcsec(ra1, dec1, ra2, dec2)
    theirs = SkyCoord(ra1 * u.deg, dec1 * u.deg).separation(SkyCoord(ra2 * u.deg, dec2 * u.deg)).arcsec
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda i: i.cone(0.0, 91.0, 1.0),
        lambda i: i.cone(np.nan, 0.0, 1.0),
        lambda i: i.cone(0.0, 0.0, -1.0),
        lambda i: i.box(0.0, 1.0, 5.0, 1.0),
        lambda i: crossmatch(i, i, 1.0, "nearest"),
    ],
)
def test_bad_parameters_raise(call: object) -> None:
    index = SkyIndex(np.array([0.0]), np.array([0.0]))
    with pytest.raises(InvalidParameter):
        call(index)  # type: ignore[operator]


@pytest.mark.parametrize(("name", "ra0", "dec0", "half"), FIELDS)
def test_within_cap_equals_cone_in_file_order(name: str, ra0: float, dec0: float, half: float) -> None:
    ra, dec = _field(ra0, dec0, half, 10_000, seed=10)
    index = SkyIndex(ra, dec)
    radius = half * 3600 / 2
    rows, _ = index.cone(ra0, dec0, radius)
    capped = index.within_cap(ra0, dec0, radius)
    np.testing.assert_array_equal(capped, np.sort(rows))
    assert capped.size > 100


def test_all_pairs_in_a_dense_cluster_equal_search_around_sky() -> None:
    # 200 B sources within 1 arcsec of each A source: far more neighbours than one k-NN round holds
    rng = np.random.default_rng(12)
    centres = SkyCoord([10.0, 10.001, 359.9999] * u.deg, [-45.0, -45.0, 89.9999] * u.deg)
    ra_b, dec_b = [], []
    for c in centres:
        pts = c.directional_offset_by(rng.uniform(0, 360, 200) * u.deg, rng.uniform(0, 1.5, 200) * u.arcsec)
        ra_b.append(pts.ra.deg)
        dec_b.append(pts.dec.deg)
    rb, db = np.concatenate(ra_b), np.concatenate(dec_b)
    result = crossmatch(SkyIndex(centres.ra.deg, centres.dec.deg), SkyIndex(rb, db), 1.0, "all")
    ia, ib, _, _ = search_around_sky(centres, SkyCoord(rb * u.deg, db * u.deg), 1.0 * u.arcsec)
    assert len(ia) > 300
    assert _pairs(result.rows_a, result.rows_b) == _pairs(ia, ib)
    assert len(result) == len(ia)


def test_join_indices_matched_left_full() -> None:
    """TOPCAT's joins from the pairs: 1 and 2, all from 1 (A order kept), 1 or 2."""
    from neloura.core.crossmatch import MatchResult, join_indices

    pairs = MatchResult(np.array([1, 1, 3]), np.array([0, 2, 0]), np.array([0.1, 0.4, 0.2]))
    a, b, s = join_indices(pairs, 4, 4, "matched")
    assert a.tolist() == [1, 1, 3] and b.tolist() == [0, 2, 0]
    a, b, s = join_indices(pairs, 4, 4, "left")
    assert a.tolist() == [0, 1, 1, 2, 3] and b.tolist() == [-1, 0, 2, -1, 0]
    assert np.isnan(s[[0, 3]]).all() and s[1] == 0.1
    a, b, s = join_indices(pairs, 4, 4, "full")
    assert a.tolist() == [0, 1, 1, 2, 3, -1, -1] and b.tolist() == [-1, 0, 2, -1, 0, 1, 3]
    assert np.isnan(s[5:]).all()
