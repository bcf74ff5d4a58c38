"""Issue 13 (points 2, 4, 6) and 14.2 through the API: computed columns compiled once as a DAG
(the doubling chain refused by its depth limit, never an exponential query), computed columns
with every filter/sort/columns/stats/export/overlay combination, a deadline on every catalog
query, ``[N]`` only for FITS table HDUs (one cache per real table)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pyarrow as pa
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from fastapi.testclient import TestClient

from neloura.core.overlay import decode_overlay
from neloura.core.synthetic import make_wcs_header
from neloura.errors import DeadlineExceeded
from neloura.runtime.catalog_queries import MAX_COMPUTED, MAX_COMPUTED_DEPTH, build_query
from neloura.runtime.catalogs import CatalogStore
from neloura.settings import Settings
from tests import hostile_corpus as corpus

N = 2_000


@pytest.fixture
def scene(settings: Settings) -> dict:
    header = make_wcs_header((400, 400), 150.0, 2.0, 0.5)
    fits.PrimaryHDU(np.zeros((400, 400), np.float32), header).writeto(settings.files_dir / "field.fits")
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0, 399, N), rng.uniform(0, 399, N)
    ra, dec = WCS(header).all_pix2world(x, y, 0)
    flux = 10 ** rng.uniform(0, 3, N)
    mag = -2.5 * np.log10(flux * 1e-6 / 3631)
    Table({"ra": ra, "dec": dec, "flux_ujy": flux, "mag_ab": mag}).write(settings.catalogs_dir / "cat.csv")
    return {"x": x, "y": y, "flux": flux, "mag": mag}


def _rows(client: TestClient, **params: object) -> dict:
    response = client.get("/api/catalogs/rows", params={"name": "cat.csv", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_doubling_chain_is_refused_by_its_depth_limit(client: TestClient, scene: dict) -> None:
    response = client.get("/api/catalogs/rows", params={"name": "cat.csv", "computed": corpus.computed_chain(20)})
    assert response.status_code == 422
    assert f"limit of {MAX_COMPUTED_DEPTH}" in response.json()["detail"]
    too_many = [f"k{i}=flux_ujy+{i}" for i in range(MAX_COMPUTED + 1)]
    response = client.get("/api/catalogs/rows", params={"name": "cat.csv", "computed": too_many})
    assert response.status_code == 422 and f"limit of {MAX_COMPUTED}" in response.json()["detail"]


def test_a_chain_within_the_limit_is_exact_and_its_sql_linear(client: TestClient, scene: dict) -> None:
    steps = MAX_COMPUTED_DEPTH - 1  # c0 plus 15 doublings: 16 levels
    chain = corpus.computed_chain(steps)
    body = _rows(client, computed=chain, columns=f"c{steps}", sort=f"-c{steps}", limit=3)
    top = np.sort(scene["flux"])[::-1][:3] * 2**steps
    assert np.allclose([r[0] for r in body["rows"]], top)
    kinds = {"flux_ujy": "num"}
    sizes = [len(build_query(kinds, computed=corpus.computed_chain(n), columns=[f"c{n}"]).with_) for n in (5, 10, 15)]
    assert sizes[2] - sizes[1] < 2 * (sizes[1] - sizes[0])  # linear growth (it was 2**n)
    assert sizes[2] < 5_000


def test_computed_columns_with_every_other_parameter(client: TestClient, scene: dict) -> None:
    flux, mag = scene["flux"], scene["mag"]
    computed = ["s = flux_ujy / 0.5", "t = s * 2 + mag_ab"]
    s, t = flux / 0.5, flux / 0.5 * 2 + mag
    cases = {  # filter -> truth mask
        "mag_ab < 22": mag < 22,
        "s > 100": s > 100,
        "s > 100 && t < 1000": (s > 100) & (t < 1000),
        "": np.ones(N, bool),
    }
    for text, mask in cases.items():
        want = np.flatnonzero(mask)
        body = _rows(client, computed=computed, filter=text or None, limit=N)
        assert body["total"] == want.size and body["index"] == want.tolist(), text
        assert np.allclose([r[body["columns"].index("t")] for r in body["rows"]], t[want]), text
        ranked = _rows(client, computed=computed, filter=text or None, sort="-t", columns="s,t,mag_ab", limit=5)
        order = want[np.argsort(-t[want], kind="stable")][:5]
        assert ranked["columns"] == ["s", "t", "mag_ab"] and ranked["index"] == order.tolist(), text
        around = _rows(client, computed=computed, filter=text or None, sort="s", limit=7, around=int(order[0]))
        assert int(order[0]) in around["index"]
        stats = client.get(
            "/api/catalogs/stats", params={"name": "cat.csv", "column": "t", "computed": computed, "filter": text}
        ).json()
        assert stats["count"] == want.size and np.isclose(stats["mean"], t[want].mean()), text
        export = client.get(
            "/api/catalogs/export",
            params={"name": "cat.csv", "computed": computed, "filter": text, "sort": "t", "columns": "t"},
        )
        values = [float(r["t"]) for r in csv.DictReader(io.StringIO(export.text))]
        assert np.allclose(values, np.sort(t[want])), text
        overlay = client.get(
            "/api/catalogs/overlay",
            params={"name": "cat.csv", "path": "field.fits", "computed": computed, "filter": text, "size_col": 3},
        )
        assert overlay.status_code == 200, overlay.text
        assert sorted(decode_overlay(overlay.content).rows.tolist()) == want.tolist(), text


def test_reserved_names_deep_filters_and_huge_radii_are_4xx(client: TestClient, scene: dict) -> None:
    for params in (
        {"computed": "__row=flux_ujy"},
        {"computed": "x=flux_ujy\nX=flux_ujy"},  # DuckDB identifiers ignore case
        {"filter": corpus.nested_functions(99)},
    ):
        response = client.get("/api/catalogs/rows", params={"name": "cat.csv", **params})
        assert response.status_code == 422, (params, response.text)
    response = client.get(
        "/api/catalogs/overlay", params={"name": "cat.csv", "path": "field.fits", "size_col": "1e308"}
    )
    assert response.status_code == 422 and "radius" in response.json()["detail"]


def test_every_catalog_query_has_a_deadline(settings: Settings) -> None:
    store = CatalogStore(settings.model_copy(update={"catalog_query_timeout_s": 0.05}))
    try:
        big = pa.table({"__row": np.arange(3_000_000), "v": np.random.default_rng(1).random(3_000_000)})
        slow = "SELECT sum(sin(a.v) * cos(b.v)) FROM cat a, cat b WHERE a.__row < 100000 AND b.__row < 3000"
        with pytest.raises(DeadlineExceeded, match="NELOURA_CATALOG_QUERY_TIMEOUT_S"):
            store.arrow_query(big, slow, {})
        assert store.arrow_query(big, "SELECT count(*) AS n FROM cat", {}).column("n")[0].as_py() == 3_000_000
    finally:
        store.close()


def test_hdu_suffix_only_for_fits_tables_and_one_cache_per_table(client: TestClient, settings: Settings) -> None:
    (settings.catalogs_dir / "plain.csv").write_text("ra,dec\n1,2\n3,4\n")
    tables = [fits.BinTableHDU(Table({"ra": [1.0, 2.0], "dec": [3.0, 4.0]})) for _ in range(2)]
    fits.HDUList([fits.PrimaryHDU(), *tables]).writeto(settings.catalogs_dir / "t.fits")
    cache = settings.cache_dir / "catalogs"
    for n in range(40):
        status = client.get("/api/catalogs/rows", params={"name": f"plain.csv[{n}]"}).status_code
        assert status == 422
        expected = 200 if n in (1, 2) else 415
        assert client.get("/api/catalogs/rows", params={"name": f"t.fits[{n}]"}).status_code == expected
    for name in ("plain.csv", "t.fits", "t.fits[1]", "t.fits[2]"):
        assert client.get("/api/catalogs/rows", params={"name": name}).status_code == 200
    client.app.state.services.catalogs.flush()  # type: ignore[attr-defined]
    caches = {p.name.split(".")[0] for p in cache.iterdir() if not p.name.startswith(".")} if cache.exists() else set()
    assert 1 <= len(caches) <= 3  # plain.csv, t.fits[1] (= t.fits), t.fits[2]: one each (was one per N)
