"""Catalog endpoints end to end: list, columns, rows, stats, export round-trips, upload, errors."""

from __future__ import annotations

import io
import shutil
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.io.votable import parse_single_table
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.settings import Settings
from tests.conftest import FITS_DATA, VOTABLE_DATA
from tests.runtime.test_catalogs import synthetic


@pytest.fixture
def catalogs(settings: Settings) -> Table:
    table = synthetic(n=2000)
    table["flux"].unit = "mJy"
    table.write(settings.catalogs_dir / "cat.fits")
    shutil.copy(VOTABLE_DATA / "vizier_b2_votable.xml", settings.catalogs_dir / "viz.xml")
    shutil.copy(FITS_DATA / "btable.fits", settings.catalogs_dir / "btable.fits")
    return table


def test_list_and_columns(client: TestClient, catalogs: Table) -> None:
    listing = client.get("/api/catalogs").json()
    by_name = {c["name"]: c for c in listing["catalogs"]}
    assert set(by_name) == {"cat.fits", "viz.xml", "btable.fits"}
    assert by_name["viz.xml"]["format"] == "votable" and by_name["cat.fits"]["size"] > 0
    body = client.get("/api/catalogs/columns", params={"name": "viz.xml"}).json()
    assert (body["ra_col"], body["dec_col"], body["rows"]) == ("RAJ2000", "DEJ2000", 20)
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["MajDiam"]["unit"] == "arcsec" and columns["MajDiam"]["ucd"] == "phys.angSize"
    assert set(columns["MajDiam"]) >= {"name", "dtype", "unit", "ucd", "description", "null_count", "min", "max"}
    flux = client.get("/api/catalogs/columns", params={"name": "cat.fits"}).json()["columns"][2]
    assert flux["null_count"] == int(np.isnan(catalogs["flux"]).sum())
    assert flux["max"] == pytest.approx(np.nanmax(catalogs["flux"]))


def test_rows_filter_sort_page(client: TestClient, catalogs: Table) -> None:
    params = {"name": "cat.fits", "filter": "flux > 2 && kind == 'star'", "sort": "-flux", "columns": "ra,flux,kind"}
    body = client.get("/api/catalogs/rows", params={**params, "limit": 7, "offset": 3}).json()
    flux = np.asarray(catalogs["flux"])
    mask = (flux > 2) & (np.asarray(catalogs["kind"]) == "star")
    assert body["total"] == int(mask.sum())
    assert body["columns"] == ["ra", "flux", "kind"]
    expected = np.sort(flux[mask])[::-1][3:10]
    np.testing.assert_allclose([r[1] for r in body["rows"]], expected)
    everything = client.get("/api/catalogs/rows", params={"name": "cat.fits", "limit": 2000}).json()
    assert any(row[2] is None for row in everything["rows"])  # NaN -> null in JSON


@pytest.mark.parametrize(
    "attack",
    [
        "1; DROP TABLE cat",
        "') OR 1=1 --",
        "flux > 0 UNION SELECT * FROM read_csv('/etc/passwd')",
        "read_csv('/etc/passwd')",
        "flux > 0; COPY cat TO '/tmp/x.csv'",
        'kind == "x" OR 1=1 --"',
        "system('ls')",
        "flux > 0 -- comment",
    ],
)
def test_injection_attempts_are_422_and_change_nothing(client: TestClient, catalogs: Table, attack: str) -> None:
    response = client.get("/api/catalogs/rows", params={"name": "cat.fits", "filter": attack})
    assert response.status_code == 422, response.text
    body = response.json()
    assert isinstance(body["position"], int) and "flux" in body["columns"]
    assert client.get("/api/catalogs/rows", params={"name": "cat.fits", "limit": 0}).json()["total"] == 2000


def test_string_literal_with_sql_is_only_a_value(client: TestClient, catalogs: Table) -> None:
    body = client.get("/api/catalogs/rows", params={"name": "cat.fits", "filter": 'kind == "star\' OR 1=1 --"'}).json()
    assert body["total"] == 0


def test_bad_requests_are_clear_4xx(client: TestClient, catalogs: Table) -> None:
    cases = [
        ({"name": "cat.fits", "filter": "flx > 1"}, 422, "unknown column 'flx'"),
        ({"name": "cat.fits", "filter": "matches(kind, '(')"}, 422, "could not be evaluated"),
        ({"name": "cat.fits", "sort": "nope"}, 422, "sort"),
        ({"name": "cat.fits", "columns": "ra,zz"}, 422, "unknown column 'zz'"),
        ({"name": "cat.fits", "limit": -1}, 422, "limit"),
        ({"name": "nope.fits"}, 404, "no such catalog"),
        ({"name": "../../etc/passwd"}, 403, "leaves"),
    ]
    for params, status, fragment in cases:
        response = client.get("/api/catalogs/rows", params=params)
        assert response.status_code == status, (params, response.text)
        assert fragment in response.json()["detail"]


