"""GET /api/images/pixel-table: the physical values around a pixel, equal to astropy's reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.settings import Settings


@pytest.fixture
def files(settings: Settings) -> Path:
    """files/field.fits: an empty PRIMARY and a 40 x 50 SCI with a blank strip at the bottom."""
    rng = np.random.default_rng(3)
    image = rng.normal(5.0, 1.0, (40, 50)).astype(np.float32)
    image[:3, :] = np.nan
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, name="SCI")]).writeto(settings.files_dir / "field.fits")
    return settings.files_dir


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_values_equal_astropy_top_row_first_and_null_off_the_image(client: TestClient, files: Path) -> None:
    data = fits.getdata(files / "field.fits", 1).astype(np.float64)
    body = _ok(client.get("/api/images/pixel-table", params={"path": "field.fits", "hdu": 1, "x": 1, "y": 30}))
    assert body["size"] == 5 and body["columns"] == [-1, 0, 1, 2, 3] and body["rows"] == [32, 31, 30, 29, 28]
    for r, row in zip(body["rows"], body["values"], strict=True):
        for c, v in zip(body["columns"], row, strict=True):
            if c < 0:
                assert v is None
            elif np.isfinite(data[r, c]):
                assert v == data[r, c]
    blank = _ok(client.get("/api/images/pixel-table", params={"path": "field.fits", "hdu": 1, "x": 10, "y": 3}))
    assert blank["values"][-1] == [None] * 5 and blank["values"][0][0] is not None  # row 1 is blank, row 5 is not
    wide = _ok(
        client.get("/api/images/pixel-table", params={"path": "field.fits", "hdu": 1, "x": 5, "y": 5, "size": 3})
    )
    assert len(wide["values"]) == 3 and len(wide["values"][0]) == 3


def test_bad_requests_are_422(client: TestClient, files: Path) -> None:
    for params in ({"x": 1, "y": 1, "size": 4}, {"x": 9999, "y": 1}, {"x": 1, "y": 1, "size": 99}):
        r = client.get("/api/images/pixel-table", params={"path": "field.fits", "hdu": 1, **params})
        assert r.status_code == 422, params
