"""Helpers of the tile and histogram API tests (test_tiles.py, test_tiles_histogram.py): the
seeded test image, one tile's request, its palette indices and the expected rendering."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from astropy.io import fits
from fastapi.testclient import TestClient
from PIL import Image

from neloura.core.stretch import apply, lookup_table

H, W = 300, 520  # max_level 10; full resolution 3x2 tiles with smaller edge tiles


def write_image(folder: Path) -> np.ndarray:
    """``folder/img.fits``: seeded noise around 100 (sigma 10), 5 % NaN and 7 NaN columns at the left."""
    rng = np.random.default_rng(42)
    array = rng.normal(100.0, 10.0, size=(H, W)).astype(np.float32)
    array[rng.random(array.shape) < 0.05] = np.nan
    array[:, :7] = np.nan
    fits.PrimaryHDU(array).writeto(folder / "img.fits")
    return array


def tile(client: TestClient, level: int, col: int, row: int, fmt: str = "png", **params: object):
    return client.get(f"/api/images/tiles/{level}/{col}_{row}.{fmt}", params={"path": "img.fits", **params})


def indices(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    img = Image.open(io.BytesIO(response.content))
    assert img.mode == "P"
    return np.asarray(img)


def expected(region: np.ndarray, vmin: float, vmax: float, stretch: str = "linear") -> np.ndarray:
    return apply(region, vmin, vmax, lookup_table(stretch))
