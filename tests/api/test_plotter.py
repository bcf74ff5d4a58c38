"""Plotter endpoints: column and expression payloads equal numpy on the table, filters, nulls,
colour and size, the 1 M-row plot, refusals, and the row-selection export."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.core.plotter import HEADER_BYTES, decode_plot
from neloura.errors import PayloadTooLarge
from neloura.runtime import plotter as runtime_plotter
from neloura.settings import Settings
from tests.runtime.test_catalogs import synthetic


@pytest.fixture
def table(settings: Settings) -> Table:
    t = synthetic(n=4000)
    t["flux"].unit = "mJy"
    t["flag"] = np.arange(len(t)) % 3 == 0
    t.write(settings.catalogs_dir / "cat.fits")
    return t


def _get(client: TestClient, **params: object) -> np.ndarray | object:
    r = client.get("/api/plotter/data", params={"name": "cat.fits", **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/octet-stream"
    return decode_plot(r.content)


def test_columns_and_expressions_equal_numpy(client: TestClient, table: Table) -> None:
    data = _get(client, x="ra", y="-2.5*log10(flux) + 23.9", color="dec", size="mag")
    np.testing.assert_array_equal(data.rows, np.arange(len(table)))
    np.testing.assert_array_equal(data.x, np.asarray(table["ra"]))
    flux = np.asarray(table["flux"], dtype=float)
    with np.errstate(invalid="ignore"):
        expected_y = -2.5 * np.log10(flux) + 23.9
    np.testing.assert_allclose(data.y, expected_y, rtol=1e-12, equal_nan=True)
    assert np.isnan(data.y[np.isnan(flux)]).all() and np.isnan(flux).any()  # nulls stay NaN
    np.testing.assert_allclose(data.color, np.asarray(table["dec"], np.float32))
    np.testing.assert_allclose(data.size, np.asarray(table["mag"], np.float32))
    assert data.catalog_rows == len(table)


def test_filter_keeps_file_order_and_row_indices(client: TestClient, table: Table) -> None:
    data = _get(client, x="mag", filter='kind == "star" && dec < 0')
    expected = np.flatnonzero((np.asarray(table["kind"]) == "star") & (np.asarray(table["dec"]) < 0))
    np.testing.assert_array_equal(data.rows, expected)
    np.testing.assert_array_equal(data.x, np.asarray(table["mag"])[expected])
    assert data.y is None and data.color is None and data.size is None
    booleans = _get(client, x="flag")  # booleans plot as 0/1
    np.testing.assert_array_equal(booleans.x, np.asarray(table["flag"], float))


def test_payload_size_is_compact(client: TestClient, table: Table) -> None:
    r = client.get("/api/plotter/data", params={"name": "cat.fits", "x": "ra", "y": "dec"})
    n = len(table)
    assert len(r.content) == HEADER_BYTES + 4 * n + (-(HEADER_BYTES + 4 * n) % 8) + 16 * n


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"x": "kind"}, 422, "needs numbers"),
        ({"x": "nope + 1"}, 422, "nope"),
        ({"x": "ra", "y": "log10("}, 422, "position"),
        ({"x": "ra", "filter": "flux >"}, 422, ""),
        ({"x": ""}, 422, "x"),
        ({"x": "ra", "name": "missing.fits"}, 404, "missing"),
        ({"x": "ra", "name": "../secret.csv"}, 403, ""),
    ],
)
def test_bad_requests_are_clear(
    client: TestClient, table: Table, params: dict[str, str], status: int, needle: str
) -> None:
    r = client.get("/api/plotter/data", params={"name": "cat.fits", **params})
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"]


def test_one_million_rows_plot_and_too_many_are_refused(settings: Settings, client: TestClient) -> None:
    n = 1_000_000
    rng = np.random.default_rng(3)
    a = rng.normal(size=n)
    Table({"a": a, "b": rng.normal(size=n).astype(np.float32)}).write(settings.catalogs_dir / "big.fits")
    r = client.get("/api/plotter/data", params={"name": "big.fits", "x": "a", "y": "b"})
    assert r.status_code == 200, r.text
    data = decode_plot(r.content)
    assert data.rows.size == n and data.rows[-1] == n - 1
    store = client.app.state.services.catalogs
    with pytest.raises(PayloadTooLarge, match="1,000,000 rows match; a plot takes at most 999,999"):
        runtime_plotter.plot_data(store, "big.fits", x="a", max_points=999_999)
    kept = runtime_plotter.plot_data(store, "big.fits", x="a", filter="a > 3", max_points=999_999)
    np.testing.assert_array_equal(decode_plot(kept).rows, np.flatnonzero(a > 3))


def test_export_rows_as_catalog(client: TestClient, table: Table) -> None:
    rows = [5, 17, 3999]
    r = client.post("/api/plotter/export", json={"name": "cat.fits", "rows": rows, "format": "fits"})
    assert r.status_code == 200, r.text
    assert "cat-selection.fits" in r.headers["content-disposition"]
    with fits.open(io.BytesIO(r.content)) as hdul:
        out = Table(hdul[1].data)
        assert hdul[1].header["TUNIT3"] == "mJy"
    np.testing.assert_array_equal(out["ra"], np.asarray(table["ra"])[rows])
    csv = client.post("/api/plotter/export", json={"name": "cat.fits", "rows": [], "columns": ["ra", "kind"]})
    assert csv.status_code == 200 and csv.text.strip() == '"ra","kind"'
    bad = client.post("/api/plotter/export", json={"name": "cat.fits", "rows": [4000]})
    assert bad.status_code == 422 and "0..3999" in bad.json()["detail"]
    unknown = client.post("/api/plotter/export", json={"name": "cat.fits", "rows": [1], "columns": ["zz"]})
    assert unknown.status_code == 422 and "zz" in unknown.json()["detail"]
