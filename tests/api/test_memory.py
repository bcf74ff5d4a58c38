"""The memory budget through the API: with a small ``NELOURA_MEMORY_MB``, one-off work that
cannot fit (a huge region's statistics, a contour plane, a large composite export, a catalog
query past DuckDB's share) is refused with a 507 JSON answer before it allocates, and the same
requests at a normal size are served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from fastapi.testclient import TestClient

from neloura.app import create_app
from neloura.core.synthetic import make_wcs_header
from neloura.settings import Settings
from tests.api.test_rgb import wait_ready
from tests.core.rgb_fields import write_fields

BUDGET_MB = 64  # the test process alone is larger: the caches' share is half of it, 32 MB


@pytest.fixture
def small(tmp_path: Path) -> Iterator[TestClient]:
    s = Settings(root=tmp_path / "root", demo=False, disk_cache=False, admin=False, memory_mb=BUDGET_MB)
    s.ensure_folders()
    s.limits_sample_size = 10_000
    header = make_wcs_header((1500, 1500), 150.0, 2.0, 0.5)
    data = np.random.default_rng(3).normal(10.0, 1.0, (1500, 1500)).astype(np.float32)
    fits.PrimaryHDU(data, header).writeto(s.files_dir / "field.fits")
    with TestClient(create_app(s)) as client:
        yield client


def _refused(response: Any, what: str) -> None:
    assert response.status_code == 507, response.text
    detail = response.json()["detail"]
    assert what in detail and "NELOURA_MEMORY_MB" in detail


def _circle(radius_px: float) -> str:
    return f"image\ncircle(750,750,{radius_px})\n"


def test_region_work_larger_than_the_budget_is_507_and_a_normal_region_is_served(small: TestClient) -> None:
    body = {"path": "field.fits", "regions": _circle(40)}
    stats = small.post("/api/regions/stats", json=body)
    assert stats.status_code == 200 and stats.json()["regions"][0]["npix"] > 4000
    # a 1400-pixel radius: masks over a 2800² box (~500 MB of work) cannot fit 32 MB
    huge = {**body, "regions": _circle(1400)}
    _refused(small.post("/api/regions/stats", json=huge), "statistics of 1 region(s)")
    _refused(small.post("/api/regions/histogram", json=huge), "histogram of a region")
    _refused(small.post("/api/regions/profile", json=huge), "radial profile of a region")
    _refused(small.post("/api/regions/cutout", json=huge), "cutout of a region")
    assert small.post("/api/regions/histogram", json=body).json()["n"] > 4000
    assert small.post("/api/regions/cutout", json=body).content[:6] == b"SIMPLE"
    # nothing stays held: the normal request is served again after the refusals
    assert small.post("/api/regions/stats", json=body).status_code == 200


def test_contours_of_the_full_plane_are_507_and_on_a_block_mean_level_served(small: TestClient) -> None:
    body = {"path": "field.fits", "levels": [10.0, 11.0]}
    _refused(small.post("/api/contours", json={**body, "max_size": 2048}), "contours of field.fits")
    served = small.post("/api/contours", json={**body, "max_size": 256})
    assert served.status_code == 200, served.text
    assert served.json()["factor"] == 8 and served.json()["contours"]


def test_a_composite_export_past_the_budget_is_507_and_a_small_one_served(small: TestClient, tmp_path: Path) -> None:
    names = write_fields(tmp_path / "root" / "files")
    created = small.post("/api/rgb", json={"channels": [{"path": n} for n in names]})
    assert created.status_code == 200, created.text
    state = wait_ready(small, created.json()["id"])
    assert state["state"] == "ready", state
    rid = state["id"]
    png = small.get(f"/api/rgb/{rid}/png", params={"width": 200})
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    _refused(small.get(f"/api/rgb/{rid}/png", params={"width": 6000}), "6000 px export of composite")
    assert small.get(f"/api/rgb/{rid}/tiles/8/0_0.png").status_code == 200  # tiles are not held back


def test_a_catalog_query_past_its_share_is_507_and_a_page_served(small: TestClient, tmp_path: Path) -> None:
    n = 500_000
    rng = np.random.default_rng(7)
    table = Table({f"c{i}": rng.normal(size=n) for i in range(8)})
    table["ra"], table["dec"] = rng.uniform(0, 360, n), rng.uniform(-60, 60, n)
    table.write(tmp_path / "root" / "catalogs" / "big.fits")
    params = {"name": "big.fits", "sort": "c0", "limit": 100}
    page = small.get("/api/catalogs/rows", params=params)
    assert page.status_code == 200, page.text
    assert page.json()["total"] == n and len(page.json()["rows"]) == 100
    # the page at the end of the sort holds 480,000 sorted rows of ten columns: past the query's share
    far = small.get("/api/catalogs/rows", params={**params, "offset": 480_000})
    _refused(far, "the catalog query needs more than")
    assert small.get("/api/catalogs/rows", params={**params, "filter": "c1 > 3"}).status_code == 200