def test_stats_endpoint(client: TestClient, catalogs: Table) -> None:
    body = client.get("/api/catalogs/stats", params={"name": "cat.fits", "column": "mag", "bins": 8}).json()
    mag = np.asarray(catalogs["mag"])
    assert body["count"] == 2000 and body["nulls"] == 0
    assert body["mean"] == pytest.approx(mag.mean()) and body["median"] == pytest.approx(np.median(mag))
    assert sum(body["histogram"]["counts"]) == 2000 and len(body["histogram"]["edges"]) == 9
    bad = client.get("/api/catalogs/stats", params={"name": "cat.fits", "column": "nope"})
    assert bad.status_code == 422


@pytest.mark.parametrize("fmt", ["csv", "fits", "votable", "parquet"])
def test_export_round_trips(client: TestClient, catalogs: Table, fmt: str) -> None:
    params = {"name": "cat.fits", "filter": "dec > 10", "columns": "ra,dec,flux", "format": fmt}
    response = client.get("/api/catalogs/export", params=params)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = io.BytesIO(response.content)
    if fmt == "csv":
        table = Table.read(response.text, format="ascii.csv")
    elif fmt == "fits":
        table = Table.read(fits.open(data)[1])
        assert table["flux"].unit == "mJy"
    elif fmt == "votable":
        table = parse_single_table(data).to_table()
        assert table["flux"].unit == "mJy"
    else:
        table = Table({k: v for k, v in pq.read_table(data).to_pydict().items()})
    mask = np.asarray(catalogs["dec"]) > 10
    assert table.colnames == ["ra", "dec", "flux"] and len(table) == int(mask.sum())
    np.testing.assert_allclose(np.asarray(table["ra"], dtype=float), np.asarray(catalogs["ra"])[mask])
    flux = np.ma.filled(np.ma.asarray(table["flux"]).astype(float), np.nan)
    np.testing.assert_array_equal(np.isnan(flux), np.isnan(np.asarray(catalogs["flux"])[mask]))


def test_export_rejects_bad_filter_and_format(client: TestClient, catalogs: Table) -> None:
    assert client.get("/api/catalogs/export", params={"name": "cat.fits", "filter": "x;"}).status_code == 422
    assert client.get("/api/catalogs/export", params={"name": "cat.fits", "format": "xls"}).status_code == 422


def test_upload_then_query_and_bad_upload(client: TestClient, settings: Settings) -> None:
    body = "ra,dec,flux\n10.0,-5.0,1.5\n11.0,-6.0,2.5\n12.0,-7.0,\n"
    kept = client.post("/api/catalogs/upload", files={"file": ("mine.csv", body.encode(), "text/csv")})
    assert kept.status_code == 200, kept.text
    assert kept.json()["name"] == "uploads/mine.csv"
    rows = client.get("/api/catalogs/rows", params={"name": "uploads/mine.csv", "filter": "flux > 2"}).json()
    assert rows["total"] == 1 and rows["rows"] == [[11.0, -6.0, 2.5]]
    bad = client.post("/api/catalogs/upload", files={"file": ("broken.vot", b"<VOTABLE><oops", "text/xml")})
    assert bad.status_code == 415 and "broken.vot" in bad.json()["detail"]
    wrong = client.post("/api/catalogs/upload", files={"file": ("x.exe", b"MZ", "application/octet-stream")})
    assert wrong.status_code == 415
    assert sorted(p.name for p in (settings.catalogs_dir / "uploads").iterdir()) == ["mine.csv"]


def test_open_reports_progress_events_and_other_endpoints_answer(client: TestClient, settings: Settings) -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    data = np.column_stack([rng.uniform(0, 360, n), rng.uniform(-90, 90, n), rng.normal(size=n)])
    np.savetxt(settings.catalogs_dir / "big.csv", data, delimiter=",", header="ra,dec,x", comments="", fmt="%.6f")
    shutil.copy(VOTABLE_DATA / "vizier_b2_votable.xml", settings.catalogs_dir / "viz.xml")
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        time.sleep(0.5)  # let the socket's forwarding task subscribe to the event bus first
        state = client.get("/api/catalogs/open", params={"name": "big.csv"}).json()
        assert state["state"] in ("converting", "ready")
        # other catalog endpoints answer meanwhile
        assert client.get("/api/catalogs").status_code == 200
        assert client.get("/api/catalogs/rows", params={"name": "viz.xml", "limit": 1}).json()["total"] == 20
        seen = []
        while True:
            event = ws.receive_json()
            if event.get("name") != "big.csv":
                continue
            seen.append(event["type"])
            if event["type"] == "catalog.ready":
                assert event["rows"] == n
                break
        assert "catalog.progress" in seen
    assert client.get("/api/catalogs/open", params={"name": "big.csv"}).json()["state"] == "ready"
