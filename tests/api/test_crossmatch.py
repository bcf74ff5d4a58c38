"""Cone, box and cross-match endpoints on seeded CSV catalogs (one straddling RA 0/360)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord, search_around_sky
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.settings import Settings


def _write(settings: Settings, name: str, ra: np.ndarray, dec: np.ndarray, **cols: np.ndarray) -> None:
    table = Table({"ra": ra, "dec": dec, "id": np.arange(ra.size), **cols})
    table.write(settings.catalogs_dir / name, format="ascii.csv", overwrite=True)


@pytest.fixture
def catalogs(settings: Settings) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    n = 4_000
    ra_b = np.mod(rng.uniform(-0.05, 0.05, n), 360.0)
    dec_b = rng.uniform(-0.05, 0.05, n)
    pick = rng.choice(n, 1_000, replace=False)
    ra_a = np.mod(ra_b[pick] + rng.normal(0, 0.4, pick.size) / 3600, 360.0)
    dec_a = dec_b[pick] + rng.normal(0, 0.4, pick.size) / 3600
    _write(settings, "b.csv", ra_b, dec_b, flux=rng.uniform(1, 100, n))
    _write(settings, "a.csv", ra_a, dec_a)
    (settings.catalogs_dir / "nopos.csv").write_text("alpha,beta\n1,2\n3,4\n")
    return {"a": (ra_a, dec_a), "b": (ra_b, dec_b)}


def test_cone_returns_rows_nearest_first_with_separation(client: TestClient, catalogs: dict) -> None:
    ra, dec = catalogs["b"]
    r = client.get("/api/catalogs/cone", params={"name": "b.csv", "ra": "0.0", "dec": "0", "radius_arcsec": 60})
    assert r.status_code == 200, r.text
    body = r.json()
    truth = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(0 * u.deg, 0 * u.deg)).arcsec
    expected = np.flatnonzero(truth <= 60)
    assert body["total"] == expected.size > 10
    assert body["columns"] == ["ra", "dec", "id", "flux", "separation_arcsec"]
    assert len(body["rows"]) == min(100, expected.size)
    seps = [row[-1] for row in body["rows"]]
    assert seps == sorted(seps)
    ids = [row[2] for row in body["rows"]]
    assert ids == body["index"]
    np.testing.assert_allclose(seps, truth[ids], atol=1e-4)  # CSV round trip of the positions
    # both sides of RA 0 are found
    assert min(row[0] for row in body["rows"]) < 1 and max(row[0] for row in body["rows"]) > 359


def test_cone_accepts_sexagesimal_columns_filter_and_paging(client: TestClient, catalogs: dict) -> None:
    params = {"name": "b.csv", "ra": "00:00:00", "dec": "-00:00:00", "radius_arcsec": 90}
    full = client.get("/api/catalogs/cone", params={**params, "limit": 10000}).json()
    page = client.get("/api/catalogs/cone", params={**params, "offset": 3, "limit": 2, "columns": "id,flux"}).json()
    assert page["columns"] == ["id", "flux", "separation_arcsec"]
    assert [row[0] for row in page["rows"]] == full["index"][3:5]
    bright = client.get("/api/catalogs/cone", params={**params, "filter": "flux > 50", "limit": 10000}).json()
    assert 0 < bright["total"] < full["total"]
    assert bright["index"] == [i for i, row in zip(full["index"], full["rows"], strict=True) if row[3] > 50]


def test_box_wraps_around_ra_zero(client: TestClient, catalogs: dict) -> None:
    ra, dec = catalogs["b"]
    params = {"name": "b.csv", "ra_min": 359.98, "ra_max": 0.02, "dec_min": -0.01, "dec_max": 0.03, "limit": 10000}
    body = client.get("/api/catalogs/box", params=params).json()
    expected = np.flatnonzero(((ra >= 359.98) | (ra <= 0.02)) & (dec >= -0.01) & (dec <= 0.03))
    assert body["index"] == expected.tolist()
    assert body["total"] == expected.size > 10


@pytest.mark.parametrize("mode", ["all", "best"])
def test_crossmatch_equals_astropy(client: TestClient, catalogs: dict, mode: str) -> None:
    a = SkyCoord(catalogs["a"][0] * u.deg, catalogs["a"][1] * u.deg)
    b = SkyCoord(catalogs["b"][0] * u.deg, catalogs["b"][1] * u.deg)
    r = client.post(
        "/api/catalogs/crossmatch",
        json={"a": "a.csv", "b": "b.csv", "radius_arcsec": 1.5, "mode": mode, "limit": 100000},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    if mode == "all":
        ia, ib, _, _ = search_around_sky(a, b, 1.5 * u.arcsec)
        expected = sorted(zip(ia.tolist(), ib.tolist(), strict=True))
    else:
        idx, sep2d, _ = a.match_to_catalog_sky(b)
        keep = np.flatnonzero(sep2d.arcsec <= 1.5)
        expected = list(zip(keep.tolist(), idx[keep].tolist(), strict=True))
    assert body["total"] == len(expected) > 500
    got = sorted((p[0], p[1]) for p in body["pairs"])
    assert got == sorted(expected)
    assert all(0 <= p[2] <= 1.5 for p in body["pairs"])
    page = client.post(
        "/api/catalogs/crossmatch",
        json={"a": "a.csv", "b": "b.csv", "radius_arcsec": 1.5, "mode": mode, "offset": 10, "limit": 5},
    ).json()
    assert page["pairs"] == body["pairs"][10:15] and page["total"] == body["total"]


CONE = {"name": "b.csv", "ra": "0", "dec": "0", "radius_arcsec": 5}


@pytest.mark.parametrize(
    ("method", "url", "payload", "status"),
    [
        ("get", "/api/catalogs/cone", {"name": "b.csv", "ra": "abc", "dec": "0", "radius_arcsec": 5}, 422),
        ("get", "/api/catalogs/cone", {"name": "b.csv", "ra": "0", "dec": "95", "radius_arcsec": 5}, 422),
        ("get", "/api/catalogs/cone", {"name": "b.csv", "ra": "0", "dec": "0", "radius_arcsec": -1}, 422),
        ("get", "/api/catalogs/cone", {"name": "nope.csv", "ra": "0", "dec": "0", "radius_arcsec": 5}, 404),
        ("get", "/api/catalogs/cone", {"name": "../../etc/passwd", "ra": "0", "dec": "0", "radius_arcsec": 5}, 403),
        ("get", "/api/catalogs/cone", {"name": "nopos.csv", "ra": "0", "dec": "0", "radius_arcsec": 5}, 422),
        (
            "get",
            "/api/catalogs/cone",
            {**CONE, "columns": "x"},
            422,
        ),
        (
            "get",
            "/api/catalogs/cone",
            {**CONE, "ra_col": "zz"},
            422,
        ),
        ("get", "/api/catalogs/box", {"name": "b.csv", "ra_min": 0, "ra_max": 1, "dec_min": 5, "dec_max": 1}, 422),
        ("post", "/api/catalogs/crossmatch", {"a": "a.csv", "b": "b.csv", "radius_arcsec": 0}, 422),
        ("post", "/api/catalogs/crossmatch", {"a": "a.csv", "b": "b.csv", "radius_arcsec": 1, "mode": "x"}, 422),
        ("post", "/api/catalogs/crossmatch", {"a": "a.csv", "b": "/etc/passwd", "radius_arcsec": 1}, 403),
    ],
)
def test_bad_requests_are_clear_4xx(
    client: TestClient, catalogs: dict, method: str, url: str, payload: dict, status: int
) -> None:
    if method == "get":
        r = client.get(url, params=payload)
    else:
        r = client.post(url, json=payload)
    assert r.status_code == status, r.text
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_filter_injection_is_rejected(client: TestClient, catalogs: dict) -> None:
    r = client.get(
        "/api/catalogs/cone",
        params={"name": "b.csv", "ra": "0", "dec": "0", "radius_arcsec": 60, "filter": "1; DROP TABLE cat"},
    )
    assert r.status_code == 422
    again = client.get("/api/catalogs/cone", params={"name": "b.csv", "ra": "0", "dec": "0", "radius_arcsec": 60})
    assert again.status_code == 200 and again.json()["total"] > 0


def test_crossmatch_joined_table_has_both_catalogs_columns_with_suffixes(client: TestClient, catalogs: dict) -> None:
    """Issue 14 point 14: TOPCAT-style joined table (A's columns, B's columns, clashes suffixed,
    separation), unmatched rows optional, paged in JSON and exported in full."""
    ra_a, dec_a = catalogs["a"]
    ra_b, dec_b = catalogs["b"]
    a, b = SkyCoord(ra_a * u.deg, dec_a * u.deg), SkyCoord(ra_b * u.deg, dec_b * u.deg)
    nearest, sep, _ = a.match_to_catalog_sky(b)
    hit = sep.arcsec <= 1.0
    flux_b = Table.read(str(client.app.state.settings.catalogs_dir / "b.csv"), format="ascii.csv")["flux"]
    base = {"a": "a.csv", "b": "b.csv", "radius_arcsec": 1.0, "mode": "best", "limit": 100_000}
    body = client.post("/api/catalogs/crossmatch", json={**base, "join": "matched"}).json()
    assert body["columns"] == ["ra_1", "dec_1", "id_1", "ra_2", "dec_2", "id_2", "flux", "separation_arcsec"]
    assert body["joined_total"] == body["total"] == int(hit.sum())
    for row, ra_row, rb_row in zip(body["rows"], body["rows_a"], body["rows_b"], strict=True):
        assert row[2] == ra_row and row[5] == rb_row == int(nearest[ra_row])
        assert row[6] == pytest.approx(flux_b[rb_row]) and row[7] == pytest.approx(sep.arcsec[ra_row], abs=1e-3)
    left = client.post("/api/catalogs/crossmatch", json={**base, "join": "left", "suffix_a": "_a"}).json()
    assert left["joined_total"] == ra_a.size and left["columns"][0] == "ra_a"
    assert [r[2] for r in left["rows"]] == list(range(ra_a.size))  # every A row, file order
    lonely = [r for r in left["rows"] if r[3] is None]
    assert len(lonely) == int((~hit).sum()) and all(r[-1] is None for r in lonely)
    full = client.post("/api/catalogs/crossmatch", json={**base, "join": "full", "offset": 0, "limit": 5}).json()
    matched_b = np.unique(nearest[hit]).size
    assert full["joined_total"] == ra_a.size + ra_b.size - matched_b and len(full["rows"]) == 5
    plain = client.post("/api/catalogs/crossmatch", json=base).json()
    assert "columns" not in plain and len(plain["pairs"]) == plain["total"]  # the old answer stays as it was
    r = client.get("/api/catalogs/crossmatch/export", params={**base, "join": "left", "format": "csv"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    exported = Table.read(r.text, format="ascii.csv")
    assert len(exported) == ra_a.size and exported.colnames == body["columns"]
    r = client.get("/api/catalogs/crossmatch/export", params={**base, "format": "fits"})
    assert r.status_code == 200 and r.content[:6] == b"SIMPLE"
    bad = client.post("/api/catalogs/crossmatch", json={**base, "join": "matched", "suffix_a": "", "suffix_b": ""})
    assert bad.status_code == 422 and "suffix" in bad.json()["detail"]
