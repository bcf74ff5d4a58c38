"""Histogram and display-limits endpoints over HTTP: counts and limits of a plane against numpy,
``minmax`` over every pixel of the plane (issue 16), the histogram's parameter errors. The tile
endpoint (and the path confinement of both): test_tiles.py; shared helpers: tile_helpers.py."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from neloura.settings import Settings
from tests.api.tile_helpers import write_image


@pytest.fixture
def data(settings: Settings) -> np.ndarray:
    return write_image(settings.files_dir)


def test_histogram_counts_and_limits(client: TestClient, data: np.ndarray) -> None:
    body = client.get("/api/images/histogram", params={"path": "img.fits", "bins": 50, "vmin": 80, "vmax": 120}).json()
    finite = data[np.isfinite(data)]  # small image: the sample is every finite pixel
    counts, edges = np.histogram(finite, bins=50, range=(80, 120))
    assert body["counts"] == counts.tolist()
    np.testing.assert_allclose(body["edges"], edges)
    assert body["below"] == int((finite < 80).sum()) and body["above"] == int((finite > 120).sum())
    assert body["sample_size"] == finite.size
    np.testing.assert_allclose(
        [body["limits"]["minmax"]["vmin"], body["limits"]["minmax"]["vmax"]], [finite.min(), finite.max()]
    )
    np.testing.assert_allclose(
        [body["default_limits"]["vmin"], body["default_limits"]["vmax"]], np.percentile(finite, [0.5, 99.5]), rtol=1e-6
    )
    assert body["limits"]["zscale"]["vmin"] < 100 < body["limits"]["zscale"]["vmax"]
    default = client.get("/api/images/histogram", params={"path": "img.fits"}).json()
    assert len(default["counts"]) == 256 and default["vmin"] == default["default_limits"]["vmin"]


@pytest.mark.parametrize("params", [{"bins": 0}, {"vmin": 5, "vmax": 5}, {"plane": 2}])
def test_bad_parameters_are_422_with_a_detail(client: TestClient, data: np.ndarray, params: dict) -> None:
    response = client.get("/api/images/histogram", params={"path": "img.fits", **params})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


def test_minmax_limits_cover_every_pixel_of_the_plane(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: ``minmax`` is the whole plane's range (from the level build's pass over the
    source), not the sample's, which misses a spike off its grid; the histogram reports it too
    once the levels exist, and cached levels keep it across a restart."""
    from neloura.app import create_app
    from neloura.runtime import levels as levels_module

    monkeypatch.setattr(levels_module, "DISK_CACHE_MIN_PIXELS", 0)
    rng = np.random.default_rng(3)
    array = rng.normal(0.0, 1.0, (1200, 1100)).astype(np.float32)
    array[601, 602] = 5000.0  # the sample grid (every step-th row from step // 2) misses it
    array[2, 1000] = -777.0
    fits.PrimaryHDU(array).writeto(settings.files_dir / "spike.fits")
    settings.limits_sample_size = 10_000
    params = {"path": "spike.fits", "mode": "minmax"}
    for attempt in range(2):  # the second app reads the levels from the disk cache
        settings.disk_cache = True
        with TestClient(create_app(settings)) as fresh:
            body = fresh.get("/api/images/limits", params=params).json()
            assert (body["vmin"], body["vmax"]) == (-777.0, 5000.0), attempt
            histogram = fresh.get("/api/images/histogram", params={"path": "spike.fits"}).json()
            assert histogram["limits"]["minmax"] == {"vmin": -777.0, "vmax": 5000.0}
            sample_max = fresh.get("/api/images/limits", params={**params, "mode": "percentiles", "high": 100}).json()
            assert sample_max["vmax"] < 100  # the sample alone never saw the spike
            key = fresh.app.state.services.images.plane_key("spike.fits", 0, 0)  # type: ignore[attr-defined]
            entry = fresh.app.state.services.levels.levels(key, None)  # type: ignore[attr-defined]
            assert entry.done.wait(30)
            if attempt:
                assert entry.build_seconds[2] == 0.0  # read back from the disk cache, not rebuilt
    assert any((settings.cache_dir / "levels").glob("*/x2.npy"))
