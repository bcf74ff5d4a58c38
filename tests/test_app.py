"""The composition root (neloura/app.py): routes prepared at startup; a 422 names the first errors only."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.app import MAX_REPORTED_ERRORS, create_app
from neloura.settings import Settings


def test_startup_prepares_the_routes_and_the_first_view_is_served(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    fits.PrimaryHDU(np.ones((64, 64), np.float32)).writeto(settings.files_dir / "a.fits")
    with caplog.at_level(logging.WARNING, logger="neloura"), TestClient(create_app(settings)) as client:
        assert "routes not prepared" not in caplog.text
        info = client.get("/api/images/info", params={"path": "a.fits"})
        assert info.status_code == 200 and info.json()["width"] == 64
        assert client.get("/api/images/info", params={"path": "b.fits"}).status_code == 404


def test_a_422_names_the_first_errors_and_counts_the_rest(client: TestClient) -> None:
    rows = [0.5] * 1000  # every item is wrong (rows are integers): 1000 errors
    response = client.post("/api/plotter/export", json={"name": "c.csv", "rows": rows, "format": "csv"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    parts = detail.split("; ")
    assert len(parts) == MAX_REPORTED_ERRORS + 1
    assert [p.split(":")[0] for p in parts[:-1]] == [f"rows.{i}" for i in range(MAX_REPORTED_ERRORS)]
    assert parts[-1] == f"and {1000 - MAX_REPORTED_ERRORS:,} more errors"
    assert len(response.content) < 5000


def test_a_few_errors_are_all_named(client: TestClient) -> None:
    response = client.post("/api/plotter/export", json={"name": "c.csv", "rows": [0.5, 1, 2.5], "format": "csv"})
    assert response.status_code == 422
    parts = response.json()["detail"].split("; ")
    assert [p.split(":")[0] for p in parts] == ["rows.0", "rows.2"]
